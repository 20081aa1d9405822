import { expect } from "chai";
import hre, { ethers } from "hardhat";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { deployAll, modelLimitsFromConfig, readDeployment, resolveModelHash } from "../../scripts/lib/deploy";

const MODEL_HASH = "0x" + "12".repeat(32);
/** Given explicitly: the tests need no model folder. */
const MODEL_LIMITS = { maxPromptBytes: 2048, maxNewTokens: 128, contextLength: 512 };

describe("scripts/lib/deploy deployAll", function () {
  let outDir: string;
  beforeEach(() => {
    outDir = mkdtempSync(path.join(os.tmpdir(), "deployments-"));
  });
  afterEach(() => rmSync(outDir, { recursive: true, force: true }));

  it("deploys everything, wires the slasher role, registers the model and writes the deployment file", async function () {
    const deployment = await deployAll(hre, { modelHash: MODEL_HASH, modelLimits: MODEL_LIMITS, write: true, outDir, config: { committeeSize: 1, quorum: 1 } });
    const file = JSON.parse(readFileSync(path.join(outDir, "hardhat.json"), "utf8"));
    expect(file.addresses).to.deep.equal(deployment.addresses);
    expect(file.chainId).to.equal(31337);
    expect(Object.keys(file.abis)).to.include.members(["ValidatorRegistry", "ChatRecordRegistry", "BlockhashRandomness", "DemoToken"]);
    const registry = await ethers.getContractAt("ValidatorRegistry", deployment.addresses.ValidatorRegistry);
    const chat = await ethers.getContractAt("ChatRecordRegistry", deployment.addresses.ChatRecordRegistry);
    expect(await registry.hasRole(await registry.SLASHER_ROLE(), deployment.addresses.ChatRecordRegistry)).to.equal(true);
    expect(await registry.token()).to.equal(deployment.addresses.DemoToken);
    expect(await registry.stakeLock()).to.equal(deployment.addresses.ChatRecordRegistry);
    expect(await chat.randomnessSource()).to.equal(deployment.addresses.BlockhashRandomness);
    expect((await chat.getModel(1)).modelHash).to.equal(MODEL_HASH);
    expect((await chat.getModel(1)).limits).to.deep.equal([2048n, 128n, 512n]);
    expect((await chat.getConfig()).committeeSize).to.equal(1n);
    expect(readDeployment("hardhat", outDir).block).to.equal(deployment.block);
  });

  it("is idempotent per network unless asked to redeploy", async function () {
    const first = await deployAll(hre, { modelHash: MODEL_HASH, modelLimits: MODEL_LIMITS, write: true, outDir });
    const again = await deployAll(hre, { modelHash: MODEL_HASH, modelLimits: MODEL_LIMITS, write: true, outDir });
    expect(again.addresses).to.deep.equal(first.addresses);
    const fresh = await deployAll(hre, { modelHash: MODEL_HASH, modelLimits: MODEL_LIMITS, write: true, outDir, redeploy: true });
    expect(fresh.addresses.ChatRecordRegistry).to.not.equal(first.addresses.ChatRecordRegistry);
  });

  it("derives the model limits from the model's config.json", async function () {
    const modelDir = path.join(outDir, "model");
    mkdirSync(modelDir);
    writeFileSync(path.join(modelDir, "config.json"), JSON.stringify({ n_positions: 1024 }));
    expect(modelLimitsFromConfig(modelDir)).to.deep.equal({ maxPromptBytes: 4096, maxNewTokens: 512, contextLength: 1024 });
    writeFileSync(path.join(modelDir, "config.json"), JSON.stringify({ max_position_embeddings: 2048 }));
    expect(modelLimitsFromConfig(modelDir).contextLength).to.equal(2048);
    writeFileSync(path.join(modelDir, "config.json"), JSON.stringify({ hidden_size: 64 }));
    expect(() => modelLimitsFromConfig(modelDir)).to.throw(/names no context length/);
  });

  it("rejects a malformed model hash and a missing model folder with one-line messages", async function () {
    await expect(resolveModelHash({ modelHash: "0x1234" })).to.be.rejectedWith('model hash must be 0x + 64 hex digits, got "0x1234"');
    await expect(resolveModelHash({ modelDir: path.join(outDir, "absent") })).to.be.rejectedWith(/no model hash: set MODEL_HASH, or MODEL_DIR/);
    expect(() => readDeployment("nowhere", outDir)).to.throw(/no deployment for network "nowhere"/);
  });
});

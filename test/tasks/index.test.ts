import { expect } from "chai";
import hre, { ethers } from "hardhat";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Wallet, encryptKeystoreJsonSync, parseEther } from "ethers";
import { deployAll, modelLimitsFromConfig, readDeployment } from "../../scripts/lib/deploy";
import { ensureTinyModel } from "../../oracle/src/inference";
import { DEFAULT_TINY_MODEL_DIR } from "../../oracle/src/inference/buildModel";
import { computeModelHash } from "../../oracle/src/inference/modelHash";
import type { ValidatorRegistry } from "../../typechain-types";
import { KEYSTORE_ENV, KEYSTORE_PASSWORD_ENV, KEY_ENV } from "../../scripts/lib/signer";

const MODEL_LIMITS = { maxPromptBytes: 2048, maxNewTokens: 128, contextLength: 512 };
const OPERATOR_ENV = [KEY_ENV, KEYSTORE_ENV, KEYSTORE_PASSWORD_ENV, "DEPLOYMENTS_DIR"];

/** Runs a task the way a terminal does and returns what it printed and its exit code. */
async function runTask(name: string, args: Record<string, unknown>): Promise<{ out: string; err: string; exitCode: number }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = console.log;
  const error = console.error;
  console.log = (...a: unknown[]) => void out.push(a.join(" "));
  console.error = (...a: unknown[]) => void err.push(a.join(" "));
  process.exitCode = 0;
  try {
    await hre.run(name, args);
  } finally {
    console.log = log;
    console.error = error;
  }
  const exitCode = Number(process.exitCode ?? 0);
  process.exitCode = 0;
  return { out: out.join("\n"), err: err.join("\n"), exitCode };
}

describe("tasks: stake, unstake, withdraw as an operator", function () {
  let outDir: string;
  let saved: Record<string, string | undefined>;
  let registry: ValidatorRegistry;

  beforeEach(async function () {
    saved = Object.fromEntries(OPERATOR_ENV.map((k) => [k, process.env[k]]));
    for (const k of OPERATOR_ENV) delete process.env[k];
    outDir = mkdtempSync(path.join(os.tmpdir(), "operator-"));
    process.env.DEPLOYMENTS_DIR = outDir;
    const deployment = await deployAll(hre, { modelHash: "0x" + "12".repeat(32), modelLimits: MODEL_LIMITS, write: true, outDir, redeploy: true });
    registry = await ethers.getContractAt("ValidatorRegistry", deployment.addresses.ValidatorRegistry);
  });
  afterEach(() => {
    for (const k of OPERATOR_ENV) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
    rmSync(outDir, { recursive: true, force: true });
  });

  /** A fresh key with gas money: a second validator that is not one of Hardhat's accounts. */
  async function fundedKey(): Promise<Wallet> {
    const wallet = Wallet.createRandom();
    const [funder] = await ethers.getSigners();
    await (await funder.sendTransaction({ to: wallet.address, value: parseEther("1") })).wait();
    return new Wallet(wallet.privateKey);
  }

  it("stakes from a raw key in VALIDATOR_PRIVATE_KEY and prints the stake in tokens", async function () {
    const wallet = await fundedKey();
    process.env[KEY_ENV] = wallet.privateKey;
    const { out, exitCode } = await runTask("stake", { amount: "150", endpoint: "http://node.example" });
    expect(exitCode).to.equal(0);
    expect(out).to.equal(`${wallet.address} staked; active stake 150 CODS`);
    expect(await registry.stakeOf(wallet.address)).to.equal(parseEther("150"));
    const unstaked = await runTask("unstake", { amount: "50" });
    expect(unstaked.out).to.match(/^unbonding 50 CODS, withdrawable from \d{4}-/);
  });

  it("stakes from a keystore given by VALIDATOR_KEYSTORE and its password", async function () {
    const wallet = await fundedKey();
    const file = path.join(outDir, "key.json");
    writeFileSync(file, encryptKeystoreJsonSync({ address: wallet.address, privateKey: wallet.privateKey }, "pw-123456", { scrypt: { N: 1024 } }));
    process.env[KEYSTORE_ENV] = file;
    process.env[KEYSTORE_PASSWORD_ENV] = "wrong";
    const wrong = await runTask("stake", { amount: "100" });
    expect(wrong.err).to.equal(`stake failed: ${KEYSTORE_ENV}: cannot decrypt ${file} (wrong password or not a keystore file)`);
    process.env[KEYSTORE_PASSWORD_ENV] = "pw-123456";
    const { exitCode } = await runTask("stake", { amount: "100" });
    expect(exitCode).to.equal(0);
    expect(await registry.stakeOf(wallet.address)).to.equal(parseEther("100"));
  });

  it("lists validators with their stake in tokens with the symbol, share and endpoint", async function () {
    const wallet = await fundedKey();
    process.env[KEY_ENV] = wallet.privateKey;
    expect((await runTask("stake", { amount: "150", endpoint: "http://node.example" })).exitCode).to.equal(0);
    const { out, exitCode } = await runTask("validators", {});
    expect(exitCode).to.equal(0);
    const line = out.split("\n").find((l) => l.startsWith(wallet.address));
    expect(line).to.match(/stake +150 CODS {2}share +[\d.]+% {2}active +http:\/\/node\.example$/);
  });

  it("says a stake below the minimum in tokens with the symbol, not wei", async function () {
    const { err, exitCode } = await runTask("stake", { amount: "10", account: 3 });
    expect(exitCode).to.equal(1);
    const [, , , validator] = await ethers.getSigners();
    expect(err).to.equal(`stake failed: ValidatorRegistryInsufficientStake: 10 CODS is below the minimum 100 CODS (validator ${validator.address})`);
  });

  it("refuses an amount that is not a number, and a key given twice, in one line", async function () {
    expect((await runTask("stake", { amount: "abc" })).err).to.equal('stake failed: --amount must be a number of tokens, e.g. 100 (got "abc")');
    expect((await runTask("unstake", { amount: "-5" })).err).to.equal('unstake failed: --amount must be a number of tokens, e.g. 100 (got "-5")');
    process.env[KEY_ENV] = "0x1234";
    expect((await runTask("withdraw", {})).err).to.equal(`withdraw failed: ${KEY_ENV} is not a 32-byte hex private key`);
    process.env[KEY_ENV] = (await fundedKey()).privateKey;
    expect((await runTask("withdraw", { account: 1 })).err).to.equal(`withdraw failed: give --account or ${KEY_ENV}, not both`);
  });
});

describe("tasks: register-model by the chat registry's owner", function () {
  let outDir: string;
  let saved: string | undefined;
  let chatAddress: string;

  beforeEach(async function () {
    saved = process.env.DEPLOYMENTS_DIR;
    outDir = mkdtempSync(path.join(os.tmpdir(), "register-model-"));
    process.env.DEPLOYMENTS_DIR = outDir;
    const deployment = await deployAll(hre, { modelHash: "0x" + "12".repeat(32), modelLimits: MODEL_LIMITS, write: true, outDir, redeploy: true });
    chatAddress = deployment.addresses.ChatRecordRegistry;
  });
  afterEach(() => {
    if (saved === undefined) delete process.env.DEPLOYMENTS_DIR;
    else process.env.DEPLOYMENTS_DIR = saved;
    rmSync(outDir, { recursive: true, force: true });
  });

  it("registers a model folder's hash and its config's limits under the given id", async function () {
    const modelDir = await ensureTinyModel(DEFAULT_TINY_MODEL_DIR);
    const { out, exitCode, err } = await runTask("register-model", { modelDir, modelId: 2, uri: "models/tiny" });
    expect(exitCode, err).to.equal(0);
    const hash = await computeModelHash(modelDir);
    const limits = modelLimitsFromConfig(modelDir);
    expect(out).to.equal(`model 2 registered: hash ${hash}, prompts up to ${limits.maxPromptBytes} bytes, up to ${limits.maxNewTokens} new tokens`);
    const chat = await ethers.getContractAt("ChatRecordRegistry", chatAddress);
    const model = await chat.getModel(2);
    expect([model.modelHash, model.enabled, model.uri]).to.deep.equal([hash, true, "models/tiny"]);
  });

  it("refuses an account that is not the owner, with the contract's error", async function () {
    const modelDir = await ensureTinyModel(DEFAULT_TINY_MODEL_DIR);
    const { err, exitCode } = await runTask("register-model", { modelDir, modelId: 2, account: 4 });
    expect(exitCode).to.equal(1);
    expect(err).to.match(/^register-model failed: .*OwnableUnauthorizedAccount/);
  });
});

describe("tasks: deploy-consumer and ask, a dApp developer's loop", function () {
  let outDir: string;
  let saved: string | undefined;

  beforeEach(async function () {
    saved = process.env.DEPLOYMENTS_DIR;
    outDir = mkdtempSync(path.join(os.tmpdir(), "consumer-"));
    process.env.DEPLOYMENTS_DIR = outDir;
    await deployAll(hre, { modelHash: "0x" + "12".repeat(32), modelLimits: MODEL_LIMITS, write: true, outDir, redeploy: true });
  });
  afterEach(() => {
    if (saved === undefined) delete process.env.DEPLOYMENTS_DIR;
    else process.env.DEPLOYMENTS_DIR = saved;
    rmSync(outDir, { recursive: true, force: true });
  });

  it("deploys ExampleChatConsumer and asks through it, paying fee plus the callback escrow", async function () {
    const deployed = await runTask("deploy-consumer", {});
    expect(deployed.exitCode, deployed.err).to.equal(0);
    const address = /ExampleChatConsumer (0x[0-9a-fA-F]{40})/.exec(deployed.out)?.[1] as string;
    expect(deployed.out).to.contain(`next: npx hardhat --network hardhat ask --consumer ${address}`);
    const asked = await runTask("ask", { consumer: address, prompt: "What is an oracle?", maxNewTokens: 16, maxGasPrice: "2", wait: false });
    expect(asked.out).to.equal(`request 1 via consumer ${address}`);
    const consumer = await ethers.getContractAt("ExampleChatConsumer", address);
    expect(await consumer.asked(1n)).to.equal(true);
    const chat = await ethers.getContractAt("ChatRecordRegistry", await consumer.registry());
    const logs = await chat.queryFilter(chat.filters.ChatRequested(1n));
    expect(logs).to.have.length(1);
    expect(logs[0].args.requester).to.equal(address);
  });

  it("refuses a consumer that is not an address and a gas price that is not a number, in one line", async function () {
    expect((await runTask("ask", { consumer: "abc", prompt: "x", maxNewTokens: 8, maxGasPrice: "1", wait: false })).err).to.equal(
      'ask failed: --consumer must be an address (got "abc")',
    );
    expect((await runTask("ask", { consumer: ethers.ZeroAddress, prompt: "x", maxNewTokens: 8, maxGasPrice: "cheap", wait: false })).err).to.equal(
      'ask failed: --max-gas-price must be a number of gwei (got "cheap")',
    );
  });
});

describe("tasks: chat --parent, a conversation turn", function () {
  let outDir: string;
  let saved: string | undefined;

  beforeEach(async function () {
    saved = process.env.DEPLOYMENTS_DIR;
    outDir = mkdtempSync(path.join(os.tmpdir(), "thread-"));
    process.env.DEPLOYMENTS_DIR = outDir;
    const deployment = await deployAll(hre, {
      modelHash: "0x" + "12".repeat(32),
      modelLimits: MODEL_LIMITS,
      write: true,
      outDir,
      redeploy: true,
      config: { committeeSize: 1, quorum: 1 },
    });
    const [, validator] = await ethers.getSigners();
    const token = await ethers.getContractAt("DemoToken", deployment.addresses.DemoToken!);
    const registry = await ethers.getContractAt("ValidatorRegistry", deployment.addresses.ValidatorRegistry);
    await token.mint(validator.address, parseEther("100"));
    await token.connect(validator).approve(await registry.getAddress(), parseEther("100"));
    await registry.connect(validator).stake(parseEther("100"), "");
  });
  afterEach(() => {
    if (saved === undefined) delete process.env.DEPLOYMENTS_DIR;
    else process.env.DEPLOYMENTS_DIR = saved;
    rmSync(outDir, { recursive: true, force: true });
  });

  async function answer(requestId: bigint) {
    const deployment = readDeployment(hre.network.name);
    const chat = await ethers.getContractAt("ChatRecordRegistry", deployment.addresses.ChatRecordRegistry);
    const [, validator] = await ethers.getSigners();
    await chat.connect(validator).respond(requestId, "an answer");
    return chat;
  }

  it("extends the signer's finalized request, and refuses a pending parent and another's thread in one line", async function () {
    const root = await runTask("chat", { prompt: "first", maxNewTokens: 8, wait: false });
    expect(root.exitCode, root.err).to.equal(0);
    const chat = await answer(1n);
    const turn = await runTask("chat", { prompt: "second", maxNewTokens: 8, parent: "1", wait: false });
    expect(turn.exitCode, turn.err).to.equal(0);
    expect(turn.out.split("\n")[0]).to.match(/^request 2 \(turn after 1\) /);
    const link = await chat.threadOfRequest(2n);
    expect([link.parentId, link.rootId]).to.deep.equal([1n, 1n]);

    const pending = await runTask("chat", { prompt: "third", maxNewTokens: 8, parent: "2", wait: false });
    expect([pending.exitCode, pending.err]).to.deep.equal([
      1,
      "chat failed: ChatRecordRegistryParentNotFinalized: request 2 is Requested, not Finalized: only a finalized turn can be extended",
    ]);
    const [, , , outsider] = await ethers.getSigners();
    const foreign = await runTask("chat", { prompt: "hijack", maxNewTokens: 8, parent: "1", account: 3, wait: false });
    expect([foreign.exitCode, foreign.err]).to.deep.equal([
      1,
      `chat failed: ChatRecordRegistryNotThreadMember: ${outsider.address} neither owns thread 1 nor was allowed into it (ChatThreads.setThreadMember)`,
    ]);
    expect((await runTask("chat", { prompt: "x", maxNewTokens: 8, parent: "one", wait: false })).err).to.equal(
      'chat failed: --parent must be a request id (a positive integer), not "one"',
    );
  });
});

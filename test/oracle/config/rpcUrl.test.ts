import { expect } from "chai";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Wallet } from "ethers";
import { parseConfig } from "../../../oracle/src/config";
import { FALLBACK_RPC_URL, recordedRpcUrl, resolveRpcUrl } from "../../../oracle/src/config/rpcUrl";
import { createProvider } from "../../../oracle/src/chain/rpc";
import { deployToNode } from "../../../scripts/demo/deploy";
import { type HardhatNode, REPO_ROOT, startHardhatNode } from "../../../scripts/demo/hardhatNode";

/** Hardhat's first dev account (the `hardhat node` mnemonic). */
const DEPLOYER_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const MODEL_HASH = "0x" + "ab".repeat(32);

describe("the chain's RPC URL, found through the deployments file", function () {
  this.timeout(180_000);
  let chain: HardhatNode;
  let dir: string;
  let file: string;

  before(async function () {
    chain = await startHardhatNode();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "rpc-url-"));
    const provider = createProvider(chain.url, 31337);
    try {
      await deployToNode(provider, new Wallet(DEPLOYER_KEY), "localhost", {
        write: true,
        redeploy: true,
        outDir: dir,
        modelHash: MODEL_HASH,
        modelLimits: { maxPromptBytes: 512, maxNewTokens: 64, contextLength: 128 },
      });
    } finally {
      provider.destroy();
    }
    file = path.join(dir, "localhost.json");
  });

  after(async function () {
    await chain?.stop();
  });

  it("records the URL the contracts were deployed to (a random port, not 8545)", function () {
    expect(chain.url).to.not.equal(FALLBACK_RPC_URL);
    expect(recordedRpcUrl(file)).to.equal(chain.url);
  });

  it("is the node's --rpc-url default; a flag or ORACLE_RPC_URL still wins", function () {
    expect(parseConfig({ argv: ["--deployments", file], env: {} }).config.rpcUrl).to.equal(chain.url);
    expect(parseConfig({ argv: [], env: { ORACLE_DEPLOYMENTS: file } }).config.rpcUrl).to.equal(chain.url);
    expect(parseConfig({ argv: ["--deployments", file, "--rpc-url", "http://10.0.0.1:1"], env: {} }).config.rpcUrl).to.equal("http://10.0.0.1:1");
    expect(parseConfig({ argv: ["--deployments", file], env: { ORACLE_RPC_URL: "http://10.0.0.2:2" } }).config.rpcUrl).to.equal("http://10.0.0.2:2");
  });

  it("is verify's default; without a recorded URL every tool falls back to 127.0.0.1:8545", function () {
    expect(resolveRpcUrl(undefined, file)).to.equal(chain.url);
    expect(resolveRpcUrl("http://10.0.0.3:3", file)).to.equal("http://10.0.0.3:3");
    expect(resolveRpcUrl(undefined, path.join(dir, "missing.json"))).to.equal(FALLBACK_RPC_URL);
    const old = path.join(dir, "old.json");
    fs.writeFileSync(old, JSON.stringify({ chainId: 31337 }));
    expect(resolveRpcUrl(undefined, old)).to.equal(FALLBACK_RPC_URL);
    expect(parseConfig({ argv: ["--deployments", old], env: {} }).config.rpcUrl).to.equal(FALLBACK_RPC_URL);
  });

  it("is hardhat's `localhost` network: a task reaches the demo chain with no URL given", function () {
    const env: NodeJS.ProcessEnv = { ...process.env, DEPLOYMENTS_DIR: dir, HARDHAT_DISABLE_TELEMETRY_PROMPT: "true" };
    delete env.LOCALHOST_RPC_URL;
    const run = spawnSync(path.join(REPO_ROOT, "node_modules/.bin/hardhat"), ["--network", "localhost", "validators"], { cwd: REPO_ROOT, env, encoding: "utf8" });
    expect(run.stderr).to.not.match(/HH108|ECONNREFUSED/);
    expect(run.status, run.stderr).to.equal(0);
  });
});

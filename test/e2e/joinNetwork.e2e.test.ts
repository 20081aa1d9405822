import { expect } from "chai";
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Wallet, parseEther } from "ethers";
import { createProvider } from "../../oracle/src/chain/rpc";
import { computeModelHash } from "../../oracle/src/inference/modelHash";
import { DEFAULT_TRAINED_MODEL_DIR } from "../../oracle/src/inference/buildModel";
import { deployToNode } from "../../scripts/demo/deploy";
import { type HardhatNode, REPO_ROOT, freePort, startHardhatNode } from "../../scripts/demo/hardhatNode";
import { type OracleProcess, startOracleProcess } from "../../scripts/demo/oracleProcess";

/** Hardhat's first dev account (the `hardhat node` mnemonic): deploys and pays the newcomer's gas. */
const DEV_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

/** Runs a command as a newcomer types it: no RPC URL anywhere, only what `env` adds (the deployments folder, a key). */
function run(command: string, args: string[], env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const clean = { ...process.env };
    for (const name of ["LOCALHOST_RPC_URL", "ORACLE_RPC_URL", "VALIDATOR_PRIVATE_KEY", "VALIDATOR_KEYSTORE"]) delete clean[name];
    const child = spawn(command, args, { cwd: REPO_ROOT, env: { ...clean, HARDHAT_DISABLE_TELEMETRY_PROMPT: "true", ...env } });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    child.on("error", reject);
    child.on("exit", (code) => resolve({ code, out }));
  });
}

const HARDHAT = path.join(REPO_ROOT, "node_modules/.bin/hardhat");
const TSX = path.join(REPO_ROOT, "node_modules/.bin/tsx");

describe("join the network from a raw key, every tool finding the chain through the deployments file", function () {
  this.timeout(300_000);
  let chain: HardhatNode;
  let node: OracleProcess | undefined;
  let dir: string;

  before(async function () {
    chain = await startHardhatNode();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "join-"));
    const provider = createProvider(chain.url, 31337);
    try {
      await deployToNode(provider, new Wallet(DEV_KEY), "localhost", {
        write: true,
        redeploy: true,
        outDir: dir,
        modelDir: DEFAULT_TRAINED_MODEL_DIR,
        modelUri: path.relative(REPO_ROOT, DEFAULT_TRAINED_MODEL_DIR),
        modelHash: await computeModelHash(DEFAULT_TRAINED_MODEL_DIR),
        config: { committeeSize: 1, quorum: 1 },
        commitWindow: 60,
        revealWindow: 60,
      });
    } finally {
      provider.destroy();
    }
  });

  after(async function () {
    await node?.stop();
    await chain?.stop();
  });

  it("stakes with the stake task, starts a --strict-startup node, answers a chat task and verifies it", async function () {
    const key = Wallet.createRandom().privateKey;
    const address = new Wallet(key).address;
    const env = { DEPLOYMENTS_DIR: dir };
    const provider = createProvider(chain.url, 31337);
    try {
      await (await new Wallet(DEV_KEY, provider).sendTransaction({ to: address, value: parseEther("1") })).wait();
    } finally {
      provider.destroy();
    }
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;

    const staked = await run(HARDHAT, ["--network", "localhost", "stake", "--amount", "100", "--endpoint", url], { ...env, VALIDATOR_PRIVATE_KEY: key });
    expect(staked.out, staked.out).to.contain(`${address} staked; active stake 100 CODS`);

    const deployments = path.join(dir, "localhost.json");
    node = await startOracleProcess({
      args: ["--deployments", deployments, "--model-dir", DEFAULT_TRAINED_MODEL_DIR, "--http-port", String(port), "--public-url", url,
        "--data-dir", path.join(dir, "node"), "--poll-interval-ms", "100", "--strict-startup"],
      env: { ORACLE_VALIDATOR_KEYS: key },
      url,
      logFile: path.join(dir, "node.log"),
    });
    expect(fs.readFileSync(path.join(dir, "node.log"), "utf8")).to.not.match(/no active stake|0 ETH|differs from --public-url/);

    const chat = await run(HARDHAT, ["--network", "localhost", "chat", "--prompt", "What is a dog?", "--max-new-tokens", "8", "--wait"], env);
    expect(chat.code, chat.out).to.equal(0);
    expect(chat.out).to.match(/request 1 /).and.match(/Finalized/);

    const verified = await run(TSX, ["oracle/src/cli/verify.ts", "1", "--deployments", deployments], {});
    expect(verified.code, verified.out).to.equal(0);
    expect(verified.out).to.match(/MATCH\s*$/);
  });
});

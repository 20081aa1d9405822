import { expect } from "chai";
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Contract, Wallet, parseEther } from "ethers";
import { createProvider } from "../../oracle/src/chain/rpc";
import { computeModelHash } from "../../oracle/src/inference/modelHash";
import { ensureTinyModel } from "../../oracle/src/inference";
import { DEFAULT_TINY_MODEL_DIR } from "../../oracle/src/inference/buildModel";
import { devAccount } from "../../scripts/demo/accounts";
import { type ChainNode, LOCAL_CHAIN_ID, startChainNode } from "../../scripts/demo/chainNode";
import { REPO_ROOT } from "../../scripts/demo/hardhatNode";
import type { DeploymentFile } from "../../oracle/src/chain/deployments";

const HARDHAT = path.join(REPO_ROOT, "node_modules/.bin/hardhat");
const NETWORK = "ignitiontest";

/** Runs `npx hardhat …` as its own process with `env` over a clean environment (no keys or network of this run). */
function hardhat(args: string[], env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  const base = { ...process.env };
  for (const name of ["HARDHAT_NETWORK", "PRIVATE_KEY", "DEPLOYER_KEYSTORE", "VALIDATOR_PRIVATE_KEY", "VALIDATOR_KEYSTORE", "STAKE_TOKEN", "RPC_URL"]) delete base[name];
  return new Promise((resolve, reject) => {
    const child = spawn(HARDHAT, args, { cwd: REPO_ROOT, env: { ...base, HARDHAT_DISABLE_TELEMETRY_PROMPT: "true", ...env } });
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (out += chunk.toString()));
    child.once("error", reject);
    child.once("exit", (code) => resolve({ code, out }));
  });
}

describe("scripts/deployIgnition.ts: Ignition deployment to a chain named in the environment (anvil process)", function () {
  this.timeout(300_000);
  let chain: ChainNode;
  let dir: string;
  let env: Record<string, string>;
  const deploymentId = `test-${process.pid}-${Date.now()}`;
  const ignitionDir = path.join(REPO_ROOT, "ignition/deployments", deploymentId);

  before(async function () {
    chain = await startChainNode("anvil");
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "deploy-ignition-"));
    await ensureTinyModel(DEFAULT_TINY_MODEL_DIR);
    env = {
      CHAT_ORACLE_NETWORK: NETWORK,
      CHAT_ORACLE_RPC_URL: chain.url,
      PRIVATE_KEY: devAccount(0).privateKey,
      DEPLOYMENTS_DIR: dir,
      IGNITION_DEPLOYMENT_ID: deploymentId,
      MODEL_DIR: DEFAULT_TINY_MODEL_DIR,
    };
  });
  after(async function () {
    await chain?.stop();
    fs.rmSync(ignitionDir, { recursive: true, force: true });
    const parent = path.dirname(ignitionDir);
    if (fs.existsSync(parent) && fs.readdirSync(parent).length === 0) fs.rmdirSync(parent);
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("refuses a network off the local ones without a stake token, in one line", async function () {
    const { code, out } = await hardhat(["run", "--no-compile", "scripts/deployIgnition.ts", "--network", NETWORK], env);
    expect(code).to.equal(1);
    expect(out).to.include(`deploy failed: network "${NETWORK}" needs a stake token: set STAKE_TOKEN to an ERC-20 address, or to demo for the mintable DemoToken`);
  });

  it("deploys through the Ignition module, writes deployments/<network>.json, and a validator stakes with a key from the environment", async function () {
    const deployed = await hardhat(["run", "--no-compile", "scripts/deployIgnition.ts", "--network", NETWORK], { ...env, STAKE_TOKEN: "demo" });
    expect(deployed.code, deployed.out).to.equal(0);
    const file = path.join(dir, `${NETWORK}.json`);
    const deployment = JSON.parse(fs.readFileSync(file, "utf8")) as DeploymentFile;
    expect(deployment).to.include({ network: NETWORK, chainId: LOCAL_CHAIN_ID, rpcUrl: chain.url, deployer: devAccount(0).address, modelId: 1 });
    expect(deployment.addresses.StakeToken).to.equal(deployment.addresses.DemoToken);

    const provider = createProvider(chain.url, LOCAL_CHAIN_ID);
    try {
      for (const address of Object.values(deployment.addresses)) expect(await provider.getCode(address), address).to.not.equal("0x");
      const chat = new Contract(deployment.addresses.ChatRecordRegistry, deployment.abis.ChatRecordRegistry as never, provider);
      const registry = new Contract(deployment.addresses.ValidatorRegistry, deployment.abis.ValidatorRegistry as never, provider);
      const model = await chat.getModel(1);
      expect(model.modelHash).to.equal(await computeModelHash(DEFAULT_TINY_MODEL_DIR));
      expect(deployment.modelHash).to.equal(model.modelHash);
      expect(await registry.hasRole(await registry.SLASHER_ROLE(), deployment.addresses.ChatRecordRegistry)).to.equal(true);
      // The recorded block holds the model's registration: the nodes start reading the chain there.
      const registered = await chat.queryFilter(chat.filters.ModelRegistered(1), deployment.block, deployment.block);
      expect(registered).to.have.length(1);

      // A fresh validator key, funded with gas money, stakes through the operator task.
      const validator = Wallet.createRandom();
      await (await devAccount(0).connect(provider).sendTransaction({ to: validator.address, value: parseEther("1") })).wait();
      const staked = await hardhat(["--network", NETWORK, "stake", "--amount", "150", "--endpoint", "https://validator.example"], {
        ...env,
        PRIVATE_KEY: "",
        VALIDATOR_PRIVATE_KEY: validator.privateKey,
      });
      expect(staked.code, staked.out).to.equal(0);
      expect(await registry.stakeOf(validator.address)).to.equal(parseEther("150"));
      expect((await registry.validatorInfo(validator.address)).endpoint).to.equal("https://validator.example");
      // Reading needs no account: the validator's machine has only its own key, for the operator tasks.
      const listed = await hardhat(["--network", NETWORK, "validators"], { ...env, PRIVATE_KEY: "", VALIDATOR_PRIVATE_KEY: validator.privateKey });
      expect(listed.code, listed.out).to.equal(0);
      expect(listed.out).to.match(new RegExp(`${validator.address}\\s+stake\\s+150 CODS\\s+share\\s+100\\.00%\\s+active\\s+https://validator\\.example`));

      // Running the deployment again reuses Ignition's journal: the same contracts.
      const again = await hardhat(["run", "--no-compile", "scripts/deployIgnition.ts", "--network", NETWORK], { ...env, STAKE_TOKEN: "demo" });
      expect(again.code, again.out).to.equal(0);
      expect((JSON.parse(fs.readFileSync(file, "utf8")) as DeploymentFile).addresses).to.deep.equal(deployment.addresses);
    } finally {
      provider.destroy();
    }
  });
});

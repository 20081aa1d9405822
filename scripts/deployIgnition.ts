/**
 * Deploys chat-oracle's contracts through Hardhat Ignition and writes deployments/<network>.json like scripts/deploy.ts:
 * `npx hardhat run scripts/deployIgnition.ts --network <name>` (any chain: see scripts/lib/networks.ts).
 * Env: STAKE_TOKEN (an ERC-20 address, or "demo" for the mintable DemoToken; local networks default to demo),
 * MODEL_DIR (default models/tiny: its hash and limits are registered; MODEL_HASH overrides the hash), MODEL_URI,
 * COMMIT_WINDOW / REVEAL_WINDOW (seconds, default 300), IGNITION_DEPLOYMENT_ID (default chat-oracle-<network>),
 * REDEPLOY=1 (start the Ignition journal afresh). Re-running resumes or reuses the journal's deployment.
 */
import fs from "node:fs";
import path from "node:path";
import hre from "hardhat";
import { isAddress } from "ethers";
import ChatOracle from "../ignition/modules/ChatOracle";
import ChatOracleDemoToken from "../ignition/modules/ChatOracleDemoToken";
import { DEFAULT_MODEL_ID, LOCAL_NETWORKS, modelLimitsFromConfig, recordDeployment, resolveModelHash } from "./lib/deploy";

const REPO_ROOT = path.resolve(__dirname, "..");

/** The whole-seconds env value `name`, or `fallback`. */
function secondsFromEnv(name: string, fallback: number): number {
  const text = process.env[name]?.trim();
  if (!text) return fallback;
  if (!/^\d+$/.test(text) || Number(text) < 1) throw new Error(`${name} must be a whole number of seconds, got "${text}"`);
  return Number(text);
}

/** Which module: the DemoToken one for STAKE_TOKEN=demo (the default on local networks), else the stake token's. */
function stakeTokenChoice(network: string): { demo: true } | { demo: false; address: string } {
  const given = process.env.STAKE_TOKEN?.trim();
  if (!given) {
    if (LOCAL_NETWORKS.includes(network)) return { demo: true };
    throw new Error(`network "${network}" needs a stake token: set STAKE_TOKEN to an ERC-20 address, or to demo for the mintable DemoToken`);
  }
  if (given.toLowerCase() === "demo") return { demo: true };
  if (!isAddress(given)) throw new Error(`STAKE_TOKEN must be an address or demo, got "${given}"`);
  return { demo: false, address: given };
}

/**
 * The block of the journal's registerModel transaction (the last step, like `deployAll`'s `block`): the nodes start
 * reading the chain there. Read from Ignition's journal, which holds every receipt.
 */
function registerModelBlock(deploymentDir: string): number | undefined {
  const journal = path.join(deploymentDir, "journal.jsonl");
  if (!fs.existsSync(journal)) return undefined;
  let block: number | undefined;
  for (const line of fs.readFileSync(journal, "utf8").split("\n")) {
    if (!line.includes("registerModel") || !line.includes("blockNumber")) continue;
    const entry = JSON.parse(line) as { futureId?: string; receipt?: { blockNumber?: number } };
    if (entry.futureId?.endsWith("registerModel") && entry.receipt?.blockNumber !== undefined) block = entry.receipt.blockNumber;
  }
  return block;
}

async function main(): Promise<void> {
  const network = hre.network.name;
  const chainId = Number((await hre.ethers.provider.getNetwork()).chainId);
  const [deployer] = await hre.ethers.getSigners();
  if (!deployer) throw new Error(`no deployer account on network "${network}": set PRIVATE_KEY, or DEPLOYER_KEYSTORE and DEPLOYER_KEYSTORE_PASSWORD`);
  if ((await hre.ethers.provider.getBalance(deployer.address)) === 0n) {
    throw new Error(`deployer ${deployer.address} has no funds on network "${network}" (chain ${chainId}): fund it first`);
  }
  const modelDir = path.resolve(process.env.MODEL_DIR ?? path.join(REPO_ROOT, "models/tiny"));
  const modelHash = await resolveModelHash({ modelDir });
  const choice = stakeTokenChoice(network);
  const module = choice.demo ? ChatOracleDemoToken : ChatOracle;
  const deploymentId = process.env.IGNITION_DEPLOYMENT_ID?.trim() || `chat-oracle-${network}`;
  const deploymentDir = path.join(hre.config.paths.ignition, "deployments", deploymentId);
  if (process.env.REDEPLOY === "1") fs.rmSync(deploymentDir, { recursive: true, force: true });

  const parameters = {
    [module.id]: {
      ...(choice.demo ? {} : { stakeToken: choice.address }),
      modelId: DEFAULT_MODEL_ID,
      modelHash,
      modelLimits: { ...modelLimitsFromConfig(modelDir) },
      modelUri: process.env.MODEL_URI ?? path.relative(REPO_ROOT, modelDir),
      commitWindow: secondsFromEnv("COMMIT_WINDOW", 300),
      revealWindow: secondsFromEnv("REVEAL_WINDOW", 300),
    },
  };
  console.log(`deploying module ${module.id} to ${network} (chain ${chainId}) from ${deployer.address}, Ignition deployment ${deploymentId}`);
  const contracts = await hre.ignition.deploy(module, { parameters, deploymentId, displayUi: false });
  const demoToken = "demoToken" in contracts ? await (contracts.demoToken as typeof contracts.randomness).getAddress() : undefined;
  const block = registerModelBlock(deploymentDir);
  if (block === undefined) throw new Error(`no registerModel receipt in ${path.join(deploymentDir, "journal.jsonl")}`);
  const deployment = await recordDeployment(
    hre,
    {
      chainId,
      block,
      deployer: deployer.address,
      modelId: DEFAULT_MODEL_ID,
      modelHash,
      addresses: {
        ValidatorRegistry: await contracts.validatorRegistry.getAddress(),
        ChatRecordRegistry: await contracts.chatRegistry.getAddress(),
        BlockhashRandomness: await contracts.randomness.getAddress(),
        StakeToken: demoToken ?? (choice.demo ? "" : choice.address),
        ...(demoToken ? { DemoToken: demoToken } : {}),
      },
    },
    { write: true, log: (line) => console.log(line) },
  );
  console.log(`chain ${deployment.chainId}, block ${deployment.block}, model ${deployment.modelId} ${deployment.modelHash}`);
}

main().catch((err: unknown) => {
  console.error(`deploy failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
});

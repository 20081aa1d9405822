import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import type { DeploymentFile } from "../../oracle/src/chain/deployments";

/** Networks where the mintable DemoToken is deployed as the stake token. */
export const LOCAL_NETWORKS = ["hardhat", "localhost"];
/** The model id the deploy script registers. */
export const DEFAULT_MODEL_ID = 1;
/** Contracts whose ABIs go into deployments/<network>.json, by artifact name. */
export const DEPLOYED_ARTIFACTS = ["ValidatorRegistry", "ChatRecordRegistry", "BlockhashRandomness", "DemoToken"];

export interface ChatConfig {
  minimumFee: bigint;
  slashAmount: bigint;
  committeeSize: number;
  quorum: number;
  maxAttempts: number;
}

/** IChatRecordRegistry.ModelLimits. */
export interface ModelLimits {
  maxPromptBytes: number;
  maxNewTokens: number;
  contextLength: number;
}

/**
 * Limits for a model from its config.json: the context is its position table (n_positions, max_position_embeddings or
 * n_ctx); up to half of it may be generated; a prompt may take 4 bytes per context token (English averages about 4
 * bytes a token, so prompts that tokenize too long are declined by the nodes rather than refused here).
 */
export function modelLimitsFromConfig(modelDir: string): ModelLimits {
  const file = path.join(modelDir, "config.json");
  const config = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
  const context = Number(config.n_positions ?? config.max_position_embeddings ?? config.n_ctx);
  if (!Number.isInteger(context) || context < 2) throw new Error(`${file} names no context length (n_positions, max_position_embeddings or n_ctx)`);
  return { maxPromptBytes: context * 4, maxNewTokens: Math.floor(context / 2), contextLength: context };
}

export interface DeployOptions {
  /** 0x sha256 of the model files; else env MODEL_HASH; else computed from `modelDir` / env MODEL_DIR / models/tiny. */
  modelHash?: string;
  modelDir?: string;
  modelUri?: string;
  modelId?: number;
  /** What the model accepts; default: from the model folder's config.json (see `modelLimitsFromConfig`). */
  modelLimits?: ModelLimits;
  /** Stake token; required off local networks (or env STAKE_TOKEN); local networks deploy DemoToken. */
  stakeToken?: string;
  stakeUnit?: bigint;
  minimumStake?: bigint;
  unbondingPeriod?: bigint;
  treasury?: string;
  commitWindow?: number;
  revealWindow?: number;
  config?: Partial<ChatConfig>;
  /** Write deployments/<network>.json (default: every network but the in-process `hardhat`). */
  write?: boolean;
  /** Deploy again even if deployments/<network>.json points at live contracts. */
  redeploy?: boolean;
  /** Folder for <network>.json (default env DEPLOYMENTS_DIR, else deployments/ at the repository root). */
  outDir?: string;
  /** RPC URL recorded in the file for the tools to find the chain (default: the Hardhat network's `url`). */
  rpcUrl?: string;
  log?: (line: string) => void;
}

export const DEFAULT_CHAT_CONFIG: ChatConfig = {
  minimumFee: 10n ** 15n, // 0.001 ETH
  slashAmount: 10n * 10n ** 18n,
  committeeSize: 3,
  quorum: 2,
  maxAttempts: 3,
};

const REPO_ROOT = path.resolve(__dirname, "../..");

/** Path of the deployment file for `network`. */
export function deploymentPath(network: string, outDir = process.env.DEPLOYMENTS_DIR ?? path.join(REPO_ROOT, "deployments")): string {
  return path.join(outDir, `${network}.json`);
}

/** Reads deployments/<network>.json, or throws a one-line error naming the file. */
export function readDeployment(network: string, outDir?: string): DeploymentFile {
  const file = deploymentPath(network, outDir);
  if (!existsSync(file)) throw new Error(`no deployment for network "${network}": run scripts/deploy.ts first (${file})`);
  return JSON.parse(readFileSync(file, "utf8")) as DeploymentFile;
}

/** The model folder: option, env MODEL_DIR, or models/tiny. */
function modelDirOf(options: Pick<DeployOptions, "modelDir">): string {
  return path.resolve(options.modelDir ?? process.env.MODEL_DIR ?? path.join(REPO_ROOT, "models/tiny"));
}

/** The model hash from options, env MODEL_HASH, or computed from the model folder with the oracle's rule. */
export async function resolveModelHash(options: Pick<DeployOptions, "modelHash" | "modelDir">): Promise<string> {
  const given = options.modelHash ?? process.env.MODEL_HASH;
  if (given) {
    if (!/^0x[0-9a-fA-F]{64}$/.test(given)) throw new Error(`model hash must be 0x + 64 hex digits, got "${given}"`);
    return given.toLowerCase();
  }
  const dir = modelDirOf(options);
  if (!existsSync(dir)) {
    throw new Error(`no model hash: set MODEL_HASH, or MODEL_DIR to a model folder (${dir} does not exist; npm run model:build)`);
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { computeModelHash } = require("../../oracle/src/inference/modelHash") as {
    computeModelHash(dir: string): Promise<string>;
  };
  return computeModelHash(dir);
}

/**
 * Deploys BlockhashRandomness, ValidatorRegistry, ChatRecordRegistry (and DemoToken on local networks), grants the
 * chat registry SLASHER_ROLE, registers the default model, and writes deployments/<network>.json. Idempotent: when
 * that file points at contracts that exist on this chain it returns it unchanged (unless `redeploy`).
 */
export async function deployAll(hre: HardhatRuntimeEnvironment, options: DeployOptions = {}): Promise<DeploymentFile> {
  const { ethers, network } = hre;
  const log = options.log ?? (() => undefined);
  const outDir = options.outDir;
  const write = options.write ?? network.name !== "hardhat";
  const chainId = Number((await ethers.provider.getNetwork()).chainId);

  const existing = await liveDeployment(hre, chainId, outDir);
  if (existing && !options.redeploy) {
    log(`already deployed on ${network.name} (chain ${chainId}) at block ${existing.block}: nothing to do`);
    const rpcUrl = rpcUrlOf(hre, options);
    if (rpcUrl && existing.rpcUrl !== rpcUrl && write) {
      // Same contracts reached through another URL (a restarted port forward): the tools should follow.
      writeFileSync(deploymentPath(network.name, outDir), JSON.stringify({ ...existing, rpcUrl }, null, 2) + "\n");
      return { ...existing, rpcUrl };
    }
    return existing;
  }

  const signers = await ethers.getSigners();
  if (signers.length === 0) throw new Error(`no deployer account on network "${network.name}": set PRIVATE_KEY`);
  const deployer = signers[0];
  const balance = await ethers.provider.getBalance(deployer.address);
  if (balance === 0n) {
    throw new Error(`deployer ${deployer.address} has no funds on network "${network.name}" (chain ${chainId}): fund it first`);
  }

  const modelHash = await resolveModelHash(options);
  const local = LOCAL_NETWORKS.includes(network.name);
  let stakeToken = options.stakeToken ?? process.env.STAKE_TOKEN;
  let demoToken: string | undefined;
  if (!stakeToken) {
    if (!local) throw new Error(`network "${network.name}" needs a stake token: set STAKE_TOKEN to an ERC-20 address`);
    const token = await ethers.deployContract("DemoToken");
    demoToken = stakeToken = await token.getAddress();
    log(`DemoToken ${demoToken}`);
  }

  const config = { ...DEFAULT_CHAT_CONFIG, ...options.config };
  const randomness = await ethers.deployContract("BlockhashRandomness");
  const validatorRegistry = await ethers.deployContract("ValidatorRegistry", [
    stakeToken,
    options.stakeUnit ?? 10n ** 18n,
    options.minimumStake ?? 100n * 10n ** 18n,
    options.unbondingPeriod ?? 7n * 24n * 3600n,
    options.treasury ?? deployer.address,
    deployer.address,
  ]);
  const chatRegistry = await ethers.deployContract("ChatRecordRegistry", [
    await validatorRegistry.getAddress(),
    await randomness.getAddress(),
    options.commitWindow ?? 300,
    options.revealWindow ?? 300,
    config,
    deployer.address,
  ]);
  await (await validatorRegistry.grantRole(await validatorRegistry.SLASHER_ROLE(), await chatRegistry.getAddress())).wait();
  // Seated stake stays slashable until its seat is settled.
  await (await validatorRegistry.setStakeLock(await chatRegistry.getAddress())).wait();
  const modelId = options.modelId ?? DEFAULT_MODEL_ID;
  const limits = options.modelLimits ?? modelLimitsFromConfig(modelDirOf(options));
  const receipt = await (await chatRegistry.registerModel(modelId, modelHash, limits, options.modelUri ?? "models/tiny")).wait();

  return recordDeployment(hre, {
    chainId,
    block: receipt?.blockNumber ?? (await ethers.provider.getBlockNumber()),
    deployer: deployer.address,
    modelId,
    modelHash,
    addresses: {
      ValidatorRegistry: await validatorRegistry.getAddress(),
      ChatRecordRegistry: await chatRegistry.getAddress(),
      BlockhashRandomness: await randomness.getAddress(),
      StakeToken: stakeToken,
      ...(demoToken ? { DemoToken: demoToken } : {}),
    },
  }, { ...options, write });
}

/**
 * The record of a deployment (the contracts' addresses, the ABIs from the artifacts, the network's RPC URL), written
 * to deployments/<network>.json when `write`: `deployAll` and the Ignition path (scripts/deployIgnition.ts) share it.
 */
export async function recordDeployment(
  hre: HardhatRuntimeEnvironment,
  fields: Omit<DeploymentFile, "network" | "abis" | "rpcUrl">,
  options: Pick<DeployOptions, "write" | "outDir" | "rpcUrl" | "log">,
): Promise<DeploymentFile> {
  const log = options.log ?? (() => undefined);
  const abis: Record<string, unknown[]> = {};
  for (const name of DEPLOYED_ARTIFACTS) abis[name] = (await hre.artifacts.readArtifact(name)).abi as unknown[];
  const rpcUrl = rpcUrlOf(hre, options);
  const { chainId, block, deployer, modelId, modelHash, addresses } = fields;
  const deployment: DeploymentFile = { network: hre.network.name, chainId, ...(rpcUrl ? { rpcUrl } : {}), block, deployer, modelId, modelHash, addresses, abis };
  log(`ValidatorRegistry ${deployment.addresses.ValidatorRegistry}`);
  log(`ChatRecordRegistry ${deployment.addresses.ChatRecordRegistry}`);
  if (options.write ?? hre.network.name !== "hardhat") {
    const file = deploymentPath(hre.network.name, options.outDir);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, JSON.stringify(deployment, null, 2) + "\n");
    log(`wrote ${path.relative(process.cwd(), file)}`);
  }
  return deployment;
}

/** The URL to record: the option, else the network's configured http(s) URL (none for the in-process network). */
function rpcUrlOf(hre: HardhatRuntimeEnvironment, options: Pick<DeployOptions, "rpcUrl">): string | undefined {
  const configured = (hre.network.config as { url?: unknown } | undefined)?.url;
  return options.rpcUrl ?? (typeof configured === "string" ? configured : undefined);
}

/** The recorded deployment for this network if its chain id matches and its contracts have code. */
async function liveDeployment(hre: HardhatRuntimeEnvironment, chainId: number, outDir?: string): Promise<DeploymentFile | undefined> {
  const file = deploymentPath(hre.network.name, outDir);
  if (!existsSync(file)) return undefined;
  const deployment = JSON.parse(readFileSync(file, "utf8")) as DeploymentFile;
  if (deployment.chainId !== chainId) return undefined;
  for (const address of [deployment.addresses.ValidatorRegistry, deployment.addresses.ChatRecordRegistry]) {
    if ((await hre.ethers.provider.getCode(address)) === "0x") return undefined;
  }
  return deployment;
}

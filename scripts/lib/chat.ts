/**
 * Functions a dApp (or an operator) uses to talk to the deployed contracts. The Hardhat tasks in tasks/ and the
 * scripts in scripts/ both call these, so there is one way to do each thing. Every function takes the Hardhat
 * runtime environment; none imports "hardhat" itself (so hardhat.config.ts can load the tasks).
 */
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import type { ContractRunner, Signer } from "ethers";
import { type TokenUnits, formatAmount, readTokenUnits } from "../../oracle/src/chain/errorText";
import { parseTokenAmount } from "./signer";
import type { ChatRecordRegistry, DemoToken, ValidatorRegistry } from "../../typechain-types";
import type { DeploymentFile } from "../../oracle/src/chain/deployments";
import { LOCAL_NETWORKS, readDeployment } from "./deploy";
import { type ModelLimits, modelLimitsFromConfig } from "./deploy";

export const STATUS_NAMES = ["None", "Requested", "Committed", "Revealed", "Finalized", "TimedOut", "Declined"];
const TERMINAL = new Set(["Finalized", "TimedOut", "Declined"]);

export interface Contracts {
  deployment: DeploymentFile;
  signer: Signer;
  validatorRegistry: ValidatorRegistry;
  chatRegistry: ChatRecordRegistry;
  stakeToken: DemoToken; // only `mint` is DemoToken-specific; the rest is plain ERC-20
}

/** deployments/<network>.json, checked against the chain the network reaches. */
async function checkedDeployment(hre: HardhatRuntimeEnvironment): Promise<DeploymentFile> {
  const deployment = readDeployment(hre.network.name);
  const chainId = Number((await hre.ethers.provider.getNetwork()).chainId);
  if (chainId !== deployment.chainId) {
    throw new Error(`deployments/${hre.network.name}.json is for chain ${deployment.chainId}, connected to ${chainId}: redeploy`);
  }
  return deployment;
}

/**
 * The registries for reading: connected to account 0 when the network has one, else to the provider, so a network
 * configured without a key (a validator's machine with only its own key in the environment) can still be inspected.
 */
export async function readContracts(hre: HardhatRuntimeEnvironment): Promise<Pick<Contracts, "deployment" | "validatorRegistry" | "chatRegistry">> {
  const deployment = await checkedDeployment(hre);
  return {
    deployment,
    validatorRegistry: (await hre.ethers.getContractAt("ValidatorRegistry", deployment.addresses.ValidatorRegistry)) as unknown as ValidatorRegistry,
    chatRegistry: (await hre.ethers.getContractAt("ChatRecordRegistry", deployment.addresses.ChatRecordRegistry)) as unknown as ChatRecordRegistry,
  };
}

/** The deployed contracts of the current network, connected to signer `accountIndex` (default 0). */
export async function connectContracts(hre: HardhatRuntimeEnvironment, accountIndex = 0, given?: Signer): Promise<Contracts> {
  const deployment = await checkedDeployment(hre);
  const signers = given ? [] : await hre.ethers.getSigners();
  const signer = given ?? signers[accountIndex];
  if (!signer) throw new Error(`no account #${accountIndex} on network "${hre.network.name}" (have ${signers.length})`);
  const at = <T>(name: string, address: string) => hre.ethers.getContractAt(name, address, signer) as Promise<T>;
  return {
    deployment,
    signer,
    validatorRegistry: await at<ValidatorRegistry>("ValidatorRegistry", deployment.addresses.ValidatorRegistry),
    chatRegistry: await at<ChatRecordRegistry>("ChatRecordRegistry", deployment.addresses.ChatRecordRegistry),
    stakeToken: await at<DemoToken>("DemoToken", deployment.addresses.StakeToken),
  };
}

/** Who signs: a Hardhat account index, or a signer (a key from the environment, see scripts/lib/signer.ts). */
export interface SignerOption {
  accountIndex?: number;
  signer?: Signer;
}

/** The stake token's symbol and decimals, for amounts people read ("100 CODS"). */
export async function stakeUnitsOf(contracts: Pick<Contracts, "stakeToken">): Promise<TokenUnits> {
  return readTokenUnits(contracts.stakeToken.runner as ContractRunner, await contracts.stakeToken.getAddress());
}

/** Stakes `amount` tokens (decimal string, e.g. "100") and optionally sets the endpoint; mints the demo token if short. */
export async function stakeAsValidator(
  hre: HardhatRuntimeEnvironment,
  options: { amount: string; endpoint?: string } & SignerOption,
): Promise<{ validator: string; stake: bigint; units: TokenUnits }> {
  const contracts = await connectContracts(hre, options.accountIndex, options.signer);
  const { signer, validatorRegistry, stakeToken } = contracts;
  const units = await stakeUnitsOf(contracts);
  const amount = parseTokenAmount(options.amount, "--amount", units.decimals);
  const validator = await signer.getAddress();
  const balance = await stakeToken.balanceOf(validator);
  if (balance < amount) {
    // The demo token mints to anyone: local networks and testnet deployments made with STAKE_TOKEN=demo use it.
    const demo = contracts.deployment.addresses.DemoToken?.toLowerCase() === contracts.deployment.addresses.StakeToken.toLowerCase();
    if (!LOCAL_NETWORKS.includes(hre.network.name) && !demo) {
      throw new Error(`${validator} holds ${formatAmount(balance, units)}, needs ${formatAmount(amount, units)}`);
    }
    await (await stakeToken.mint(validator, amount - balance)).wait();
  }
  await (await stakeToken.approve(await validatorRegistry.getAddress(), amount)).wait();
  await (await validatorRegistry.stake(amount, options.endpoint ?? "")).wait();
  return { validator, stake: await validatorRegistry.stakeOf(validator), units };
}

/**
 * Registers a model folder under `modelId` (the chat registry's owner only): its hash by the oracle's rule and its
 * limits from its config.json, as the deploy script registers the first one. Nodes serve it once they load that folder.
 */
export async function registerModel(
  hre: HardhatRuntimeEnvironment,
  options: { modelDir: string; modelId: number; uri: string } & SignerOption,
): Promise<{ modelId: number; modelHash: string; limits: ModelLimits }> {
  const { chatRegistry } = await connectContracts(hre, options.accountIndex, options.signer);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { computeModelHash } = require("../../oracle/src/inference/modelHash") as typeof import("../../oracle/src/inference/modelHash");
  const modelHash = await computeModelHash(options.modelDir);
  const limits = modelLimitsFromConfig(options.modelDir);
  await (await chatRegistry.registerModel(options.modelId, modelHash, limits, options.uri)).wait();
  return { modelId: options.modelId, modelHash, limits };
}

/** Moves `amount` tokens (decimal string) of the caller's stake out of the pool; returns the unlock time. */
export async function requestUnstake(hre: HardhatRuntimeEnvironment, options: { amount: string } & SignerOption) {
  const contracts = await connectContracts(hre, options.accountIndex, options.signer);
  const units = await stakeUnitsOf(contracts);
  const amount = parseTokenAmount(options.amount, "--amount", units.decimals);
  await (await contracts.validatorRegistry.requestUnstake(amount)).wait();
  const info = await contracts.validatorRegistry.validatorInfo(await contracts.signer.getAddress());
  return { unbonding: info.unbonding, unlockAt: info.unlockAt, units };
}

/** Withdraws the caller's unbonded stake; returns the amount. */
export async function withdrawStake(hre: HardhatRuntimeEnvironment, options: SignerOption = {}) {
  const contracts = await connectContracts(hre, options.accountIndex, options.signer);
  const units = await stakeUnitsOf(contracts);
  const amount = (await contracts.validatorRegistry.validatorInfo(await contracts.signer.getAddress())).unbonding;
  await (await contracts.validatorRegistry.withdraw()).wait();
  return { amount, units };
}

/**
 * Sends a chat request paying the minimum fee (or `fee` wei) plus the consumer callback's gas escrow
 * (`callbackGasLimit × maxCallbackGasPrice`, wei); returns its id, seed block and deadlines. The committee is drawn
 * later, from the seed block's hash (see `waitForCommittee`). The prompt goes on-chain as its UTF-8 bytes (or as
 * given, when bytes).
 */
export async function sendChatRequest(
  hre: HardhatRuntimeEnvironment,
  options: {
    prompt: string | Uint8Array;
    modelId?: number;
    maxNewTokens?: number;
    fee?: bigint;
    consumer?: string;
    callbackGasLimit?: number;
    maxCallbackGasPrice?: bigint;
    accountIndex?: number;
    /** Extend this finalized request's thread (`requestChatFollowUp`: the parent's model answers, seeing the thread). */
    parentId?: bigint;
  },
): Promise<{ requestId: bigint; seedBlock: bigint; commitDeadline: bigint; revealDeadline: bigint }> {
  const { deployment, chatRegistry } = await connectContracts(hre, options.accountIndex);
  const fee = options.fee ?? (await chatRegistry.getConfig()).minimumFee;
  const callbackGasLimit = options.callbackGasLimit ?? 0;
  const maxCallbackGasPrice = options.maxCallbackGasPrice ?? 0n;
  const prompt = typeof options.prompt === "string" ? hre.ethers.toUtf8Bytes(options.prompt) : options.prompt;
  const rest = [
    prompt,
    options.maxNewTokens ?? 64,
    options.consumer ?? hre.ethers.ZeroAddress,
    callbackGasLimit,
    maxCallbackGasPrice,
    { value: fee + BigInt(callbackGasLimit) * maxCallbackGasPrice },
  ] as const;
  if (options.parentId !== undefined && options.modelId !== undefined) {
    throw new Error("a thread turn is answered by its parent's model: give --parent or --model, not both");
  }
  const tx =
    options.parentId === undefined
      ? await chatRegistry.requestChat(options.modelId ?? deployment.modelId, ...rest)
      : await chatRegistry.requestChatFollowUp(options.parentId, ...rest);
  const receipt = await tx.wait();
  for (const log of receipt?.logs ?? []) {
    const parsed = chatRegistry.interface.parseLog(log);
    if (parsed?.name === "ChatRequested") {
      return {
        requestId: parsed.args.requestId as bigint,
        seedBlock: parsed.args.seedBlock as bigint,
        commitDeadline: parsed.args.commitDeadline as bigint,
        revealDeadline: parsed.args.revealDeadline as bigint,
      };
    }
  }
  throw new Error(`transaction ${tx.hash} emitted no ChatRequested event`);
}

/**
 * The committee of the request's current attempt: the drawn one, else what a draw would give once the seed block is
 * past (`previewCommittee` at the pending block). Polls until known or `timeoutMs` passes.
 */
export async function waitForCommittee(
  hre: HardhatRuntimeEnvironment,
  requestId: bigint,
  options: { timeoutMs?: number; pollMs?: number } = {},
): Promise<{ committee: string[]; drawn: boolean }> {
  const { chatRegistry } = await readContracts(hre);
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  for (;;) {
    const record = await chatRegistry.getRecord(requestId);
    if (record.committee.length > 0) return { committee: [...record.committee], drawn: true };
    const [committee, ready] = await chatRegistry.previewCommittee(requestId, { blockTag: "pending" });
    if (ready) return { committee: [...committee], drawn: false };
    if (Date.now() > deadline) throw new Error(`request ${requestId}: committee not drawable within ${options.timeoutMs ?? 30_000} ms`);
    await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 1000));
  }
}

/** Wei `account` (default: the signer) can withdraw from the chat registry: fee shares, reimbursements, refunds. */
export async function creditOf(hre: HardhatRuntimeEnvironment, options: { account?: string; accountIndex?: number } = {}) {
  const { signer, chatRegistry } = await connectContracts(hre, options.accountIndex);
  const account = options.account ?? (await signer.getAddress());
  return { account, credit: await chatRegistry.creditOf(account) };
}

/** Withdraws the signer's credits to `recipient` (default: the signer); returns the amount. */
export async function withdrawCredits(hre: HardhatRuntimeEnvironment, options: { recipient?: string; accountIndex?: number } = {}) {
  const { signer, chatRegistry } = await connectContracts(hre, options.accountIndex);
  const account = await signer.getAddress();
  const amount = await chatRegistry.creditOf(account);
  await (await chatRegistry.withdraw(options.recipient ?? account)).wait();
  return amount;
}

export interface RecordView {
  requestId: bigint;
  status: string;
  requester: string;
  modelId: number;
  attempt: number;
  fee: bigint;
  promptHash: string;
  responseHash: string;
  modelHash: string;
  committee: string[];
  commitDeadline: bigint;
  revealDeadline: bigint;
  callbackFailed: boolean;
  settled: boolean;
  seedBlock: bigint;
  prompt?: string;
  response?: string;
}

/** A record with its status name, plus the prompt and agreed response texts found in the registry's events. */
export async function readRecord(hre: HardhatRuntimeEnvironment, requestId: bigint): Promise<RecordView> {
  const { deployment, chatRegistry } = await readContracts(hre);
  const r = await chatRegistry.getRecord(requestId);
  const view: RecordView = {
    requestId,
    status: STATUS_NAMES[Number(r.status)],
    requester: r.requester,
    modelId: Number(r.modelId),
    attempt: Number(r.attempt),
    fee: r.fee,
    promptHash: r.promptHash,
    responseHash: r.responseHash,
    modelHash: r.modelHash,
    committee: [...r.committee],
    commitDeadline: r.commitDeadline,
    revealDeadline: r.revealDeadline,
    callbackFailed: r.callbackFailed,
    settled: r.settled,
    seedBlock: r.seedBlock,
  };
  const fromBlock = deployment.block;
  const requested = await chatRegistry.queryFilter(chatRegistry.filters.ChatRequested(requestId), fromBlock);
  // Raw bytes on-chain: shown as text, U+FFFD where they are not valid UTF-8.
  if (requested[0]) view.prompt = new TextDecoder("utf-8", { fatal: false }).decode(hre.ethers.getBytes(requested[0].args.prompt));
  if (view.status === "Finalized") {
    const reveals = await chatRegistry.queryFilter(chatRegistry.filters.ResponseRevealed(requestId), fromBlock);
    view.response = reveals.find((e) => e.args.responseHash === view.responseHash)?.args.responseText;
  }
  return view;
}

/** Polls until the record is Finalized, TimedOut or Declined (or `timeoutMs` passes). */
export async function waitForRecord(
  hre: HardhatRuntimeEnvironment,
  requestId: bigint,
  options: { timeoutMs?: number; pollMs?: number; onStatus?: (status: string) => void } = {},
): Promise<RecordView> {
  const deadline = Date.now() + (options.timeoutMs ?? 120_000);
  let last = "";
  for (;;) {
    const record = await readRecord(hre, requestId);
    if (record.status !== last) options.onStatus?.((last = record.status));
    if (TERMINAL.has(record.status)) return record;
    if (Date.now() > deadline) throw new Error(`request ${requestId} still ${record.status} after ${options.timeoutMs ?? 120_000} ms`);
    await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 1000));
  }
}

/** Request ids of `requester` (newest first), from the ChatRequested logs filtered by the indexed requester. */
export async function listRequests(hre: HardhatRuntimeEnvironment, requester: string, limit = 20): Promise<bigint[]> {
  const { deployment, chatRegistry } = await readContracts(hre);
  const logs = await chatRegistry.queryFilter(chatRegistry.filters.ChatRequested(undefined, requester), deployment.block);
  return logs.map((log) => log.args.requestId).reverse().slice(0, limit);
}

export interface ValidatorView {
  address: string;
  stake: bigint;
  unbonding: bigint;
  share: number;
  active: boolean;
  endpoint: string;
}

/** Every address that ever staked, with its stake, selection share (stake / totalStake) and endpoint. */
export async function listValidators(hre: HardhatRuntimeEnvironment): Promise<ValidatorView[]> {
  const { validatorRegistry } = await readContracts(hre);
  const count = Number(await validatorRegistry.validatorCount());
  const total = await validatorRegistry.totalStake();
  const out: ValidatorView[] = [];
  for (let i = 0; i < count; i++) {
    const address = await validatorRegistry.validatorAt(i);
    const info = await validatorRegistry.validatorInfo(address);
    out.push({
      address,
      stake: info.stake,
      unbonding: info.unbonding,
      share: total === 0n ? 0 : Number((info.stake * 1_000_000n) / total) / 1_000_000,
      active: await validatorRegistry.isActive(address),
      endpoint: info.endpoint,
    });
  }
  return out;
}

/** Human-readable lines for a record. */
export function formatRecord(hre: HardhatRuntimeEnvironment, r: RecordView): string {
  return [
    `request ${r.requestId}: ${r.status} (attempt ${r.attempt})`,
    `requester     ${r.requester}`,
    `model         ${r.modelId} ${r.modelHash}`,
    `fee           ${hre.ethers.formatEther(r.fee)} ETH`,
    `promptHash    ${r.promptHash}`,
    `responseHash  ${r.responseHash}`,
    `committee     ${r.committee.length > 0 ? r.committee.join(", ") : `not drawn yet (seed block ${r.seedBlock})`}`,
    `deadlines     commit ${new Date(Number(r.commitDeadline) * 1000).toISOString()}, reveal ${new Date(Number(r.revealDeadline) * 1000).toISOString()}`,
    ...(r.prompt !== undefined ? [`prompt        ${JSON.stringify(r.prompt)}`] : []),
    ...(r.response !== undefined ? [`response      ${JSON.stringify(r.response)}`] : []),
  ].join("\n");
}

/** Deploys the example consumer (contracts/examples/ExampleChatConsumer.sol) against this network's chat registry. */
export async function deployExampleConsumer(hre: HardhatRuntimeEnvironment, options: { accountIndex?: number } = {}): Promise<string> {
  const { signer, deployment } = await connectContracts(hre, options.accountIndex);
  const consumer = await hre.ethers.deployContract("ExampleChatConsumer", [deployment.addresses.ChatRecordRegistry], signer);
  await consumer.waitForDeployment();
  return consumer.getAddress();
}

/**
 * Asks through a consumer's `ask(modelId, prompt, maxNewTokens, maxCallbackGasPrice)` paying the minimum fee plus the
 * callback escrow (`CALLBACK_GAS_LIMIT × maxCallbackGasPrice`); returns the request id.
 */
export async function askThroughConsumer(
  hre: HardhatRuntimeEnvironment,
  options: { consumer: string; prompt: string; modelId?: number; maxNewTokens: number; maxCallbackGasPrice: bigint; accountIndex?: number },
): Promise<bigint> {
  if (options.prompt === "") throw new Error("--prompt must not be empty");
  const { signer, chatRegistry, deployment } = await connectContracts(hre, options.accountIndex);
  const consumer = await hre.ethers.getContractAt("ExampleChatConsumer", options.consumer, signer);
  const { minimumFee } = await chatRegistry.getConfig();
  const escrow = BigInt(await consumer.CALLBACK_GAS_LIMIT()) * options.maxCallbackGasPrice;
  const before = await chatRegistry.requestCount();
  await (
    await consumer.ask(options.modelId ?? deployment.modelId, options.prompt, options.maxNewTokens, options.maxCallbackGasPrice, { value: minimumFee + escrow })
  ).wait();
  return before + 1n;
}

/** The response hash a consumer stored for `requestId` (zero until its callback ran). */
export async function consumerAnswer(hre: HardhatRuntimeEnvironment, consumer: string, requestId: bigint): Promise<string> {
  return (await hre.ethers.getContractAt("ExampleChatConsumer", consumer)).answers(requestId);
}

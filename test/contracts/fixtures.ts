import { ethers } from "hardhat";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import type { DemoToken, ValidatorRegistry } from "../../typechain-types";

export const UNIT = 10n ** 18n;
export const MINIMUM_STAKE = 100n * UNIT;
export const UNBONDING_PERIOD = 7n * 24n * 3600n;
export const COMMIT_WINDOW = 300;
export const REVEAL_WINDOW = 300;
export const MINIMUM_FEE = 10n ** 15n;
export const SLASH_AMOUNT = 10n * UNIT;
export const MODEL_ID = 1;
export const MODEL_HASH = ethers.id("model files");

/** Status enum of IChatRecordRegistry. */
export const Status = { None: 0n, Requested: 1n, Committed: 2n, Revealed: 3n, Finalized: 4n, TimedOut: 5n, Declined: 6n };
export const SlashReason = { MissedCommit: 0n, MissedReveal: 1n, Dissent: 2n };
export const DeclineReason = { PromptTooLong: 0n, InvalidPrompt: 1n, ModelUnavailable: 2n };
/** Limits the fixture's model is registered with. */
export const MODEL_LIMITS = { maxPromptBytes: 4096, maxNewTokens: 256, contextLength: 1024 };

export interface ChatConfigInput {
  minimumFee: bigint;
  slashAmount: bigint;
  committeeSize: number;
  quorum: number;
  maxAttempts: number;
}

/** Token + registries wired like scripts/lib/deploy.ts, with `validatorCount` staked validators (equal stakes). */
export async function deploySystem(options: { committeeSize?: number; quorum?: number; maxAttempts?: number; validatorCount?: number } = {}) {
  const signers = await ethers.getSigners();
  const [owner, treasury, slasher, requester, outsider] = signers;
  const validators = signers.slice(5, 5 + (options.validatorCount ?? 5));
  const token = await ethers.deployContract("DemoToken");
  const randomness = await ethers.deployContract("BlockhashRandomness");
  const registry = await ethers.deployContract("ValidatorRegistry", [
    await token.getAddress(),
    UNIT,
    MINIMUM_STAKE,
    UNBONDING_PERIOD,
    treasury.address,
    owner.address,
  ]);
  const config: ChatConfigInput = {
    minimumFee: MINIMUM_FEE,
    slashAmount: SLASH_AMOUNT,
    committeeSize: options.committeeSize ?? 3,
    quorum: options.quorum ?? 2,
    maxAttempts: options.maxAttempts ?? 2,
  };
  const chat = await ethers.deployContract("ChatRecordRegistry", [
    await registry.getAddress(),
    await randomness.getAddress(),
    COMMIT_WINDOW,
    REVEAL_WINDOW,
    config,
    owner.address,
  ]);
  const slasherRole = await registry.SLASHER_ROLE();
  await registry.grantRole(slasherRole, await chat.getAddress());
  await registry.grantRole(slasherRole, slasher.address);
  await registry.setStakeLock(await chat.getAddress());
  await chat.registerModel(MODEL_ID, MODEL_HASH, MODEL_LIMITS, "models/tiny");
  for (const v of validators) await stakeAs(token, registry, v, 1000n * UNIT, `http://${v.address.slice(2, 8)}.example`);
  const byAddress = new Map<string, HardhatEthersSigner>(validators.map((v) => [v.address, v]));
  return { token, randomness, registry, chat, owner, treasury, slasher, requester, outsider, validators, byAddress, config };
}

export async function stakeAs(
  token: DemoToken,
  registry: ValidatorRegistry,
  validator: HardhatEthersSigner,
  amount: bigint,
  endpoint = "",
) {
  await token.mint(validator.address, amount);
  await token.connect(validator).approve(await registry.getAddress(), amount);
  await registry.connect(validator).stake(amount, endpoint);
}

export const responseHashOf = (text: string) => ethers.keccak256(ethers.toUtf8Bytes(text));

export function commitmentOf(requestId: bigint, validator: string, text: string, salt: string): string {
  return ethers.keccak256(
    ethers.AbiCoder.defaultAbiCoder().encode(
      ["uint256", "address", "bytes32", "bytes32"],
      [requestId, validator, responseHashOf(text), salt],
    ),
  );
}

export interface RequestOptions {
  modelId?: number;
  prompt?: string | Uint8Array;
  maxNewTokens?: number;
  consumer?: string;
  callbackGasLimit?: number;
  maxCallbackGasPrice?: bigint;
  fee?: bigint;
  from?: HardhatEthersSigner;
}

type ChatSystem = Awaited<ReturnType<typeof deploySystem>>;

/** Sends `requestChat` (fee + callback escrow as value) and returns the new request id. */
export async function requestChat(sys: ChatSystem, options: RequestOptions = {}): Promise<bigint> {
  const prompt = options.prompt ?? "What is the capital of France?";
  const bytes = typeof prompt === "string" ? ethers.toUtf8Bytes(prompt) : prompt;
  const gas = options.callbackGasLimit ?? 0;
  const price = options.maxCallbackGasPrice ?? 0n;
  const value = (options.fee ?? MINIMUM_FEE) + BigInt(gas) * price;
  await sys.chat
    .connect(options.from ?? sys.requester)
    .requestChat(options.modelId ?? MODEL_ID, bytes, options.maxNewTokens ?? 32, options.consumer ?? ethers.ZeroAddress, gas, price, { value });
  return sys.chat.requestCount();
}

/** Draws the current attempt's committee (mining a block first if the seed block is the latest) and returns it. */
export async function drawCommittee(sys: ChatSystem, requestId: bigint): Promise<HardhatEthersSigner[]> {
  const record = await sys.chat.getRecord(requestId);
  if (record.committee.length === 0) {
    await sys.chat.connect(sys.outsider).draw(requestId);
  }
  const committee = [...(await sys.chat.getRecord(requestId)).committee];
  return committee.map((address) => {
    const signer = sys.byAddress.get(address);
    if (!signer) throw new Error(`committee member ${address} is not a fixture validator`);
    return signer;
  });
}

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
export const Status = { None: 0n, Requested: 1n, Committed: 2n, Revealed: 3n, Finalized: 4n, TimedOut: 5n, Refunded: 6n };
export const SlashReason = { MissedCommit: 0n, MissedReveal: 1n, Dissent: 2n };

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
  const randomness = await ethers.deployContract("PrevrandaoRandomness");
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
  await chat.registerModel(MODEL_ID, MODEL_HASH, "models/tiny");
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

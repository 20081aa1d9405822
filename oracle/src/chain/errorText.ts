import { Contract, type ContractRunner, formatUnits } from "ethers";
import { STATUS_NAMES } from "./chatRegistry";

/** How to write an amount of the stake token for people: "100 CODS", not "100000000000000000000". */
export interface TokenUnits {
  symbol: string;
  decimals: number;
}

/** The stake token when its symbol cannot be read (a token without `symbol()`, an unreachable RPC). */
export const UNKNOWN_TOKEN: TokenUnits = { symbol: "tokens", decimals: 18 };

const ETH: TokenUnits = { symbol: "ETH", decimals: 18 };

/** `amount` (base units) in whole tokens with the symbol, e.g. "10 CODS" or "0.5 CODS". */
export function formatAmount(amount: bigint, units: TokenUnits): string {
  const text = formatUnits(amount, units.decimals);
  return `${text.endsWith(".0") ? text.slice(0, -2) : text} ${units.symbol}`;
}

type Describe = (args: readonly unknown[], stake: (v: unknown) => string, eth: (v: unknown) => string) => string;

/** Custom errors that carry amounts, written as sentences in people's units; the rest keep `Name(args)`. */
const SENTENCES: Record<string, Describe> = {
  ValidatorRegistryInsufficientStake: ([validator, stake, minimum], s) =>
    `${s(stake)} is below the minimum ${s(minimum)} (validator ${validator})`,
  ValidatorRegistryUnstakeExceedsStake: ([validator, amount, stake], s) =>
    `unstaking ${s(amount)} exceeds the stake ${s(stake)} of ${validator}`,
  ValidatorRegistryAmountNotWholeUnits: ([amount, unit], s) => `${s(amount)} is not a whole multiple of ${s(unit)}`,
  ChatRecordRegistrySlashAmountNotWholeUnits: ([amount, unit], s) => `slash amount ${s(amount)} is not a whole multiple of ${s(unit)}`,
  ChatRecordRegistryFeeTooLow: ([fee, escrow, minimum], _s, e) =>
    `fee ${e(fee)} (beside ${e(escrow)} callback escrow) is below the minimum ${e(minimum)}`,
  ChatRecordRegistryFeeTooHigh: ([fee, maximum], _s, e) => `fee ${e(fee)} is above the maximum ${e(maximum)}`,
  ChatRecordRegistryTransferFailed: ([to, amount], _s, e) => `sending ${e(amount)} to ${to} failed`,
  ChatRecordRegistryParentNotFinalized: ([parentId, status]) =>
    `request ${parentId} is ${STATUS_NAMES[Number(status)] ?? status}, not Finalized: only a finalized turn can be extended`,
  ChatRecordRegistryNotThreadMember: ([rootId, account]) =>
    `${account} neither owns thread ${rootId} nor was allowed into it (ChatThreads.setThreadMember)`,
};

/**
 * A decoded custom error as one line for people: stake amounts in `stakeUnits` with the symbol, fees in ETH, e.g.
 * "10 CODS is below the minimum 100 CODS (validator 0x…)". Unknown errors read `Name(arg, …)`.
 */
export function describeCustomError(name: string, args: readonly unknown[], stakeUnits: TokenUnits = UNKNOWN_TOKEN): string {
  const sentence = SENTENCES[name];
  if (!sentence) return `${name}(${args.map(String).join(", ")})`;
  return `${name}: ${sentence(args, (v) => formatAmount(BigInt(v as bigint), stakeUnits), (v) => formatAmount(BigInt(v as bigint), ETH))}`;
}

/** The token's symbol and decimals read from the chain, or UNKNOWN_TOKEN when it has none or the call fails. */
export async function readTokenUnits(provider: ContractRunner, token: string | undefined): Promise<TokenUnits> {
  if (!token) return UNKNOWN_TOKEN;
  const erc20 = new Contract(token, ["function symbol() view returns (string)", "function decimals() view returns (uint8)"], provider);
  try {
    const [symbol, decimals] = await Promise.all([erc20.symbol() as Promise<string>, erc20.decimals() as Promise<bigint>]);
    return { symbol, decimals: Number(decimals) };
  } catch {
    return UNKNOWN_TOKEN;
  }
}

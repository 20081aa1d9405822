/**
 * Which target each block of a toy chain must meet: the initial k-leading-zero-bits target, then Bitcoin-style
 * retargeting every `retargetInterval` blocks. Retargeting measures the `interval - 1` gaps between the first and the
 * last block of the period and compares them with `(interval - 1) × targetBlockTime` (Bitcoin compares interval - 1
 * gaps with interval block times, an off-by-one we do not copy).
 */
import type { ChainConfig } from "./chainConfig";
import { compactToTarget, retarget, targetFromLeadingZeroBits, targetToCompact } from "./target";

export function initialBits(config: ChainConfig): number {
  return targetToCompact(targetFromLeadingZeroBits(config.difficultyBits));
}

export function powLimit(config: ChainConfig): bigint {
  return targetFromLeadingZeroBits(config.minDifficultyBits);
}

/** nBits required of the block at array position `position`, given the timestamps and bits of the blocks before it. */
export function expectedBits(config: ChainConfig, previous: ReadonlyArray<{ timestamp: number; bits: number }>, position: number): number {
  if (position === 0) return initialBits(config);
  const last = previous[position - 1];
  const interval = config.retargetInterval;
  if (interval === 0 || position % interval !== 0) return last.bits;
  const first = previous[position - interval];
  const actual = last.timestamp - first.timestamp;
  const expected = (interval - 1) * config.targetBlockTime;
  return targetToCompact(retarget(compactToTarget(last.bits), actual, expected, config.maxAdjustmentFactor, powLimit(config)));
}

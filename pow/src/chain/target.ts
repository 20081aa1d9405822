/**
 * Proof-of-work difficulty, two ways:
 *  - the seed's: W = 2^k expected tries, "the hash has k leading zero bits" (the seed's `'0000'` hex prefix is k = 16);
 *  - Bitcoin's: a 256-bit target, a hash passes when hash ≤ target, the target travels in headers as compact nBits.
 * Hashes are compared as Bitcoin does: the 32 digest bytes read as a little-endian number (display order is reversed).
 */

export const MAX_TARGET = (1n << 256n) - 1n;
/** k range accepted everywhere: k = 0 accepts every hash, k = 255 leaves a single passing hash value. */
export const MIN_LEADING_ZERO_BITS = 0;
export const MAX_LEADING_ZERO_BITS = 255;

export class TargetError extends RangeError {}

/** Target meaning "k leading zero bits": the largest hash that passes is 2^(256-k) - 1. */
export function targetFromLeadingZeroBits(k: number): bigint {
  if (!Number.isInteger(k) || k < MIN_LEADING_ZERO_BITS || k > MAX_LEADING_ZERO_BITS) {
    throw new TargetError(`difficulty k must be an integer in [${MIN_LEADING_ZERO_BITS}, ${MAX_LEADING_ZERO_BITS}], got ${k}`);
  }
  return (1n << BigInt(256 - k)) - 1n;
}

/** Number of leading zero bits of a 256-bit hash value. */
export function leadingZeroBits(hashValue: bigint): number {
  if (hashValue === 0n) return 256;
  return 256 - hashValue.toString(2).length;
}

/** Expected number of hashes to find one at or below `target`: 2^256 / (target + 1). */
export function expectedHashes(target: bigint): number {
  return Number((1n << 256n) / (target + 1n));
}

/** Chain work of one block, as Bitcoin Core counts it (floor(2^256 / (target + 1))). */
export function blockWork(target: bigint): bigint {
  return (1n << 256n) / (target + 1n);
}

/** Expands compact nBits (1 byte exponent, 3 byte mantissa with a sign bit) into the 256-bit target. */
export function compactToTarget(bits: number): bigint {
  if (!Number.isInteger(bits) || bits < 0 || bits > 0xffffffff) throw new TargetError(`nBits must be a uint32, got ${bits}`);
  const exponent = bits >>> 24;
  const mantissa = bits & 0x007fffff;
  if ((bits & 0x00800000) !== 0 && mantissa !== 0) throw new TargetError(`nBits 0x${hex32(bits)} encodes a negative target`);
  const target = exponent <= 3 ? BigInt(mantissa >>> (8 * (3 - exponent))) : BigInt(mantissa) << BigInt(8 * (exponent - 3));
  if (target > MAX_TARGET) throw new TargetError(`nBits 0x${hex32(bits)} overflows 256 bits`);
  return target;
}

/** Compact nBits for `target`, rounding the target down to 3 significant bytes exactly as Bitcoin Core does. */
export function targetToCompact(target: bigint): number {
  if (target < 0n || target > MAX_TARGET) throw new TargetError(`target out of range: ${target}`);
  let size = Math.ceil(target.toString(16).replace(/^0+/, "").length / 2);
  let mantissa = size <= 3 ? Number(target << BigInt(8 * (3 - size))) : Number(target >> BigInt(8 * (size - 3)));
  // The mantissa's top bit is a sign bit: shift one byte right rather than encode a negative number.
  if (mantissa & 0x00800000) {
    mantissa >>>= 8;
    size += 1;
  }
  return ((size << 24) | mantissa) >>> 0;
}

export function hex32(value: number): string {
  return value.toString(16).padStart(8, "0");
}

export function targetToHex(target: bigint): string {
  return target.toString(16).padStart(64, "0");
}

/**
 * Bitcoin's retarget rule: new = old × actual / expected, the actual timespan clamped to
 * [expected / maxFactor, expected × maxFactor], the result capped at powLimit (easiest allowed target).
 */
export function retarget(oldTarget: bigint, actualTimespan: number, expectedTimespan: number, maxFactor: number, powLimit: bigint): bigint {
  if (!(expectedTimespan > 0)) throw new TargetError(`expected timespan must be positive, got ${expectedTimespan}`);
  const clamped = Math.min(Math.max(actualTimespan, expectedTimespan / maxFactor), expectedTimespan * maxFactor);
  // Integer milliseconds keep the bigint product exact.
  const next = (oldTarget * BigInt(Math.round(clamped * 1000))) / BigInt(Math.round(expectedTimespan * 1000));
  return next > powLimit ? powLimit : next < 1n ? 1n : next;
}

/**
 * TypeScript port of contracts/libraries/SortitionTree.sol: the same packed prefix-sum tree (7-child root that
 * keeps the depth, 8-child nodes, 32-bit fields, LIFO reuse of freed leaves, growth by one level when full) and
 * the same bias-free draws. The same sequence of `set` calls and the same value or seed give the same member as
 * the Solidity library (checked by test/pow/pos/sortitionTree.test.ts against the harness). See docs/sortition.md.
 */
import { getAddress, isAddress, isHexString, keccak256 } from "ethers";

/** The largest total weight (and single weight) the tree accepts: the packed fields are 32 bits wide. */
export const MAX_TOTAL_WEIGHT = (1n << 32n) - 1n;

const FIELD_BITS = 32n;
const FIELD_MASK = 0xffffffffn;
const FANOUT_BITS = 3n;
const ROOT_FANOUT = 7n;
const ONES_8 = 0x0000000100000001000000010000000100000001000000010000000100000001n;
const ONES_7 = 0x0000000000000001000000010000000100000001000000010000000100000001n;
const DEPTH_SHIFT = 224n;
const ROOT_SUMS_MASK = (1n << 224n) - 1n;
const TOTAL_SHIFT = 192n;
const HEIGHT_KEY_SHIFT = 32n;

/** Errors mirror the library's custom errors (same names and values). */
export class SortitionTreeError extends Error {
  constructor(readonly errorName: string, readonly args: readonly (bigint | string)[]) {
    super(`${errorName}(${args.map(String).join(", ")})`);
    this.name = "SortitionTreeError";
  }
}

interface Descent {
  position: bigint;
  start: bigint;
  weight: bigint;
}

/**
 * A weighted sum tree with O(log n) updates and draws. Members are addresses (returned checksummed, compared
 * case-insensitively) or, for simulations, any other non-empty string id.
 */
export class SortitionTree {
  private root = 0n;
  private activeMembers = 0n;
  private leafCount = 0n;
  /** Most recently freed position plus one; 0 when none. */
  private freeHead = 0n;
  private readonly nodes = new Map<bigint, bigint>();
  /** Position => member (null once freed, then nextFree is the next free position plus one). */
  private readonly leaves = new Map<bigint, { member: string | null; nextFree: bigint }>();
  private readonly records = new Map<string, { position: bigint; weight: bigint }>();

  /** Sets `member`'s weight: inserts when new (weight > 0), updates, or removes when weight == 0. */
  set(member: string, weight: bigint): void {
    const key = memberKey(member);
    if (key === "" || (isAddress(key) && BigInt(key) === 0n)) {
      throw new SortitionTreeError("SortitionTreeZeroAddressMember", []);
    }
    if (weight < 0n) throw new RangeError(`negative weight ${weight} for ${member}`);
    if (weight > MAX_TOTAL_WEIGHT) {
      throw new SortitionTreeError("SortitionTreeWeightOverflow", [member, weight, MAX_TOTAL_WEIGHT]);
    }
    const record = this.records.get(key);
    const oldWeight = record?.weight ?? 0n;
    if (oldWeight === weight) return;
    if (weight > oldWeight) {
      const newTotal = this.totalWeight() + (weight - oldWeight);
      if (newTotal > MAX_TOTAL_WEIGHT) {
        throw new SortitionTreeError("SortitionTreeTotalWeightOverflow", [member, newTotal, MAX_TOTAL_WEIGHT]);
      }
    }
    if (record === undefined) {
      this.insert(key, weight);
    } else if (weight === 0n) {
      this.remove(key, record.position, oldWeight);
    } else {
      this.records.set(key, { position: record.position, weight });
      this.addAlongPath(record.position, weight - oldWeight);
    }
  }

  /** The weight of `member` (0 for non-members). */
  weightOf(member: string): bigint {
    return this.records.get(memberKey(member))?.weight ?? 0n;
  }

  /** The sum of all weights. */
  totalWeight(): bigint {
    return (this.root >> TOTAL_SHIFT) & FIELD_MASK;
  }

  /** Members with weight > 0. */
  memberCount(): bigint {
    return this.activeMembers;
  }

  /** The member whose cumulative-weight interval contains `value`; throws if value >= totalWeight. */
  pick(value: bigint): string {
    const total = this.totalWeight();
    if (value < 0n || value >= total) throw new SortitionTreeError("SortitionTreeValueOutOfRange", [value, total]);
    return this.memberAt(this.descend(value).position);
  }

  /** Bias-free draw from a 0x-prefixed 32-byte seed; returns the member and the seed for the next draw. */
  draw(seed: string): { member: string; nextSeed: string } {
    const total = this.totalWeight();
    if (total === 0n) throw new SortitionTreeError("SortitionTreeEmpty", []);
    const { value, nextSeed } = uniform(seed, total);
    return { member: this.memberAt(this.descend(value).position), nextSeed };
  }

  /** k distinct members by sequential sampling without replacement (the library's drawDistinct). */
  drawDistinct(seed: string, k: number | bigint): string[] {
    const count = BigInt(k);
    if (count > this.activeMembers) {
      throw new SortitionTreeError("SortitionTreeCommitteeTooLarge", [count, this.activeMembers]);
    }
    const committee: string[] = [];
    const chosen: { start: bigint; weight: bigint }[] = [];
    let remaining = this.totalWeight();
    let current = seed;
    for (let i = 0n; i < count; i++) {
      const drawn = uniform(current, remaining);
      current = drawn.nextSeed;
      let value = drawn.value;
      for (const interval of chosen) {
        if (value < interval.start) break;
        value += interval.weight;
      }
      const { position, start, weight } = this.descend(value);
      committee.push(this.memberAt(position));
      let t = chosen.length;
      while (t > 0 && chosen[t - 1].start > start) t--;
      chosen.splice(t, 0, { start, weight });
      remaining -= weight;
    }
    return committee;
  }

  private memberAt(position: bigint): string {
    return this.leaves.get(position)!.member!;
  }

  private insert(member: string, weight: bigint): void {
    let position: bigint;
    if (this.freeHead !== 0n) {
      position = this.freeHead - 1n;
      this.freeHead = this.leaves.get(position)!.nextFree;
    } else {
      position = this.leafCount;
      this.leafCount = position + 1n;
      const depth = this.root >> DEPTH_SHIFT;
      if (position === ROOT_FANOUT << (FANOUT_BITS * depth)) this.grow(depth);
    }
    this.leaves.set(position, { member, nextFree: 0n });
    this.records.set(member, { position, weight });
    this.activeMembers += 1n;
    this.addAlongPath(position, weight);
  }

  private remove(member: string, position: bigint, weight: bigint): void {
    this.addAlongPath(position, -weight);
    this.leaves.set(position, { member: null, nextFree: this.freeHead });
    this.freeHead = position + 1n;
    this.records.delete(member);
    this.activeMembers -= 1n;
  }

  private grow(depth: bigint): void {
    const sums = this.root & ROOT_SUMS_MASK;
    const total = sums >> TOTAL_SHIFT;
    const newDepth = depth + 1n;
    this.nodes.set(newDepth << HEIGHT_KEY_SHIFT, sums | (total << DEPTH_SHIFT));
    this.root = total * ONES_7 + (newDepth << DEPTH_SHIFT);
  }

  /** Adds a signed delta to the prefix fields at and after the path's child in every node up to the root. */
  private addAlongPath(position: bigint, delta: bigint): void {
    const depth = this.root >> DEPTH_SHIFT;
    for (let height = 1n; height <= depth; height++) {
      const key = (height << HEIGHT_KEY_SHIFT) | (position >> (FANOUT_BITS * height));
      const child = (position >> (FANOUT_BITS * (height - 1n))) & 7n;
      const step = (ONES_8 >> (FIELD_BITS * child)) << (FIELD_BITS * child);
      this.nodes.set(key, (this.nodes.get(key) ?? 0n) + delta * step);
    }
    const rootChild = position >> (FANOUT_BITS * depth);
    this.root += delta * ((ONES_7 >> (FIELD_BITS * rootChild)) << (FIELD_BITS * rootChild));
  }

  private descend(value: bigint): Descent {
    const depth = this.root >> DEPTH_SHIFT;
    let found = findChild(this.root, value);
    let remainder = value - found.below;
    let position = found.child;
    for (let height = depth; height !== 0n; height--) {
      found = findChild(this.nodes.get((height << HEIGHT_KEY_SHIFT) | position) ?? 0n, remainder);
      remainder -= found.below;
      position = (position << FANOUT_BITS) | found.child;
    }
    return { position, start: value - remainder, weight: found.upTo - found.below };
  }
}

/** Addresses are keyed (and returned) in checksummed form; other ids as given. */
function memberKey(member: string): string {
  return isAddress(member) ? getAddress(member) : member;
}

function checkSeed(seed: string): void {
  if (!isHexString(seed, 32)) throw new RangeError(`seed must be a 0x-prefixed 32-byte hex string, got ${seed}`);
}

function field(node: bigint, index: bigint): bigint {
  return (node >> (FIELD_BITS * index)) & FIELD_MASK;
}

/** The library's 3-step binary search for the first child whose prefix sum exceeds `value`. */
function findChild(node: bigint, value: bigint): { child: bigint; below: bigint; upTo: bigint } {
  let child = 0n;
  if (field(node, 3n) <= value) child = 4n;
  if (field(node, child + 1n) <= value) child += 2n;
  if (field(node, child) <= value) child += 1n;
  return { child, below: child === 0n ? 0n : field(node, child - 1n), upTo: field(node, child) };
}

/** A uniform value in [0, bound) by masking the seed's low bits and rehashing on rejection, and the next seed. */
export function uniform(seed: string, bound: bigint): { value: bigint; nextSeed: string } {
  checkSeed(seed);
  let mask = bound - 1n;
  for (const shift of [1n, 2n, 4n, 8n, 16n]) mask |= mask >> shift;
  let current = seed;
  let value = BigInt(current) & mask;
  while (value >= bound) {
    current = keccak256(current);
    value = BigInt(current) & mask;
  }
  return { value, nextSeed: keccak256(current) };
}

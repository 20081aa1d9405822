/**
 * The chance that each validator sits on a committee of `size`, when members are drawn one after another, each with
 * probability proportional to its weight among those not yet drawn (ValidatorRegistry.drawCommittee). Without
 * replacement a validator's chance is not simply size × share: in a 3-of-3 committee everyone sits with certainty.
 *
 * Exact by dynamic programming over the sets of members drawn so far (2^n sets) up to EXACT_LIMIT validators; above
 * that, a fixed-seed Monte Carlo estimate, so the API's figure is stable between calls.
 */
import { seededRandom } from "../prng";

export const EXACT_LIMIT = 14;
const MONTE_CARLO_DRAWS = 20_000;

export function inclusionProbabilities(weights: readonly number[], size: number): number[] {
  const n = weights.length;
  const positive = weights.map((w) => (w > 0 ? w : 0));
  const eligible = positive.filter((w) => w > 0).length;
  if (size <= 0 || eligible === 0) return positive.map(() => 0);
  if (size >= eligible) return positive.map((w) => (w > 0 ? 1 : 0));
  return n <= EXACT_LIMIT ? exactInclusion(positive, size) : monteCarloInclusion(positive, size);
}

/** Exact inclusion probabilities (2^n work; exported for tests). */
export function exactInclusion(weights: readonly number[], size: number): number[] {
  const n = weights.length;
  const total = weights.reduce((a, b) => a + b, 0);
  // probability[set] = chance that the first |set| draws are exactly `set` (in any order)
  const probability = new Float64Array(1 << n);
  const drawnWeight = new Float64Array(1 << n);
  probability[0] = 1;
  const result = new Array<number>(n).fill(0);
  for (let set = 0; set < 1 << n; set++) {
    const p = probability[set];
    if (p === 0) continue;
    const members = popcount(set);
    if (members === size) {
      for (let i = 0; i < n; i++) if (set & (1 << i)) result[i] += p;
      continue;
    }
    const remaining = total - drawnWeight[set];
    for (let i = 0; i < n; i++) {
      if (set & (1 << i) || weights[i] === 0) continue;
      const next = set | (1 << i);
      probability[next] += (p * weights[i]) / remaining;
      drawnWeight[next] = drawnWeight[set] + weights[i];
    }
  }
  return result;
}

/** Fixed-seed Monte Carlo estimate (exported for tests). */
export function monteCarloInclusion(weights: readonly number[], size: number): number[] {
  const random = seededRandom(0x5eed);
  const counts = new Array<number>(weights.length).fill(0);
  for (let draw = 0; draw < MONTE_CARLO_DRAWS; draw++) {
    const left = [...weights];
    let remaining = left.reduce((a, b) => a + b, 0);
    for (let seat = 0; seat < size; seat++) {
      let target = random() * remaining;
      let chosen = left.findIndex((w) => w > 0);
      for (let i = 0; i < left.length; i++) {
        if (left[i] === 0) continue;
        chosen = i;
        if ((target -= left[i]) < 0) break;
      }
      counts[chosen]++;
      remaining -= left[chosen];
      left[chosen] = 0;
    }
  }
  return counts.map((c) => c / MONTE_CARLO_DRAWS);
}

function popcount(x: number): number {
  let count = 0;
  for (; x; x &= x - 1) count++;
  return count;
}

/**
 * The "wealth vector" both sides share: each participant's hashrate on the PoW side and stake on the PoS side are
 * the same numbers, so a participant's initial share of power is identical in both systems.
 */
import { readFileSync } from "node:fs";
import { Random } from "./random";

export type WealthDistribution = "equal" | "uniform" | "pareto" | "geometric";

export class WealthError extends RangeError {}

export function checkWealth(values: readonly number[]): void {
  if (values.length === 0) throw new WealthError("the miner list is empty");
  values.forEach((v, i) => {
    if (!Number.isFinite(v) || v < 0) throw new WealthError(`hashrate/stake of participant ${i} must be a non-negative number, got ${v}`);
  });
  if (values.every((v) => v === 0)) throw new WealthError("at least one participant needs positive hashrate/stake");
}

/**
 * `count` values from a distribution: equal; uniform on [1, 10]; pareto (α = 1.16, the "80/20" shape);
 * geometric (participant i has half of participant i-1's: a few big pools and a long tail).
 */
export function generateWealth(distribution: WealthDistribution, count: number, seed: string): number[] {
  if (!Number.isInteger(count) || count < 1) throw new WealthError(`the number of miners must be a positive integer, got ${count}`);
  const random = new Random(`wealth:${seed}`);
  switch (distribution) {
    case "equal": return Array.from({ length: count }, () => 1);
    case "uniform": return Array.from({ length: count }, () => 1 + 9 * random.next());
    case "pareto": return Array.from({ length: count }, () => random.pareto(1.16));
    case "geometric": return Array.from({ length: count }, (_, i) => 2 ** -i);
  }
}

/** Values from a file: numbers separated by commas, whitespace or newlines, or a JSON array. */
export function readWealthFile(path: string): number[] {
  const text = readFileSync(path, "utf8").trim();
  const values = text.startsWith("[") ? (JSON.parse(text) as unknown[]).map(Number) : text.split(/[\s,]+/).filter(Boolean).map(Number);
  checkWealth(values);
  return values;
}

export function shares(values: readonly number[]): number[] {
  const total = values.reduce((a, b) => a + b, 0);
  return values.map((v) => v / total);
}

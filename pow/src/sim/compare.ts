/**
 * PoW vs PoS on one wealth vector: Monte Carlo runs of both systems, fairness (Huang et al.), concentration (Gini,
 * Nakamoto), the PoW network's stale rate over a sweep of propagation delays, and the cost of choosing a block
 * producer (hashes per block vs gas per sortition draw).
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { z } from "zod";
import type { FairnessReport } from "../metrics/fairness";
import { fairness } from "../metrics/fairness";
import { gini, nakamotoCoefficient } from "../metrics/inequality";
import type { PosSimResult } from "./posChain";
import { DEFAULT_POS_SIM, simulatePos } from "./posChain";
import type { PowSimResult } from "./powNetwork";
import { DEFAULT_POW_SIM, simulatePow } from "./powNetwork";
import { checkWealth, shares } from "./wealth";

export const CompareConfigSchema = z.object({
  wealth: z.array(z.number()).describe("hashrate (H/s) = stake of each participant"),
  seed: z.string(),
  runs: z.number().int().min(2).describe("Monte Carlo runs per system"),
  blocks: z.number().int().positive().describe("main-chain blocks per PoW run = slots per PoS run"),
  delaySeconds: z.number().nonnegative(),
  delaySweep: z.array(z.number().nonnegative()).min(1).describe("delays for the stale-rate curve"),
  sweepRuns: z.number().int().positive(),
  targetBlockTime: z.number().positive(),
  retargetInterval: z.number().int().min(0),
  selfishMiner: z.number().int().min(0).optional(),
  rewardPerSlot: z.number().positive(),
  epsilon: z.number().positive(),
  delta: z.number().positive().max(1),
}).superRefine((c, ctx) => {
  try {
    checkWealth(c.wealth);
  } catch (error) {
    ctx.addIssue({ code: "custom", path: ["wealth"], message: (error as Error).message });
  }
});
export type CompareConfig = z.infer<typeof CompareConfigSchema>;

export const DEFAULT_COMPARE: Omit<CompareConfig, "wealth" | "seed"> = {
  runs: 20, blocks: 1000, delaySeconds: 2, delaySweep: [0, 2, 10, 30, 60, 120], sweepRuns: 3, targetBlockTime: 600,
  retargetInterval: 144, rewardPerSlot: 0.0005, epsilon: 0.1, delta: 0.1,
};

export interface SystemSummary {
  label: string;
  fairness: FairnessReport;
  /** Mean over runs of the final rewards' Gini and Nakamoto coefficient. */
  rewardGini: number;
  rewardNakamoto: number;
  /** Gini of rewards and the largest participant's reward share over time, first run. */
  overTime: Array<{ step: number; gini: number; largestShare: number }>;
}

export interface CompareResults {
  config: CompareConfig;
  initialShares: number[];
  initialGini: number;
  initialNakamoto: number;
  pow: SystemSummary & {
    staleRate: number;
    meanIntervalSeconds: number;
    intervals: number[];
    hashesPerBlock: number;
    selfish?: { miner: number; hashrateShare: number; meanRewardShare: number };
  };
  posCompounding: SystemSummary & { finalStakeGini: number; finalStakeNakamoto: number };
  posSimple: SystemSummary;
  staleVsDelay: Array<{ delaySeconds: number; staleRate: number; runs: number }>;
  selectionCost: { powHashesPerBlock: number; posGasPerDraw: number; gasSource: string };
}

/**
 * Gas of one sortition draw by tree size, as `npm run bench:tree` measured it (README's "sortition draw" row), for
 * when this checkout has no bench/out figures of its own: the comparison then needs no contract benchmark first.
 */
export const SHIPPED_DRAW_GAS: Readonly<Record<string, number>> = { "1000": 12_466, "10000": 14_952, "100000": 17_403 };

/**
 * Gas of one sortition draw for a tree of about `members` members: from this checkout's contract benchmarks when
 * they ran (bench/out/gas.json, bench/out/gasTree.json), else the shipped figures.
 */
export function readDrawGas(members: number, root = process.cwd()): { gas: number; source: string } {
  for (const file of ["bench/out/gas.json", "bench/out/gasTree.json"]) {
    const full = path.join(root, file);
    if (!existsSync(full)) continue;
    const draw = (JSON.parse(readFileSync(full, "utf8")) as { draw?: unknown }).draw;
    if (typeof draw === "number") return { gas: draw, source: `${file} draw` };
    if (draw && typeof draw === "object") {
      const bySize = nearestSize(draw as Record<string, number>, members);
      if (bySize) return { gas: bySize.gas, source: `${file} draw["${bySize.size}"] (tree of ${bySize.size} members)` };
    }
  }
  const shipped = nearestSize(SHIPPED_DRAW_GAS, members)!;
  return { gas: shipped.gas, source: `shipped figure for a tree of ${shipped.size} members (npm run bench:tree measures it here)` };
}

/** The figure for the smallest size at or above `members` (the largest size when none is). */
function nearestSize(draw: Readonly<Record<string, number>>, members: number): { size: number; gas: number } | undefined {
  const sizes = Object.keys(draw).map(Number).filter(Number.isFinite).sort((a, b) => a - b);
  if (sizes.length === 0) return undefined;
  const size = sizes.find((s) => s >= members) ?? sizes[sizes.length - 1];
  return { size, gas: draw[String(size)] };
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

export function runCompare(input: CompareConfig, onProgress?: (done: number, total: number) => void): CompareResults {
  const config = CompareConfigSchema.parse(input);
  const initialShares = shares(config.wealth);
  const total = config.runs * 3 + config.delaySweep.length * config.sweepRuns;
  let done = 0;
  const tick = () => onProgress?.(++done, total);

  const powRuns: PowSimResult[] = [];
  for (let r = 0; r < config.runs; r++) {
    powRuns.push(simulatePow({
      ...DEFAULT_POW_SIM, hashrates: config.wealth, blocks: config.blocks, delaySeconds: config.delaySeconds,
      targetBlockTime: config.targetBlockTime, retargetInterval: config.retargetInterval, selfishMiner: config.selfishMiner,
      seed: `${config.seed}:pow:${r}`,
    }));
    tick();
  }
  const posRuns = (compounding: boolean): PosSimResult[] => Array.from({ length: config.runs }, (_, r) => {
    const result = simulatePos({ ...DEFAULT_POS_SIM, stakes: config.wealth, slots: config.blocks, rewardPerSlot: config.rewardPerSlot, compounding, seed: `${config.seed}:pos:${r}` });
    tick();
    return result;
  });
  const compounding = posRuns(true);
  const simple = posRuns(false);

  const staleVsDelay = config.delaySweep.map((delaySeconds) => {
    const rates = Array.from({ length: config.sweepRuns }, (_, r) => {
      const result = simulatePow({
        ...DEFAULT_POW_SIM, hashrates: config.wealth, blocks: config.blocks, delaySeconds, targetBlockTime: config.targetBlockTime,
        retargetInterval: config.retargetInterval, seed: `${config.seed}:sweep:${delaySeconds}:${r}`,
      });
      tick();
      return result.staleRate;
    });
    return { delaySeconds, staleRate: mean(rates), runs: config.sweepRuns };
  });

  const summarize = (label: string, rewardShares: number[][], overTime: SystemSummary["overTime"]): SystemSummary => ({
    label,
    fairness: fairness(initialShares, rewardShares, config.epsilon, config.delta),
    rewardGini: mean(rewardShares.map((s) => gini(s))),
    rewardNakamoto: mean(rewardShares.map((s) => nakamotoCoefficient(s))),
    overTime,
  });
  const gas = readDrawGas(config.wealth.length);
  const powHashesPerBlock = mean(powRuns.map((r) => r.hashesPerMainChainBlock));
  const selfishShares = config.selfishMiner === undefined ? undefined : powRuns.map((r) => r.selfish!.rewardShare);

  return {
    config, initialShares, initialGini: gini(config.wealth), initialNakamoto: nakamotoCoefficient(config.wealth),
    pow: {
      ...summarize("PoW", powRuns.map((r) => r.miners.map((m) => m.rewardShare)), powRuns[0].overTime),
      staleRate: mean(powRuns.map((r) => r.staleRate)),
      meanIntervalSeconds: mean(powRuns.map((r) => r.meanIntervalSeconds)),
      intervals: powRuns[0].intervals,
      hashesPerBlock: powHashesPerBlock,
      ...(selfishShares ? { selfish: { miner: config.selfishMiner!, hashrateShare: initialShares[config.selfishMiner!], meanRewardShare: mean(selfishShares) } } : {}),
    },
    posCompounding: {
      ...summarize("PoS (compounding)", compounding.map((r) => r.validators.map((v) => v.rewardShare)), compounding[0].overTime),
      finalStakeGini: mean(compounding.map((r) => gini(r.validators.map((v) => v.finalStakeShare)))),
      finalStakeNakamoto: mean(compounding.map((r) => nakamotoCoefficient(r.validators.map((v) => v.finalStakeShare)))),
    },
    posSimple: summarize("PoS (non-compounding)", simple.map((r) => r.validators.map((v) => v.rewardShare)), simple[0].overTime),
    staleVsDelay,
    selectionCost: { powHashesPerBlock, posGasPerDraw: gas.gas, gasSource: gas.source },
  };
}

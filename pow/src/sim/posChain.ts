/**
 * Proof-of-stake side on the same wealth vector: each slot's proposer is drawn with P = stake / total stake by the
 * TypeScript port of the contracts' sortition tree (same tree, same seed → same validator as the Solidity library),
 * the seed chained from draw to draw as the contracts do. Rewards either compound into stake or are paid aside.
 */
import { z } from "zod";
import { gini } from "../metrics/inequality";
import { MAX_TOTAL_WEIGHT, SortitionTree } from "../pos/sortitionTree";
import { bytes32Seed } from "./random";
import { checkWealth } from "./wealth";

/** Initial total stake in tree units: 2^30 leaves room for the total to quadruple within the tree's 32-bit sums. */
export const DEFAULT_STAKE_UNITS = 2 ** 30;

export const PosSimConfigSchema = z.object({
  stakes: z.array(z.number()).describe("stake of each validator (any unit; rescaled to integer tree weights)"),
  slots: z.number().int().positive().describe("number of block-proposal slots"),
  rewardPerSlot: z.number().positive().describe("reward per slot as a fraction of the initial total stake"),
  compounding: z.boolean().describe("rewards are added to the proposer's stake (true) or paid aside (false)"),
  seed: z.string(),
  checkpoints: z.number().int().positive(),
  stakeUnits: z.number().int().positive().describe("initial total stake in integer tree units"),
}).superRefine((c, ctx) => {
  try {
    checkWealth(c.stakes);
  } catch (error) {
    ctx.addIssue({ code: "custom", path: ["stakes"], message: (error as Error).message });
  }
  const finalTotal = c.stakeUnits * (1 + (c.compounding ? c.slots * c.rewardPerSlot : 0));
  if (finalTotal > Number(MAX_TOTAL_WEIGHT)) {
    ctx.addIssue({ code: "custom", path: ["rewardPerSlot"], message: `stake would grow to ${finalTotal} units, above the tree's limit ${MAX_TOTAL_WEIGHT}: lower rewardPerSlot × slots` });
  }
});
export type PosSimConfig = z.infer<typeof PosSimConfigSchema>;

export const DEFAULT_POS_SIM: Omit<PosSimConfig, "stakes" | "seed"> = {
  slots: 2000, rewardPerSlot: 0.0005, compounding: true, checkpoints: 50, stakeUnits: DEFAULT_STAKE_UNITS,
};

export interface PosSimResult {
  kind: "pos";
  seed: string;
  compounding: boolean;
  validators: Array<{ stake: number; initialShare: number; slotsWon: number; rewardShare: number; finalStakeShare: number }>;
  slots: number;
  /** Along the slots: Gini of the rewards paid so far and of the stakes, and the reward share so far of the largest validator. */
  overTime: Array<{ step: number; gini: number; stakeGini: number; largestShare: number }>;
  /** Draws per slot: one tree draw (the cost the PoS side pays instead of hashing). */
  drawsPerSlot: number;
}

export function simulatePos(input: PosSimConfig, onProgress?: (slot: number) => void): PosSimResult {
  const config = PosSimConfigSchema.parse(input);
  const total = config.stakes.reduce((a, b) => a + b, 0);
  const ids = config.stakes.map((_, i) => `validator-${i}`);
  const tree = new SortitionTree();
  const weights = config.stakes.map((s) => BigInt(Math.round((s / total) * config.stakeUnits)));
  ids.forEach((id, i) => {
    if (weights[i] > 0n) tree.set(id, weights[i]);
  });
  const indexOf = new Map(ids.map((id, i) => [id, i]));
  const reward = BigInt(Math.max(1, Math.round(config.rewardPerSlot * config.stakeUnits)));
  const rewards = ids.map(() => 0);
  const won = ids.map(() => 0);
  const overTime: PosSimResult["overTime"] = [];
  const largest = config.stakes.indexOf(Math.max(...config.stakes));
  const every = Math.max(1, Math.floor(config.slots / config.checkpoints));
  let seed = bytes32Seed(config.seed);
  for (let slot = 1; slot <= config.slots; slot++) {
    const draw = tree.draw(seed);
    seed = draw.nextSeed;
    const i = indexOf.get(draw.member)!;
    won[i]++;
    rewards[i] += Number(reward);
    if (config.compounding) tree.set(draw.member, tree.weightOf(draw.member) + reward);
    if (slot % every === 0 || slot === config.slots) {
      overTime.push({ step: slot, gini: gini(rewards), stakeGini: gini(ids.map((id) => Number(tree.weightOf(id)))), largestShare: won[largest] / slot });
      onProgress?.(slot);
    }
  }
  const finalTotal = Number(tree.totalWeight());
  return {
    kind: "pos", seed: config.seed, compounding: config.compounding, slots: config.slots, drawsPerSlot: 1, overTime,
    validators: config.stakes.map((stake, i) => ({
      stake, initialShare: Number(weights[i]) / config.stakeUnits, slotsWon: won[i], rewardShare: won[i] / config.slots,
      finalStakeShare: Number(tree.weightOf(ids[i])) / finalTotal,
    })),
  };
}

import { z } from "zod";
import { MAX_LEADING_ZERO_BITS, MIN_LEADING_ZERO_BITS } from "./target";

/** How a toy chain sets its difficulty. */
export const ChainConfigSchema = z.object({
  difficultyBits: z.number().int().min(MIN_LEADING_ZERO_BITS).max(MAX_LEADING_ZERO_BITS)
    .describe("initial difficulty k: a block hash needs k leading zero bits (W = 2^k tries on average)"),
  retargetInterval: z.number().int().min(0)
    .describe("retarget every N blocks toward targetBlockTime; 0 keeps the difficulty fixed"),
  targetBlockTime: z.number().positive().describe("desired seconds between blocks"),
  maxAdjustmentFactor: z.number().min(1).describe("largest change of the target in one retarget (Bitcoin: 4)"),
  minDifficultyBits: z.number().int().min(0).max(MAX_LEADING_ZERO_BITS)
    .describe("easiest allowed difficulty (the pow limit), in leading zero bits"),
  maxFutureSeconds: z.number().int().min(0).describe("how far a block's timestamp may be ahead of the clock"),
  blockReward: z.number().positive().describe("coinbase amount paid to the miner of each block"),
}).refine((c) => c.retargetInterval !== 1, { message: "retargetInterval must be 0 (off) or at least 2", path: ["retargetInterval"] })
  .refine((c) => c.minDifficultyBits <= c.difficultyBits, { message: "minDifficultyBits must not exceed difficultyBits", path: ["minDifficultyBits"] });
export type ChainConfig = z.infer<typeof ChainConfigSchema>;

export const DEFAULT_CHAIN_CONFIG: ChainConfig = {
  difficultyBits: 16,
  retargetInterval: 0,
  targetBlockTime: 600,
  maxAdjustmentFactor: 4,
  minDifficultyBits: 1,
  maxFutureSeconds: 2 * 60 * 60,
  blockReward: 50,
};

export function chainConfig(overrides: Partial<ChainConfig> = {}): ChainConfig {
  return ChainConfigSchema.parse({ ...DEFAULT_CHAIN_CONFIG, ...overrides });
}

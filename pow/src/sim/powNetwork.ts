/**
 * Discrete-event simulation of a proof-of-work network. No hashing: block discovery is a race of exponential clocks,
 * miner i finding a block on its current tip at rate h_i / W, W = 2^256 / (target + 1) expected hashes, which is the
 * law real mining follows. Because the clocks are memoryless, the simulator can redraw the next discovery after every
 * event. Blocks reach the other miners after a propagation delay; a miner switches to a received block when it carries
 * more chain work (ties: first seen wins), so forks happen and their losers become stale. The target retargets every
 * N blocks along each branch. One miner may follow the Eyal-Sirer selfish-mining strategy.
 */
import { z } from "zod";
import { MAX_TARGET, retarget, targetFromLeadingZeroBits } from "../chain/target";
import { gini } from "../metrics/inequality";
import { EventQueue } from "./eventQueue";
import { Random } from "./random";
import { checkWealth } from "./wealth";

export const PowSimConfigSchema = z.object({
  hashrates: z.array(z.number()).describe("hashes per second of each miner"),
  blocks: z.number().int().positive().describe("stop when the best chain has this many blocks after genesis"),
  delaySeconds: z.number().nonnegative().describe("mean propagation delay from a miner to each other miner"),
  delayModel: z.enum(["fixed", "exponential"]).describe("every message takes the mean delay, or an exponential draw with that mean"),
  targetBlockTime: z.number().positive().describe("seconds between blocks the retarget aims for"),
  difficultyBits: z.number().int().min(0).max(255).optional()
    .describe("initial difficulty k (W = 2^k); default: the target that gives targetBlockTime at the total hashrate"),
  retargetInterval: z.number().int().min(0).refine((n) => n !== 1, "retargetInterval must be 0 (off) or at least 2")
    .describe("blocks per retarget period, 0 = fixed difficulty"),
  maxAdjustmentFactor: z.number().min(1),
  selfishMiner: z.number().int().min(0).optional().describe("index of a miner that mines selfishly (Eyal-Sirer)"),
  seed: z.string(),
  checkpoints: z.number().int().positive().describe("how many points the over-time series keep"),
}).superRefine((c, ctx) => {
  try {
    checkWealth(c.hashrates);
  } catch (error) {
    ctx.addIssue({ code: "custom", path: ["hashrates"], message: (error as Error).message });
  }
  if (c.selfishMiner !== undefined && c.selfishMiner >= c.hashrates.length) {
    ctx.addIssue({ code: "custom", path: ["selfishMiner"], message: `selfish miner ${c.selfishMiner} does not exist (${c.hashrates.length} miners)` });
  }
});
export type PowSimConfig = z.infer<typeof PowSimConfigSchema>;

export const DEFAULT_POW_SIM: Omit<PowSimConfig, "hashrates" | "seed"> = {
  blocks: 2000, delaySeconds: 2, delayModel: "fixed", targetBlockTime: 600, retargetInterval: 2016,
  maxAdjustmentFactor: 4, checkpoints: 50,
};

interface SimBlock {
  parent: number;
  height: number;
  miner: number;
  time: number;
  target: bigint;
  chainWork: number;
}

export interface PowSimResult {
  kind: "pow";
  seed: string;
  miners: Array<{ hashrate: number; initialShare: number; blocksMined: number; mainChainBlocks: number; rewardShare: number }>;
  mainChainBlocks: number;
  blocksFound: number;
  staleBlocks: number;
  staleRate: number;
  durationSeconds: number;
  meanIntervalSeconds: number;
  /** Seconds between consecutive main-chain blocks. */
  intervals: number[];
  /** Expected block time at the main chain's difficulty, per retarget period. */
  difficulty: Array<{ height: number; time: number; expectedBlockTime: number; expectedHashes: number }>;
  /** Along the main chain: Gini of the rewards paid so far, and the reward share so far of the largest miner. */
  overTime: Array<{ step: number; gini: number; largestShare: number }>;
  /** All hashes computed by all miners over the run (energy proxy). */
  totalHashes: number;
  hashesPerMainChainBlock: number;
  selfish?: { miner: number; hashrateShare: number; rewardShare: number };
}

const expectedHashes = (target: bigint) => 2 ** 256 / (Number(target) + 1);

export function simulatePow(input: PowSimConfig, onProgress?: (height: number) => void): PowSimResult {
  const config = PowSimConfigSchema.parse(input);
  return new PowNetwork(config).run(onProgress);
}

class PowNetwork {
  private readonly random: Random;
  private readonly blocks: SimBlock[];
  private readonly tips: number[];
  private readonly rates: number[];
  private readonly queue = new EventQueue<{ miner: number; block: number }>();
  private readonly selfish?: number;
  /** The selfish miner's blocks not yet published, oldest first. */
  private privateBlocks: number[] = [];
  private racing = false;
  private now = 0;
  private bestBlock = 0;

  constructor(private readonly config: PowSimConfig) {
    this.random = new Random(config.seed);
    const total = config.hashrates.reduce((a, b) => a + b, 0);
    const target = config.difficultyBits !== undefined
      ? targetFromLeadingZeroBits(config.difficultyBits)
      : BigInt(Math.max(1, Math.floor(2 ** 256 / (total * config.targetBlockTime)))) - 1n;
    this.blocks = [{ parent: -1, height: 0, miner: -1, time: 0, target, chainWork: 0 }];
    this.tips = config.hashrates.map(() => 0);
    this.rates = config.hashrates.map(() => 0);
    this.selfish = config.selfishMiner;
    config.hashrates.forEach((_, i) => this.updateRate(i));
  }

  run(onProgress?: (height: number) => void): PowSimResult {
    const { blocks } = this.config;
    let lastReported = 0;
    while (this.blocks[this.bestBlock].height < blocks) {
      const totalRate = this.rates.reduce((a, b) => a + b, 0);
      const discovery = this.now + this.random.exponential(totalRate);
      if (this.queue.peekTime() <= discovery) {
        const { time, event } = this.queue.pop()!;
        this.now = time;
        this.receive(event.miner, event.block);
        continue;
      }
      this.now = discovery;
      this.discover(this.random.weightedIndex(this.rates, totalRate));
      const height = this.blocks[this.bestBlock].height;
      if (onProgress && height !== lastReported) onProgress((lastReported = height));
    }
    // Let the last messages land so the final forks are settled the way the network would settle them.
    for (let event = this.queue.pop(); event; event = this.queue.pop()) {
      this.now = event.time;
      this.receive(event.event.miner, event.event.block);
    }
    return this.summarize();
  }

  private nextTarget(parentId: number): bigint {
    const parent = this.blocks[parentId];
    const interval = this.config.retargetInterval;
    if (interval === 0 || (parent.height + 1) % interval !== 0) return parent.target;
    let first = parent;
    for (let i = 0; i < interval - 1; i++) first = this.blocks[first.parent];
    const expected = (interval - 1) * this.config.targetBlockTime;
    return retarget(parent.target, parent.time - first.time, expected, this.config.maxAdjustmentFactor, MAX_TARGET);
  }

  private updateRate(miner: number): void {
    this.rates[miner] = this.config.hashrates[miner] / expectedHashes(this.nextTarget(this.tips[miner]));
  }

  private discover(miner: number): void {
    const parentId = this.tips[miner];
    const parent = this.blocks[parentId];
    const target = this.nextTarget(parentId);
    const id = this.blocks.length;
    this.blocks.push({ parent: parentId, height: parent.height + 1, miner, time: this.now, target, chainWork: parent.chainWork + expectedHashes(target) });
    if (this.blocks[id].chainWork > this.blocks[this.bestBlock].chainWork) this.bestBlock = id;
    this.tips[miner] = id;
    this.updateRate(miner);
    if (miner !== this.selfish) {
      this.broadcast(miner, id);
    } else if (this.racing) {
      // Eyal-Sirer state 0': the pool extends its own branch during a tie and publishes at once, winning the race.
      this.racing = false;
      this.broadcast(miner, id);
    } else {
      this.privateBlocks.push(id);
    }
  }

  private broadcast(from: number, block: number): void {
    const { delaySeconds, delayModel } = this.config;
    for (let to = 0; to < this.tips.length; to++) {
      if (to === from) continue;
      const delay = delayModel === "fixed" || delaySeconds === 0 ? delaySeconds : this.random.exponential(1 / delaySeconds);
      this.queue.push(this.now + delay, { miner: to, block });
    }
  }

  private receive(miner: number, blockId: number): void {
    const block = this.blocks[blockId];
    if (miner === this.selfish) return this.selfishReceives(miner, blockId);
    if (block.chainWork > this.blocks[this.tips[miner]].chainWork) {
      this.tips[miner] = blockId;
      this.updateRate(miner);
    }
  }

  /** Eyal & Sirer, "Majority is not enough" (2014), Algorithm 1, driven by block arrivals. */
  private selfishReceives(miner: number, blockId: number): void {
    const block = this.blocks[blockId];
    if (block.miner === miner) return;
    const tip = this.blocks[this.tips[miner]];
    if (this.privateBlocks.length === 0) {
      if (block.chainWork > tip.chainWork) {
        this.tips[miner] = blockId;
        this.racing = false;
        this.updateRate(miner);
      }
      return;
    }
    const lead = tip.height - block.height;
    if (lead < 0) {
      // The honest chain overtook the private one: give up and mine on the public tip.
      this.privateBlocks = [];
      this.racing = false;
      this.tips[miner] = blockId;
      this.updateRate(miner);
    } else if (lead === 0) {
      // Lead was 1: publish the last private block and race.
      this.publishUpTo(miner, block.height);
      this.racing = true;
    } else if (lead === 1) {
      // Lead was 2: publish everything, the private branch wins.
      this.publishUpTo(miner, tip.height);
    } else {
      // Comfortable lead: reveal just enough to keep honest miners wasting work on a losing branch.
      this.publishUpTo(miner, block.height);
    }
  }

  private publishUpTo(miner: number, height: number): void {
    while (this.privateBlocks.length > 0 && this.blocks[this.privateBlocks[0]].height <= height) {
      this.broadcast(miner, this.privateBlocks.shift()!);
    }
  }

  private summarize(): PowSimResult {
    const { hashrates, checkpoints } = this.config;
    const best = this.blocks.reduce((bestId, b, id) => (b.chainWork > this.blocks[bestId].chainWork ? id : bestId), 0);
    const main: number[] = [];
    for (let id = best; id > 0; id = this.blocks[id].parent) main.push(id);
    main.reverse();
    const totalHashrate = hashrates.reduce((a, b) => a + b, 0);
    const minedBy = hashrates.map(() => 0);
    for (const b of this.blocks.slice(1)) minedBy[b.miner]++;
    const rewards = hashrates.map(() => 0);
    const overTime: PowSimResult["overTime"] = [];
    const largest = hashrates.indexOf(Math.max(...hashrates));
    const every = Math.max(1, Math.floor(main.length / checkpoints));
    const intervals: number[] = [];
    const difficulty: PowSimResult["difficulty"] = [];
    main.forEach((id, i) => {
      const block = this.blocks[id];
      rewards[block.miner]++;
      intervals.push(block.time - this.blocks[block.parent].time);
      if (i === 0 || block.target !== this.blocks[block.parent].target) {
        const hashes = expectedHashes(block.target);
        difficulty.push({ height: block.height, time: block.time, expectedBlockTime: hashes / totalHashrate, expectedHashes: hashes });
      }
      if ((i + 1) % every === 0 || i === main.length - 1) overTime.push({ step: i + 1, gini: gini(rewards), largestShare: rewards[largest] / (i + 1) });
    });
    const mainChainBlocks = main.length;
    const blocksFound = this.blocks.length - 1;
    const durationSeconds = this.now;
    const totalHashes = totalHashrate * durationSeconds;
    const miners = hashrates.map((hashrate, i) => ({
      hashrate, initialShare: hashrate / totalHashrate, blocksMined: minedBy[i], mainChainBlocks: rewards[i],
      rewardShare: mainChainBlocks > 0 ? rewards[i] / mainChainBlocks : 0,
    }));
    const last = mainChainBlocks > 0 ? this.blocks[main[main.length - 1]].time : 0;
    return {
      kind: "pow", seed: this.config.seed, miners, mainChainBlocks, blocksFound,
      staleBlocks: blocksFound - mainChainBlocks, staleRate: blocksFound > 0 ? (blocksFound - mainChainBlocks) / blocksFound : 0,
      durationSeconds, meanIntervalSeconds: mainChainBlocks > 0 ? last / mainChainBlocks : 0, intervals, difficulty, overTime,
      totalHashes, hashesPerMainChainBlock: mainChainBlocks > 0 ? totalHashes / mainChainBlocks : 0,
      ...(this.selfish === undefined ? {} : { selfish: { miner: this.selfish, hashrateShare: miners[this.selfish].initialShare, rewardShare: miners[this.selfish].rewardShare } }),
    };
  }
}

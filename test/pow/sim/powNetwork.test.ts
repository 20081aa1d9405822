import { expect } from "chai";
import type { PowSimConfig } from "../../../pow/src/sim/powNetwork";
import { DEFAULT_POW_SIM, simulatePow } from "../../../pow/src/sim/powNetwork";

const HASHRATES = [1, 2, 3, 4, 10].map((x) => x * 1e12);
const base = (overrides: Partial<PowSimConfig> = {}): PowSimConfig => ({
  ...DEFAULT_POW_SIM, hashrates: HASHRATES, seed: "test", retargetInterval: 0, delaySeconds: 0, ...overrides,
});

describe("pow/sim/powNetwork", () => {
  it("is reproducible: the same seed gives the same run, another seed another run", () => {
    const a = simulatePow(base({ blocks: 500, delaySeconds: 20 }));
    const b = simulatePow(base({ blocks: 500, delaySeconds: 20 }));
    const c = simulatePow(base({ blocks: 500, delaySeconds: 20, seed: "other" }));
    expect(a).to.deep.equal(b);
    expect(c.intervals).to.not.deep.equal(a.intervals);
  });

  it("converges: over 20 000 blocks each miner's block share is within 4σ of its hashrate share (σ = √(a(1−a)/n))", () => {
    const n = 20_000;
    const result = simulatePow(base({ blocks: n }));
    expect(result.mainChainBlocks).to.equal(n);
    expect(result.overTime.at(-1)).to.deep.include({ step: n, largestShare: result.miners[4].rewardShare });
    for (const miner of result.miners) {
      const sigma = Math.sqrt((miner.initialShare * (1 - miner.initialShare)) / n);
      expect(Math.abs(miner.rewardShare - miner.initialShare)).to.be.below(4 * sigma);
    }
  });

  it("draws exponential block times: mean ≈ target time and standard deviation ≈ mean", () => {
    const { intervals } = simulatePow(base({ blocks: 10_000 }));
    const mean = intervals.reduce((a, b) => a + b, 0) / intervals.length;
    const sd = Math.sqrt(intervals.reduce((a, b) => a + (b - mean) ** 2, 0) / intervals.length);
    expect(mean).to.be.within(570, 630);
    expect(sd / mean).to.be.within(0.93, 1.07);
  });

  it("has no stale blocks without delay, and a stale rate that grows with the delay", () => {
    const rates = [0, 5, 30, 120].map((delaySeconds) => simulatePow(base({ blocks: 5000, delaySeconds })).staleRate);
    expect(rates[0]).to.equal(0);
    for (let i = 1; i < rates.length; i++) expect(rates[i]).to.be.greaterThan(rates[i - 1]);
    // First-order theory: a block goes stale when a competitor appears within the delay, ≈ d / T.
    expect(rates[3]).to.be.within(0.1, 0.3);
  });

  it("retargets a far too easy initial difficulty toward the target block time", () => {
    // k chosen so the first blocks come about every 600 / 16 s at 2·10^13 H/s.
    const result = simulatePow(base({ blocks: 1200, retargetInterval: 100, difficultyBits: 49 }));
    expect(result.difficulty[0].expectedBlockTime).to.be.below(60);
    const last = result.intervals.slice(-500);
    expect(last.reduce((a, b) => a + b, 0) / last.length).to.be.within(480, 720);
    expect(result.difficulty.length).to.be.greaterThan(3);
  });

  it("pays a selfish miner more than its share above 1/3 of the hashrate and less below (Eyal-Sirer, γ ≈ 0)", () => {
    const honest = (alpha: number) => Array.from({ length: 10 }, () => (1 - alpha) / 10);
    const strong = simulatePow(base({ hashrates: [0.4, ...honest(0.4)], selfishMiner: 0, blocks: 10_000, delaySeconds: 1 }));
    const weak = simulatePow(base({ hashrates: [0.2, ...honest(0.2)], selfishMiner: 0, blocks: 10_000, delaySeconds: 1 }));
    expect(strong.selfish!.rewardShare).to.be.above(0.44); // theory: 0.484
    expect(weak.selfish!.rewardShare).to.be.below(0.19); // theory: 0.15
    expect(strong.staleRate).to.be.above(0.2);
  });

  it("rejects negative hashrates, an empty miner list and a missing selfish miner", () => {
    expect(() => simulatePow(base({ hashrates: [1, -1] }))).to.throw(/non-negative/);
    expect(() => simulatePow(base({ hashrates: [] }))).to.throw(/empty/);
    expect(() => simulatePow(base({ selfishMiner: 9 }))).to.throw(/does not exist/);
  });
});

import { expect } from "chai";
import type { PosSimConfig } from "../../../pow/src/sim/posChain";
import { DEFAULT_POS_SIM, simulatePos } from "../../../pow/src/sim/posChain";

const base = (overrides: Partial<PosSimConfig> = {}): PosSimConfig => ({ ...DEFAULT_POS_SIM, stakes: [1, 1, 2], seed: "test", slots: 300, ...overrides });

describe("pow/sim/posChain", () => {
  it("is reproducible by seed", () => {
    expect(simulatePos(base())).to.deep.equal(simulatePos(base()));
    expect(simulatePos(base({ seed: "other" })).validators.map((v) => v.slotsWon)).to.not.deep.equal(simulatePos(base()).validators.map((v) => v.slotsWon));
  });

  it("picks proposers with P = stake / total stake (2000 slots, within 4σ)", () => {
    const result = simulatePos(base({ slots: 2000, compounding: false }));
    expect(result.validators.map((v) => v.initialShare)).to.deep.equal([0.25, 0.25, 0.5]);
    for (const v of result.validators) {
      expect(Math.abs(v.rewardShare - v.initialShare)).to.be.below(4 * Math.sqrt((v.initialShare * (1 - v.initialShare)) / 2000));
    }
  });

  it("compounds rewards into stake, or leaves stake untouched when not compounding", () => {
    const compounding = simulatePos(base({ compounding: true }));
    const simple = simulatePos(base({ compounding: false }));
    expect(simple.validators.map((v) => v.finalStakeShare)).to.deep.equal([0.25, 0.25, 0.5]);
    const grew = compounding.validators.map((v) => v.finalStakeShare);
    expect(grew).to.not.deep.equal([0.25, 0.25, 0.5]);
    expect(grew.reduce((a, b) => a + b, 0)).to.be.closeTo(1, 1e-9);
    expect(compounding.overTime.at(-1)!.step).to.equal(300);
  });

  it("refuses a reward schedule that would overflow the tree's 32-bit total", () => {
    expect(() => simulatePos(base({ slots: 10_000, rewardPerSlot: 0.01 }))).to.throw(/above the tree's limit/);
  });
});

import { expect } from "chai";
import { fairness } from "../../../pow/src/metrics/fairness";
import { gini, nakamotoCoefficient } from "../../../pow/src/metrics/inequality";

describe("pow/metrics", () => {
  it("computes the Gini coefficient: 0 for equality, (n−1)/n when one holds all", () => {
    expect(gini([5, 5, 5, 5])).to.equal(0);
    expect(gini([0, 0, 0, 1])).to.be.closeTo(0.75, 1e-12);
    expect(gini([1, 2, 3, 4])).to.be.closeTo(0.25, 1e-12);
    expect(gini([])).to.equal(0);
  });

  it("computes the Nakamoto coefficient: fewest holders of more than half", () => {
    expect(nakamotoCoefficient([51, 49])).to.equal(1);
    expect(nakamotoCoefficient([50, 30, 20])).to.equal(2);
    expect(nakamotoCoefficient([1, 1, 1, 1, 1])).to.equal(3);
  });

  it("estimates expectational and (ε, δ)-fairness over runs (Huang et al.)", () => {
    const a = [0.5, 0.5];
    const runs = [[0.5, 0.5], [0.6, 0.4], [0.4, 0.6], [0.52, 0.48]];
    const report = fairness(a, runs, 0.1, 0.25);
    const [first] = report.participants;
    expect(first.expectationalRatio).to.be.closeTo(1.01, 1e-12);
    expect(first.deltaAtEpsilon).to.equal(0.5); // 0.6 and 0.4 are 20 % off, outside ±10 %
    expect(first.robustlyFair).to.equal(false);
    expect(first.epsilonAtDelta).to.be.closeTo(0.2, 1e-12);
    expect(report.worstExpectationalDeviation).to.be.closeTo(0.01, 1e-12);
    expect(fairness(a, [[0.5, 0.5], [0.5, 0.5]], 0.1, 0.1).robustlyFairCount).to.equal(2);
  });
});

import { expect } from "chai";
import { EXACT_LIMIT, exactInclusion, inclusionProbabilities, monteCarloInclusion } from "../../../oracle/src/http/selectionOdds";

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

describe("committee inclusion probabilities", () => {
  it("equals the stake share for committees of one", () => {
    const p = inclusionProbabilities([2, 3, 5], 1);
    [0.2, 0.3, 0.5].forEach((share, i) => expect(p[i]).to.be.closeTo(share, 1e-12));
  });

  it("is certain for everyone when the committee takes all eligible validators, and zero without weight", () => {
    expect(inclusionProbabilities([2, 3, 5], 3)).to.deep.equal([1, 1, 1]);
    expect(inclusionProbabilities([2, 0, 5], 2)).to.deep.equal([1, 0, 1]);
    expect(inclusionProbabilities([2, 3], 0)).to.deep.equal([0, 0]);
  });

  it("matches the hand-computed two-of-three draw without replacement", () => {
    // P(A in 2 of {A:2, B:3, C:5}) = 0.2 + 0.3·2/7 + 0.5·2/5
    const p = inclusionProbabilities([2, 3, 5], 2);
    expect(p[0]).to.be.closeTo(0.2 + (0.3 * 2) / 7 + (0.5 * 2) / 5, 1e-12);
    expect(sum(p)).to.be.closeTo(2, 1e-12);
    // Small stakes sit more often than size × share, large ones less.
    expect(p[0]).to.be.greaterThan(2 * 0.2);
    expect(p[2]).to.be.lessThan(2 * 0.5);
  });

  it("estimates by a fixed-seed Monte Carlo within 0.02 of the exact value, the same on every call", () => {
    const weights = [1, 2, 3, 5, 8, 13, 21, 34];
    const exact = exactInclusion(weights, 3);
    const estimate = monteCarloInclusion(weights, 3);
    expect(monteCarloInclusion(weights, 3)).to.deep.equal(estimate);
    estimate.forEach((p, i) => expect(p, `validator ${i}`).to.be.closeTo(exact[i], 0.02));
    expect(sum(estimate)).to.be.closeTo(3, 1e-9);
  });

  it("switches to the estimate above the exact limit", () => {
    const weights = Array.from({ length: EXACT_LIMIT + 1 }, (_, i) => i + 1);
    expect(inclusionProbabilities(weights, 2)).to.deep.equal(monteCarloInclusion(weights, 2));
  });
});

import { expect } from "chai";
import { NonRetryableError } from "../../../oracle/src/errors";
import { argmax, TokenSampler } from "../../../oracle/src/inference/sampling";

const LOGITS = Float32Array.of(1, 3, 0.5, 3, 2.9, -1, 0);

function draws(sampler: TokenSampler, n: number): number[] {
  return Array.from({ length: n }, () => sampler.next(LOGITS, 0, LOGITS.length));
}

describe("inference/sampling", function () {
  it("argmax picks the lowest index among equal maxima", function () {
    expect(argmax(LOGITS, 0, LOGITS.length)).to.equal(1);
    expect(argmax(LOGITS, 2, 3)).to.equal(1); // row [0.5, 3, 2.9] inside the buffer
  });

  it("draws the same sequence for the same seed and another for another seed", function () {
    const a = draws(new TokenSampler({ temperature: 1, seed: 99 }), 50);
    expect(draws(new TokenSampler({ temperature: 1, seed: 99 }), 50)).to.deep.equal(a);
    expect(draws(new TokenSampler({ temperature: 1, seed: 100 }), 50)).to.not.deep.equal(a);
    expect(new Set(a).size).to.be.greaterThan(2);
  });

  it("keeps only the top-k tokens and the top-p nucleus", function () {
    expect(new Set(draws(new TokenSampler({ temperature: 1, topK: 1, seed: 1 }), 30))).to.deep.equal(new Set([1]));
    expect(new Set(draws(new TokenSampler({ temperature: 5, topK: 2, seed: 1 }), 60))).to.deep.equal(new Set([1, 3]));
    // softmax of the three largest (3, 3, 2.9) already holds > 50 %: top-p 0.5 keeps ids 1 and 3 only
    expect(new Set(draws(new TokenSampler({ temperature: 1, topP: 0.5, seed: 3 }), 60))).to.deep.equal(new Set([1, 3]));
  });

  it("approaches greedy as temperature goes to zero", function () {
    expect(new Set(draws(new TokenSampler({ temperature: 1e-4, seed: 5 }), 30))).to.deep.equal(new Set([1, 3]));
  });

  it("rejects invalid options with a NonRetryableError naming the field", function () {
    expect(() => new TokenSampler({ temperature: Number.NaN, seed: 1 })).to.throw(NonRetryableError, "sampling.temperature");
    expect(() => new TokenSampler({ temperature: 1, seed: 1.5 })).to.throw(NonRetryableError, "sampling.seed");
    expect(() => new TokenSampler({ temperature: 1, seed: 1, topK: 2.5 })).to.throw(NonRetryableError, "sampling.topK");
    expect(() => new TokenSampler({ temperature: 1, seed: 1, topP: 0 })).to.throw(NonRetryableError, "sampling.topP");
  });
});

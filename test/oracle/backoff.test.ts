import { expect } from "chai";
import { backoffDelayMs } from "../../oracle/src/backoff";

describe("backoff", function () {
  it("doubles from the base per attempt and stops at the cap", function () {
    const policy = { baseMs: 100, capMs: 1_000 };
    expect([0, 1, 2, 3, 4, 5, 50].map((attempt) => backoffDelayMs(policy, attempt))).to.deep.equal([100, 100, 200, 400, 800, 1_000, 1_000]);
  });

  it("spreads a jittered delay over half to all of it", function () {
    const policy = { baseMs: 100, capMs: 1_000, jitter: true };
    expect(backoffDelayMs(policy, 3, () => 0)).to.equal(200);
    expect(backoffDelayMs(policy, 3, () => 0.999_999)).to.be.closeTo(400, 0.001);
  });
});

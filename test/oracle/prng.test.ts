import { expect } from "chai";
import { Prng, seededRandom } from "../../oracle/src/prng";

describe("Prng", () => {
  it("gives the pinned sfc32 stream for an integer seed (model weights depend on it)", () => {
    const prng = new Prng(42);
    expect([prng.nextUint32(), prng.nextUint32(), prng.nextUint32()]).to.deep.equal([1028872839, 2516511472, 400437680]);
  });

  it("keeps seeds above 2^32 distinct from their low half", () => {
    expect(new Prng(2 ** 40 + 7).nextUint32()).to.equal(607289073);
    expect(new Prng(7).nextUint32()).to.not.equal(607289073);
  });

  it("gives the pinned stream for a text seed (the simulator's seeds)", () => {
    const random = seededRandom("pow-sim:a");
    expect([random(), random()]).to.deep.equal([0.37781984392996604, 0.6158356245964443]);
  });

  it("rejects a negative or fractional seed with the seed in the message", () => {
    expect(() => new Prng(-1)).to.throw(RangeError, "-1");
    expect(() => new Prng(1.5)).to.throw(RangeError, "1.5");
  });

  it("draws floats in [0, 1) and integers in [0, n)", () => {
    const prng = new Prng(7);
    for (let i = 0; i < 1000; i++) {
      const float = prng.nextFloat();
      const double = prng.nextDouble();
      const int = prng.nextInt(5);
      expect(float).to.be.at.least(0).and.below(1);
      expect(double).to.be.at.least(0).and.below(1);
      expect(int).to.be.oneOf([0, 1, 2, 3, 4]);
    }
  });
});

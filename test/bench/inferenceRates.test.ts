import { expect } from "chai";
import { fastestOf } from "../../bench/inferenceBandwidth";
import { interleavedTimings, median, stepQuartiles, tokPerSec, type GenerationRun } from "../../bench/inferenceRates";

/** A runner whose forward passes finish at `gapsMs` apart (the first entry is the prefill pass), logging its calls. */
function scripted(name: string, gapsMs: number[], calls: string[]): GenerationRun {
  return async () => {
    calls.push(name);
    let t = 1000;
    return gapsMs.map((gap) => (t += gap));
  };
}

describe("bench/inferenceRates (decode-rate estimator)", function () {
  it("rates rows / median decode step: the prefill pass and a disturbed step do not count", async function () {
    const calls: string[] = [];
    // prefill 300 ms, then four 20 ms steps and one 400 ms step disturbed by another process
    const [timing] = await interleavedTimings([{ rows: 8, run: scripted("b8", [300, 20, 20, 400, 20, 20], calls) }], 6, 3);
    expect(timing.steps).to.equal(6);
    expect(timing.stepSeconds).to.have.length(3 * 5);
    expect(tokPerSec(timing)).to.be.closeTo(8 / 0.02, 1e-6);
    const q = stepQuartiles(timing);
    expect([q.p25, q.median, q.p75, q.steps]).to.deep.equal([20, 20, 20, 15]);
    expect(q.mean).to.be.closeTo((4 * 20 + 400) / 5, 1e-9);
  });

  it("runs untimed warm-up rounds first, then alternates the runners round by round", async function () {
    const calls: string[] = [];
    const [a, b] = await interleavedTimings([{ rows: 1, run: scripted("a", [5, 10, 10], calls) }, { rows: 8, run: scripted("b", [5, 30, 30], calls) }], 3, 2);
    expect(calls).to.deep.equal(["a", "b", "a", "b", "a", "b", "a", "b"]);
    expect(a.stepSeconds).to.have.length(4); // two timed rounds × two decode steps; warm-up rounds not recorded
    expect(tokPerSec(a)).to.be.closeTo(100, 1e-6);
    expect(tokPerSec(b)).to.be.closeTo(8 / 0.03, 1e-6);
  });

  it("refuses a runner whose step count changes between runs, and one that stops after the first token", async function () {
    let run = 0;
    const flaky: GenerationRun = async () => (++run % 2 ? [1, 2, 3] : [1, 2]);
    await interleavedTimings([{ rows: 1, run: flaky }], 3, 4).then(
      () => expect.fail("accepted"),
      (err: Error) => expect(err.message).to.contain("generation is not deterministic"),
    );
    await interleavedTimings([{ rows: 1, run: async () => [1] }], 3, 2).then(
      () => expect.fail("accepted"),
      (err: Error) => expect(err.message).to.contain("stopped after one token"),
    );
  });

  it("takes the median of an even count as the mean of the middle two", function () {
    expect(median([4, 1, 3, 2])).to.equal(2.5);
    expect(median([7])).to.equal(7);
  });

  it("keeps the fastest bandwidth sample of each measure", function () {
    const best = fastestOf([
      { copyStream: 30e9, read1: 25e9, readAll: 34e9, threads: 2 },
      { copyStream: 28e9, read1: 29e9, readAll: 57e9, threads: 2 },
    ]);
    expect(best).to.deep.equal({ copyStream: 30e9, read1: 29e9, readAll: 57e9, threads: 2, samples: 2 });
  });
});

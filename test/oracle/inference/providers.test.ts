import * as os from "node:os";
import { expect } from "chai";
import { loadEngine, NonRetryableError } from "../../../oracle/src/inference";
import { knownProviders, openSession, sessionOptions } from "../../../oracle/src/inference/providers";
import { readModelFolder } from "../../../oracle/src/inference/modelFolder";
import { recordingLogger, tinyModelDir } from "./fixtures";

// cuda and tensorrt need provider libraries that onnxruntime-node does not bundle, so they fail on every
// machine this suite runs on (the GPU run is a separate script under bench/gpu/).
describe("inference/providers", function () {
  let graphPath: string;

  before(async function () {
    graphPath = (await readModelFolder(await tinyModelDir())).graphPath;
  });

  it("falls back to cpu after an unavailable provider, reports it, and logs one warning line", async function () {
    const logger = recordingLogger();
    const opened = await openSession(graphPath, ["cuda", "tensorrt", "cpu"], { logger });
    try {
      expect(opened.provider).to.equal("cpu");
      expect(opened.failures.map((f) => f.provider)).to.deep.equal(["cuda", "tensorrt"]);
      expect(logger.lines).to.have.length(1);
      expect(logger.lines[0].level).to.equal("warn");
      expect(logger.lines[0].message).to.equal("no gpu execution provider available (cuda, tensorrt failed), running on cpu");
    } finally {
      await opened.session.release();
    }
  });

  it("logs nothing when cpu is the first choice", async function () {
    const logger = recordingLogger();
    const opened = await openSession(graphPath, ["cpu"], { logger });
    await opened.session.release();
    expect(opened.failures).to.deep.equal([]);
    expect(logger.lines).to.deep.equal([]);
  });

  it("reports the provider in use on the engine", async function () {
    const engine = await loadEngine({ modelDir: await tinyModelDir(), providers: ["cuda", "cpu"], logger: recordingLogger() });
    try {
      expect(engine.provider).to.equal("cpu");
    } finally {
      await engine.close();
    }
  });

  it("knows cpu, webgpu and cuda", function () {
    expect(knownProviders()).to.include.members(["cpu", "webgpu", "cuda"]);
  });

  it("rejects an empty provider list", async function () {
    const err = await openSession(graphPath, []).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(NonRetryableError);
    expect((err as Error).message).to.contain("no execution provider given");
  });

  it("rejects an unknown provider name before trying any", async function () {
    const err = await openSession(graphPath, ["cpu", "gpu"]).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(NonRetryableError);
    expect((err as Error).message).to.match(/^unknown execution provider "gpu" \(onnxruntime-node knows: cpu, .*\)$/);
  });

  it("fails with every provider's reason when none of them loads", async function () {
    const err = await openSession(graphPath, ["cuda", "tensorrt"]).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(NonRetryableError);
    expect((err as Error).message).to.contain(`no execution provider could open ${graphPath}: cuda: `).and.contain("; tensorrt: ");
  });

  it("rejects a negative or fractional thread count", async function () {
    for (const threads of [-1, 1.5]) {
      const err = await openSession(graphPath, ["cpu"], { threads }).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(NonRetryableError);
      expect((err as Error).message).to.contain(`threads must be an integer >= 0 (0 = one per CPU core), got ${threads}`);
    }
    const opened = await openSession(graphPath, ["cpu"], { threads: 0 });
    expect(opened.provider).to.equal("cpu");
    await opened.session.release();
  });

  it("asks onnxruntime for one intra-op thread per core unless told otherwise (its own default ran one here)", function () {
    for (const threads of [undefined, 0]) {
      expect(sessionOptions("cpu", { threads })).to.include({ intraOpNumThreads: os.availableParallelism(), interOpNumThreads: 1 });
    }
    expect(sessionOptions("cpu", { threads: 3 })).to.include({ intraOpNumThreads: 3, interOpNumThreads: 1, graphOptimizationLevel: "all" });
    expect(sessionOptions("webgpu", {}).executionProviders).to.deep.equal(["webgpu"]);
  });
});

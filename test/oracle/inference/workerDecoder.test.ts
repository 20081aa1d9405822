import type { Worker } from "node:worker_threads";
import { expect } from "chai";
import { InferenceDeadlineError, loadEngine, NonRetryableError, RetryableError, type OnnxInferenceEngine } from "../../../oracle/src/inference";
import { DecoderModel } from "../../../oracle/src/inference/decoderModel";
import { readModelFolder } from "../../../oracle/src/inference/modelFolder";
import { openSession } from "../../../oracle/src/inference/providers";
import { deserializeError, serializeError } from "../../../oracle/src/inference/workerDecoder";
import { sharedTinyEngine } from "../../helpers/engines";
import { PROMPTS } from "./fixtures";

describe("inference/workerDecoder (the model in its own thread)", function () {
  let engine: OnnxInferenceEngine;

  before(async function () {
    engine = await sharedTinyEngine();
  });

  it("decodes exactly what the same model decodes on the calling thread, greedy and seeded sampling", async function () {
    const folder = await readModelFolder(engine.modelDir);
    const opened = await openSession(folder.graphPath, ["cpu"], { threads: 1 });
    const local = DecoderModel.fromSession(opened.session, folder, engine.tokenizer.vocabSize);
    try {
      const requests = PROMPTS.map((p, i) => ({
        promptIds: engine.tokenizer.encode(p),
        maxNewTokens: 12,
        sampling: i % 2 ? { temperature: 0.9, topK: 20, seed: 7 + i } : undefined,
      }));
      const inWorker = await engine.model.generateBatch(requests, { collectLogits: true });
      const onThread = await local.generateBatch(requests, { collectLogits: true });
      expect(inWorker.map((r) => r.tokenIds)).to.deep.equal(onThread.map((r) => r.tokenIds));
      // logits come back as Float32Arrays, bit for bit
      expect(inWorker[0].stepLogits![3]).to.be.instanceOf(Float32Array);
      expect(Buffer.from(inWorker[0].stepLogits![3].buffer).equals(Buffer.from(onThread[0].stepLogits![3].buffer))).to.equal(true);
      expect([engine.model.numLayers, engine.model.kvHeads, engine.model.headDim, engine.model.vocabSize]).to.deep.equal([local.numLayers, local.kvHeads, local.headDim, local.vocabSize]);
    } finally {
      await local.release();
    }
  });

  it("runs concurrent calls side by side and answers each with its own rows", async function () {
    const ids = PROMPTS.map((p) => engine.tokenizer.encode(p));
    const alone = await Promise.all(ids.map((promptIds) => engine.model.generateBatch([{ promptIds, maxNewTokens: 8 }])));
    const together = await Promise.all(ids.map((promptIds) => engine.model.generateBatch([{ promptIds, maxNewTokens: 8 }])));
    expect(together.map(([r]) => r.tokenIds)).to.deep.equal(alone.map(([r]) => r.tokenIds));
  });

  it("brings a failed run back as a RetryableError with onnxruntime's reason, and keeps serving", async function () {
    const err = await engine.model.generateBatch([{ promptIds: [engine.model.vocabSize + 5], maxNewTokens: 2 }]).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(RetryableError);
    expect((err as Error).message).to.match(/^inference run failed on .*model\.onnx$/);
    expect(((err as Error).cause as Error).message).to.contain("Gather");
    const [ok] = await engine.model.generateBatch([{ promptIds: engine.tokenizer.encode(PROMPTS[0]), maxNewTokens: 2 }]);
    expect(ok.tokenIds).to.have.length(2);
  });

  it("brings a refusal from the worker's start back as a NonRetryableError with its message", async function () {
    const bad = await loadEngine({ modelDir: engine.modelDir, providers: ["cpu"], threads: -2 }).catch((e: unknown) => e);
    expect(bad).to.be.instanceOf(NonRetryableError);
    expect((bad as Error).message).to.equal("threads must be an integer >= 0 (0 = one per CPU core), got -2");
  });

  it("fails the calls in flight when its thread dies, and starts a new thread for the next call", async function () {
    const crashing = await loadEngine({ modelDir: engine.modelDir, providers: ["cpu"], threads: 1 });
    try {
      const promptIds = engine.tokenizer.encode(PROMPTS[2]);
      const [expected] = await crashing.model.generateBatch([{ promptIds, maxNewTokens: 5 }]);
      // What a crash of the thread looks like from outside: it exits while a call waits on it. Killed between
      // onnxruntime runs on purpose: terminating a thread while onnxruntime-node has a run in flight aborts the
      // whole process (its completion throws into the dead thread's environment; 1 run in 6 here).
      const worker = (crashing.model as unknown as { worker: Worker }).worker;
      const killed = worker.terminate();
      const err = await crashing.model.generateBatch([{ promptIds, maxNewTokens: 200 }]).catch((e: unknown) => e);
      expect(await killed).to.equal(1);
      expect(err).to.be.instanceOf(RetryableError);
      expect((err as Error).message).to.equal("inference worker exited (code 1)");
      const [again] = await crashing.model.generateBatch([{ promptIds, maxNewTokens: 5 }]);
      expect(again.tokenIds).to.deep.equal(expected.tokenIds);
      expect(crashing.model.restarts).to.equal(1);
    } finally {
      await crashing.close();
    }
  });

  it("fails a run stuck past its deadline, counts it, replaces the worker and serves the next run (watchdog)", async function () {
    const stuckPrompt = "Stuck here";
    const stallOnPromptId = engine.tokenizer.encode(stuckPrompt)[0];
    const watched = await loadEngine({ modelDir: engine.modelDir, providers: ["cpu"], threads: 1, stallOnPromptId, watchdog: { minMs: 400, slack: 1, initialStepMs: 1 } });
    const missed: number[] = [];
    watched.onDeadlineMissed((ms) => missed.push(ms));
    try {
      expect(watched.health()).to.deep.equal({ ok: true, deadlinesMissed: 0 });
      const started = Date.now();
      const err = await watched.generate({ prompt: stuckPrompt, maxNewTokens: 4 }).catch((e: unknown) => e);
      expect(Date.now() - started, "failed at the deadline, not later").to.be.lessThan(3_000);
      expect(err).to.be.instanceOf(InferenceDeadlineError).and.instanceOf(RetryableError);
      expect((err as Error).message).to.equal("inference run missed its 400 ms deadline; the worker was replaced");
      expect(missed).to.deep.equal([400]);
      expect(watched.health()).to.deep.include({ ok: false, deadlinesMissed: 1 });
      const alone = await engine.generate({ prompt: PROMPTS[0], maxNewTokens: 6 });
      const after = await watched.generate({ prompt: PROMPTS[0], maxNewTokens: 6 });
      expect(after.tokenIds).to.deep.equal(alone.tokenIds);
      expect(watched.model.restarts).to.equal(1);
      expect(watched.health()).to.deep.equal({ ok: true, deadlinesMissed: 1 });
    } finally {
      await watched.close();
    }
  });

  it("sets a run's deadline from the tokens it asks for and the measured speed, never below the floor", async function () {
    const request = (maxNewTokens: number) => ({ promptIds: [1], maxNewTokens });
    const floor = engine.deadlineMs([request(1)]);
    expect(floor).to.equal(30_000);
    // A million steps at the measured speed times a slack of 10: above the floor at any speed this test accepts (the
    // shared engine is warm by now, well under a millisecond a step after other suites' runs).
    const long = engine.deadlineMs([request(1), request(999_999)]);
    expect(long).to.be.greaterThan(floor);
    const perStep = long / 10 / 1_000_000;
    expect(perStep, "ms per step measured on the runs so far").to.be.within(0.01, 250);
  });

  it("refuses calls once closed, after finishing the ones in flight", async function () {
    const second = await loadEngine({ modelDir: engine.modelDir, providers: ["cpu"], threads: 1 });
    const inFlight = second.model.generateBatch([{ promptIds: engine.tokenizer.encode(PROMPTS[1]), maxNewTokens: 6 }]);
    const closing = second.close();
    const [done] = await inFlight;
    expect(done.tokenIds).to.have.length(6);
    await closing;
    const err = await second.model.generateBatch([{ promptIds: [1], maxNewTokens: 1 }]).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(NonRetryableError);
    expect((err as Error).message).to.equal("inference engine is closed");
  });

  it("keeps the two error classes across the thread boundary and others as plain errors", function () {
    const retry = deserializeError(serializeError(new RetryableError("rpc down", { cause: new Error("ECONNREFUSED") })));
    expect(retry).to.be.instanceOf(RetryableError);
    expect(retry.message).to.equal("rpc down");
    expect((retry.cause as Error).message).to.equal("ECONNREFUSED");
    const permanent = deserializeError(serializeError(new NonRetryableError("bad input")));
    expect(permanent).to.be.instanceOf(NonRetryableError);
    expect(permanent.message).to.equal("bad input");
    expect(permanent.cause).to.equal(undefined);
    const other = deserializeError(serializeError(new TypeError("x is not a function")));
    expect(other).to.not.be.instanceOf(RetryableError).and.not.be.instanceOf(NonRetryableError);
    expect([other.name, other.message]).to.deep.equal(["TypeError", "x is not a function"]);
    expect(deserializeError(serializeError("a string")).message).to.equal("a string");
  });
});

import { expect } from "chai";
import type { ChatRegistryClient } from "../../../oracle/src/chain/chatRegistry";
import type { HeadTracker } from "../../../oracle/src/chain/heads";
import type { InferenceEngine } from "../../../oracle/src/inference";
import { RetryableError } from "../../../oracle/src/errors";
import { createJournal } from "../../../oracle/src/jobs/journal";
import { createPipeline } from "../../../oracle/src/jobs/pipeline";
import { hashText } from "../../../oracle/src/store/contentStore";
import { createTestCommon } from "../store/fixtures";
import { FakeStepChain, ME, tinyEngine } from "./fakeStepChain";

const MODEL_HASH = `0x${"ab".repeat(32)}`;
const VALIDATOR = "0x00000000000000000000000000000000000000b1";

describe("pipeline retries", function () {
  it("backs a failing inference off exponentially and counts every failure on the job", async function () {
    const common = createTestCommon({ pollIntervalMs: 50 });
    const journal = createJournal(common.db);
    const calls: number[] = [];
    const engine = {
      modelHash: MODEL_HASH,
      maxContext: 64,
      countPromptTokens: () => 1,
      generate: async () => {
        calls.push(Date.now());
        throw new RetryableError("device lost");
      },
    } as unknown as InferenceEngine;
    const limits = { maxPromptBytes: 256, maxNewTokens: 32, contextLength: 64 };
    const registry = { getModel: async () => ({ modelHash: MODEL_HASH, enabled: true, limits }) } as unknown as ChatRegistryClient;
    const pipeline = createPipeline(common, { journal, engine, registry, heads: {} as HeadTracker, submitters: new Map() });
    const key = { requestId: 1n, validator: VALIDATOR, round: 1 };
    journal.addJob({ ...key, modelId: "1", prompt: "hi", promptHash: hashText("hi"), maxNewTokens: 4, seenBlock: 1 });
    pipeline.start();
    await new Promise((r) => setTimeout(r, 1_700));
    await pipeline.stop();

    // Base 100 ms (2 x 50 ms) doubling: tries at about 0, 100, 300, 700 and 1500 ms; a fixed delay made ~15.
    expect(calls.length, `${calls.length} inference attempts in 1.7 s`).to.be.within(3, 6);
    const gaps = calls.slice(1).map((t, i) => t - calls[i]);
    for (let i = 1; i < gaps.length; i++) expect(gaps[i], `gaps ${gaps}`).to.be.greaterThan(gaps[i - 1] * 1.5);
    const job = journal.get(key)!;
    expect(job.state).to.equal("seen");
    expect(job.failures).to.equal(calls.length);
    expect(job.lastError).to.equal("device lost");
  });
});

describe("pipeline loop", function () {
  /** Resolves once `condition` holds (checked every 10 ms); the test's own timeout bounds it. */
  async function until(condition: () => boolean) {
    while (!condition()) await new Promise((r) => setTimeout(r, 10));
  }

  it("runs a job's steps until one puts it off, then takes it up again when an event wakes it", async function () {
    const common = createTestCommon({ pollIntervalMs: 500 }); // the fallback re-check of an awaited event is 25 s
    const journal = createJournal(common.db);
    const engine = await tinyEngine();
    const chain = new FakeStepChain(engine.modelHash, "Hello there");
    const pipeline = createPipeline(common, {
      journal,
      engine,
      registry: {} as ChatRegistryClient,
      heads: {} as HeadTracker,
      submitters: new Map(),
      chain,
    });
    const key = { requestId: 1n, validator: ME, round: 1 };
    journal.addJob({ ...key, modelId: "1", prompt: "Hello there", promptHash: hashText("Hello there"), maxNewTokens: 4, seenBlock: 10 });
    pipeline.start();
    try {
      // seen → inferred → committed in one go; then the reveal awaits the other members' commits (once soon, as our
      // own commit nudged the request while the step ran; then for the event wait).
      await until(() => journal.get(key)?.state === "committed" && (journal.get(key)?.notBefore ?? 0) > Date.now() + 5_000);
      expect(chain.sent.map((t) => t.tx.kind)).to.deep.equal(["commit"]);

      for (const m of chain.members) m.committed = true; // their ResponseCommitted events arrive
      journal.nudge(1n);
      pipeline.wake();
      await until(() => journal.get(key)?.state === "revealed");
      expect(chain.sent.map((t) => t.tx.kind)).to.deep.equal(["commit", "reveal"]);
    } finally {
      await pipeline.stop();
    }
  });
});

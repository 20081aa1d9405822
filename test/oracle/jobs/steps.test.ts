import { expect } from "chai";
import { keccak256 } from "ethers";
import { DeclineReason, RequestStatus, computeCommitment } from "../../../oracle/src/chain/chatRegistry";
import type { InferenceEngine } from "../../../oracle/src/inference";
import { NonRetryableError } from "../../../oracle/src/errors";
import { createJournal, type Job, type Journal } from "../../../oracle/src/jobs/journal";
import {
  awaitOutcomeStep,
  commitStep,
  declineStep,
  inferStep,
  revealStep,
  type StepContext,
} from "../../../oracle/src/jobs/steps";
import { createContentStore, hashText } from "../../../oracle/src/store/contentStore";
import { FakeStepChain, ME, OTHERS, member, tinyEngine } from "./fakeStepChain";
import { createTestCommon } from "../store/fixtures";

const SHORT_WAIT = 50;
const EVENT_WAIT = 2_500;


describe("jobs/steps", function () {
  let engine: InferenceEngine;
  before(async function () {
    engine = await tinyEngine();
  });

  /** A journal with one job of ours for request 1 (in `state`), the fake chain, and the steps' context. */
  function setup(prompt = "Hello there", options: { maxNewTokens?: number; promptHash?: string } = {}) {
    const common = createTestCommon();
    const journal: Journal = createJournal(common.db);
    const promptHash = options.promptHash ?? hashText(prompt);
    const chain = new FakeStepChain(engine.modelHash, prompt);
    chain.record.promptHash = promptHash;
    let wakes = 0;
    const key = { requestId: 1n, validator: ME, round: 1 };
    journal.addJob({ ...key, modelId: "1", prompt, promptHash, maxNewTokens: options.maxNewTokens ?? 4, seenBlock: 10 });
    const ctx: StepContext = {
      journal,
      chain,
      engine,
      generate: (job) => engine.generate({ prompt: job.prompt, maxNewTokens: job.maxNewTokens }),
      contentStore: createContentStore(common.db),
      log: common.logger,
      metrics: common.metrics,
      shortWaitMs: SHORT_WAIT,
      eventWaitMs: EVENT_WAIT,
      wake: () => void wakes++,
    };
    const job = () => journal.get(key) as Job;
    return { journal, chain, ctx, job, wakes: () => wakes };
  }

  /** Moves the job to `inferred` as the infer step would (salt, response journaled). */
  function inferred(s: ReturnType<typeof setup>, text = "an answer"): Job {
    return s.journal.move(s.job(), "inferred", { salt: `0x${"5a".repeat(32)}`, responseText: text, responseHash: hashText(text) });
  }

  describe("inferStep", function () {
    it("journals the response and a salt, sending nothing", async function () {
      const s = setup();
      const result = await inferStep(s.ctx, s.job());
      expect(result.kind).to.equal("moved");
      const job = s.job();
      expect(job.state).to.equal("inferred");
      expect(job.salt).to.match(/^0x[0-9a-f]{64}$/);
      const expected = await engine.generate({ prompt: "Hello there", maxNewTokens: 4 });
      expect(job.responseText).to.equal(expected.text);
      expect(job.responseHash).to.equal(hashText(expected.text));
      expect(s.chain.sent).to.deep.equal([]);
    });

    it("declines a prompt longer than the context instead of inferring", async function () {
      const s = setup("word ".repeat(40), { maxNewTokens: 8 });
      s.chain.model.limits.contextLength = 16;
      const result = await inferStep(s.ctx, s.job());
      expect(result.kind).to.equal("moved");
      expect(s.job().state).to.equal("declined");
      expect(s.chain.sent.map((t) => t.tx)).to.deep.equal([{ kind: "decline", requestId: 1n, reason: DeclineReason.PromptTooLong }]);
      expect(s.job().commitTx, "the decline is journaled before it is sent").to.equal(s.chain.sent[0].hash);
      expect(s.wakes()).to.equal(1);
    });

    it("declines a prompt that is not valid UTF-8 (its text does not hash to the chain's hash)", async function () {
      // The listener's text of the bytes 48 69 ff fe 21; the chain hashed the bytes.
      const s = setup("Hi\uFFFD\uFFFD!", { promptHash: keccak256(new Uint8Array([0x48, 0x69, 0xff, 0xfe, 0x21])) });
      await inferStep(s.ctx, s.job());
      expect(s.chain.sent.map((t) => t.tx)).to.deep.equal([{ kind: "decline", requestId: 1n, reason: DeclineReason.InvalidPrompt }]);
    });

    it("declines a model registered with another hash than the engine's", async function () {
      const s = setup();
      s.chain.model.modelHash = `0x${"cd".repeat(32)}`;
      await inferStep(s.ctx, s.job());
      expect(s.chain.sent.map((t) => t.tx)).to.deep.equal([{ kind: "decline", requestId: 1n, reason: DeclineReason.ModelUnavailable }]);
      expect(s.job().state).to.equal("declined");
    });

    it("finishes a journaled decline that was mined without sending another", async function () {
      const s = setup();
      const hash = `0x${"77".repeat(32)}`;
      await s.journal.recordTx(s.job(), "commit", hash);
      s.chain.journaled.set(hash, "mined");
      const result = await inferStep(s.ctx, s.job());
      expect(result.kind).to.equal("moved");
      expect(s.job()).to.include({ state: "declined", commitBlock: 55 });
      expect(s.chain.sent).to.deep.equal([]);
    });
  });

  describe("declineStep", function () {
    it("refuses to decline a seat that already committed", async function () {
      const s = setup();
      Object.assign(s.chain.me(), { committed: true });
      let thrown: unknown;
      await declineStep(s.ctx, s.job(), DeclineReason.PromptTooLong, "test").catch((error) => (thrown = error));
      expect(thrown).to.be.instanceOf(NonRetryableError);
      expect(s.chain.sent).to.deep.equal([]);
    });

    it("ends as the chain's outcome when commits closed before the decline", async function () {
      const s = setup();
      s.chain.record.status = RequestStatus.Finalized;
      await declineStep(s.ctx, s.job(), DeclineReason.PromptTooLong, "test");
      expect(s.job()).to.include({ state: "finalized", lastError: "finalized without this member" });
      expect(s.chain.sent).to.deep.equal([]);
    });
  });

  describe("commitStep", function () {
    it("commits the journaled commitment and moves to committed", async function () {
      const s = setup();
      const job = inferred(s);
      const result = await commitStep(s.ctx, job);
      expect(result.kind).to.equal("moved");
      const commitment = computeCommitment(1n, ME, hashText("an answer"), job.salt as string);
      expect(s.chain.sent).to.have.length(1);
      expect(s.chain.sent[0].tx).to.include({ kind: "commit", requestId: 1n, commitment });
      expect(s.job()).to.include({ state: "committed", commitTx: s.chain.sent[0].hash, commitBlock: 60 });
    });

    it("sends a committee of one's answer in one respond", async function () {
      const s = setup();
      s.chain.members = [member(ME)];
      await commitStep(s.ctx, inferred(s));
      expect(s.chain.sent.map((t) => t.tx.kind)).to.deep.equal(["respond"]);
      expect(s.chain.sent[0].tx).to.include({ text: "an answer" });
      expect(s.job().state).to.equal("committed");
    });

    it("waits a short while for the seed of an undrawn committee", async function () {
      const s = setup();
      s.chain.members = [];
      s.chain.preview = { committee: [], ready: false };
      expect(await commitStep(s.ctx, inferred(s))).to.deep.equal({ kind: "deferred", delayMs: SHORT_WAIT });
      expect(s.chain.sent).to.deep.equal([]);
    });

    it("commits to a previewed committee before anyone drew it", async function () {
      const s = setup();
      s.chain.members = [];
      s.chain.record.committee = [];
      await commitStep(s.ctx, inferred(s));
      expect(s.chain.sent.map((t) => t.tx.kind)).to.deep.equal(["commit"]);
    });

    it("waits for the draw when a renewed seed previews a committee without it, and commits once the draw seats it", async function () {
      const s = setup();
      s.chain.members = [];
      s.chain.record.committee = [];
      // The seed the job was seated by was lost and renewed: the new seed previews another committee.
      s.chain.preview = { committee: [...OTHERS, "0x00000000000000000000000000000000000000b4"], ready: true };
      expect((await commitStep(s.ctx, inferred(s))).kind).to.equal("awaiting_event");
      expect(s.job().state, "a preview is not the draw").to.equal("inferred");
      expect(s.chain.sent).to.deep.equal([]);
      // The draw (a CommitteeDrawn event nudges the job) seats it after all.
      s.chain.record.committee = [ME, ...OTHERS];
      s.chain.members = [ME, ...OTHERS].map((v) => member(v));
      await commitStep(s.ctx, s.job());
      expect(s.chain.sent.map((t) => t.tx.kind)).to.deep.equal(["commit"]);
    });

    it("times the job out once the drawn committee does not seat it", async function () {
      const s = setup();
      s.chain.members = [...OTHERS, "0x00000000000000000000000000000000000000b4"].map((v) => member(v));
      await commitStep(s.ctx, inferred(s));
      expect(s.job()).to.include({ state: "timed_out", lastError: "not on the current committee" });
    });

    it("waits when the request id names another prompt (a reorg) and sends nothing", async function () {
      const s = setup();
      s.chain.record.promptHash = hashText("another prompt");
      expect(await commitStep(s.ctx, inferred(s))).to.deep.equal({ kind: "deferred", delayMs: SHORT_WAIT * 5 });
      expect(s.chain.sent).to.deep.equal([]);
    });

    it("times the job out when the commit deadline passed", async function () {
      const s = setup();
      s.chain.now = s.chain.record.commitDeadline + 1;
      await commitStep(s.ctx, inferred(s));
      expect(s.job()).to.include({ state: "timed_out", lastError: "commit phase closed before the commit" });
      expect(s.chain.sent).to.deep.equal([]);
    });

    it("times the job out when the request moved to another attempt", async function () {
      const s = setup();
      s.chain.record.attempt = 2;
      await commitStep(s.ctx, inferred(s));
      expect(s.job()).to.include({ state: "timed_out", lastError: "request moved to attempt 2" });
    });

    it("finishes a journaled commit that is mined without sending a second one", async function () {
      const s = setup();
      const job = inferred(s);
      const hash = `0x${"88".repeat(32)}`;
      await s.journal.recordTx(job, "commit", hash);
      s.chain.journaled.set(hash, "pending");
      await commitStep(s.ctx, s.job());
      expect(s.job()).to.include({ state: "committed", commitBlock: 56 });
      expect(s.chain.sent).to.deep.equal([]);
    });

    it("fails on an on-chain commitment that is not the journaled one", async function () {
      const s = setup();
      Object.assign(s.chain.me(), { committed: true, commitment: `0x${"99".repeat(32)}` });
      let thrown: unknown;
      await commitStep(s.ctx, inferred(s)).catch((error) => (thrown = error));
      expect(thrown).to.be.instanceOf(NonRetryableError);
    });
  });

  describe("revealStep", function () {
    async function committed(s: ReturnType<typeof setup>): Promise<Job> {
      await commitStep(s.ctx, inferred(s));
      return s.job();
    }

    it("awaits the other members' commits before revealing", async function () {
      const s = setup();
      const job = await committed(s);
      const result = await revealStep(s.ctx, job);
      // Reveals open when all commit or after the deadline (100 s away): the event wait is shorter.
      expect(result).to.deep.equal({ kind: "awaiting_event", fallbackMs: EVENT_WAIT });
      expect(s.chain.sent.map((t) => t.tx.kind)).to.deep.equal(["commit"]);
    });

    it("awaits a local sibling that has not committed without reading the chain", async function () {
      const s = setup();
      const job = await committed(s);
      s.journal.addJob({ requestId: 1n, validator: OTHERS[0], round: 1, modelId: "1", prompt: job.prompt, promptHash: job.promptHash, maxNewTokens: 4, seenBlock: 10 });
      const reads = s.chain.seatReads;
      expect(await revealStep(s.ctx, job)).to.deep.equal({ kind: "awaiting_event", fallbackMs: EVENT_WAIT });
      expect(s.chain.seatReads).to.equal(reads);
    });

    it("reveals once every member committed", async function () {
      const s = setup();
      const job = await committed(s);
      for (const m of s.chain.members) m.committed = true;
      expect((await revealStep(s.ctx, job)).kind).to.equal("moved");
      expect(s.chain.sent[1].tx).to.include({ kind: "reveal", text: "an answer", salt: job.salt });
      expect(s.job()).to.include({ state: "revealed", revealTx: s.chain.sent[1].hash });
    });

    it("reveals late into a finalized record and ends finalized", async function () {
      const s = setup();
      const job = await committed(s);
      for (const m of s.chain.members) m.committed = true;
      s.chain.record.status = RequestStatus.Finalized;
      await revealStep(s.ctx, job);
      expect(s.chain.sent.map((t) => t.tx.kind)).to.deep.equal(["commit", "reveal"]);
      expect(s.job().state).to.equal("finalized");
    });

    it("awaits the closing event when a quorum declined", async function () {
      const s = setup();
      const job = await committed(s);
      s.chain.record.status = RequestStatus.Declined;
      expect(await revealStep(s.ctx, job)).to.deep.equal({ kind: "awaiting_event", fallbackMs: EVENT_WAIT });
    });

    it("times the job out after the reveal deadline", async function () {
      const s = setup();
      const job = await committed(s);
      for (const m of s.chain.members) m.committed = true;
      s.chain.now = s.chain.record.revealDeadline + 1;
      await revealStep(s.ctx, job);
      expect(s.job()).to.include({ state: "timed_out", lastError: "reveal phase closed before the reveal" });
    });
  });

  describe("awaitOutcomeStep", function () {
    it("finalizes the job once the record is final, else awaits the event", async function () {
      const s = setup();
      await commitStep(s.ctx, inferred(s));
      for (const m of s.chain.members) m.committed = true;
      await revealStep(s.ctx, s.job());
      expect(await awaitOutcomeStep(s.ctx, s.job())).to.deep.equal({ kind: "awaiting_event", fallbackMs: 2_000 });
      s.chain.record.status = RequestStatus.Finalized;
      expect((await awaitOutcomeStep(s.ctx, s.job())).kind).to.equal("moved");
      expect(s.job().state).to.equal("finalized");
    });
  });
});

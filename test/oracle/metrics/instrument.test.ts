import { expect } from "chai";
import type { InferenceEngine } from "../../../oracle/src/inference";
import { createJournal, type NewJob } from "../../../oracle/src/jobs/journal";
import { createMetrics, readMetricByLabel, readMetricValue } from "../../../oracle/src/metrics";
import { instrumentEngine, instrumentJournal, jobGaugeRefresher } from "../../../oracle/src/metrics/instrument";
import { openDatabase } from "../../../oracle/src/store/database";

const V = "0x00000000000000000000000000000000000000aa";
const newJob = (requestId: bigint): NewJob => ({ requestId, validator: V, round: 0, modelId: "1", prompt: "hi", promptHash: "0x01", maxNewTokens: 8, seenBlock: 1 });

async function histogram(metrics: ReturnType<typeof createMetrics>, name: "timeToCommitSeconds" | "timeToFinalizeSeconds") {
  const { values } = await metrics[name].get();
  const sum = values.find((v) => v.metricName?.endsWith("_sum"))?.value;
  const count = values.find((v) => v.metricName?.endsWith("_count"))?.value;
  return { sum, count };
}

describe("metrics instrumentation", function () {
  it("observes time to commit and time to finalize from when the job was added", async function () {
    const metrics = createMetrics();
    let now = 1_000_000;
    const journal = instrumentJournal(createJournal(openDatabase(":memory:")), metrics, () => now);
    const key = { requestId: 1n, validator: V, round: 0 };
    journal.addJob(newJob(1n));
    now += 2_000;
    journal.move(key, "inferred", { salt: "0x01" });
    now += 1_500;
    journal.move(key, "committed", { commitBlock: 2 });
    expect(await histogram(metrics, "timeToCommitSeconds")).to.deep.equal({ sum: 3.5, count: 1 });
    journal.move(key, "revealed", { revealBlock: 3 });
    now += 6_500;
    expect(journal.closeRequest(1n, "finalized", 4)).to.have.length(1);
    expect(await histogram(metrics, "timeToFinalizeSeconds")).to.deep.equal({ sum: 10, count: 1 });
  });

  it("closes only the states it is asked to: a committed member stays open after the quorum finalized, to reveal late", async function () {
    const metrics = createMetrics();
    const journal = instrumentJournal(createJournal(openDatabase(":memory:")), metrics);
    const W = "0x00000000000000000000000000000000000000bb";
    journal.addJob(newJob(1n));
    journal.addJob({ ...newJob(1n), validator: W });
    journal.move({ requestId: 1n, validator: V, round: 0 }, "committed", { commitBlock: 2 });
    journal.move({ requestId: 1n, validator: W, round: 0 }, "revealed", { revealBlock: 3 });
    // What RecordFinalized does: the revealed job is done; the committed one still reveals (it is paid, or slashed
    // at settlement for not revealing).
    const closed = journal.closeRequest(1n, "finalized", 4, undefined, ["revealed"]);
    expect(closed.map((j) => j.validator)).to.deep.equal([W]);
    expect(journal.get({ requestId: 1n, validator: V, round: 0 })?.state).to.equal("committed");
  });

  it("reports depth per state and the oldest active job's age on scrape", async function () {
    const metrics = createMetrics();
    const db = openDatabase(":memory:");
    const journal = createJournal(db);
    const before = Date.now();
    journal.addJob(newJob(1n));
    journal.addJob(newJob(2n));
    journal.move({ requestId: 2n, validator: V, round: 0 }, "inferred", {});
    const refresh = jobGaugeRefresher(db, journal, metrics, () => before + 90_000);
    refresh();
    expect(await readMetricByLabel(metrics.journalDepth, "state")).to.include({ seen: 1, inferred: 1, committed: 0 });
    const age = await readMetricValue(metrics.oldestJobAgeSeconds);
    expect(age).to.be.within(89, 90.5);
    journal.closeRequest(1n, "finalized", 9);
    journal.closeRequest(2n, "finalized", 9);
    refresh();
    expect(await readMetricValue(metrics.oldestJobAgeSeconds)).to.equal(0);
  });

  it("counts inference failures by priority and times on-chain runs", async function () {
    const metrics = createMetrics();
    let fail = true;
    const engine = {
      modelDir: "m",
      modelHash: "0x1",
      provider: "cpu",
      maxContext: 64,
      countPromptTokens: () => 1,
      generate: async () => {
        if (fail) throw new Error("worker died");
        return { text: "", promptTokenIds: [], tokenIds: [], responseHash: "0x", finishReason: "eos", tokensPerSecond: 0 };
      },
      close: async () => undefined,
    } as InferenceEngine;
    const wrapped = instrumentEngine(engine, metrics);
    await expect(wrapped.generate({ prompt: "a" })).to.be.rejectedWith("worker died");
    await expect(wrapped.generate({ prompt: "b", priority: "http" })).to.be.rejectedWith("worker died");
    fail = false;
    await wrapped.generate({ prompt: "c" });
    expect(await readMetricByLabel(metrics.inferenceFailuresTotal, "priority")).to.deep.equal({ chain: 1, http: 1 });
    const { values } = await metrics.inferenceSeconds.get();
    expect(values.find((v) => v.metricName?.endsWith("_count"))?.value, "chain runs timed (http runs are timed by the route)").to.equal(2);
    expect(wrapped.modelHash).to.equal("0x1");
  });
});

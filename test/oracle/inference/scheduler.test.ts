import { expect } from "chai";
import type { SequenceRequest, SequenceResult } from "../../../oracle/src/inference/decoderModel";
import { BatchScheduler } from "../../../oracle/src/inference/scheduler";
import { deferred, until } from "../../helpers/waitFor";

/**
 * A fake model that records the batches it was given and echoes each prompt's first id. `hold()` keeps the batches
 * that start from then on running until the returned release is called (a model busy with a batch).
 */
function recordingRunner(fail = false) {
  const batches: number[][] = [];
  let running: Promise<void> = Promise.resolve();
  return {
    batches,
    hold(): () => void {
      const gate = deferred();
      running = gate.promise;
      return () => gate.resolve();
    },
    run: async (requests: SequenceRequest[]): Promise<SequenceResult[]> => {
      batches.push(requests.map((r) => r.promptIds[0]));
      await running;
      if (fail) throw new Error("device lost");
      return requests.map((r) => ({ tokenIds: [r.promptIds[0]], finishReason: "length" as const }));
    },
  };
}

const request = (id: number): SequenceRequest => ({ promptIds: [id], maxNewTokens: 1 });

describe("inference/scheduler", function () {
  it("runs requests submitted together as one batch and gives each its own result", async function () {
    const runner = recordingRunner();
    const scheduler = new BatchScheduler(runner.run, 8);
    const results = await Promise.all([1, 2, 3].map((id) => scheduler.submit(request(id))));
    expect(runner.batches).to.deep.equal([[1, 2, 3]]);
    expect(results.map((r) => r.tokenIds)).to.deep.equal([[1], [2], [3]]);
    expect(results.every((r) => r.seconds > 0)).to.equal(true);
  });

  it("splits more than maxBatch requests and queues those arriving during a batch for the next one", async function () {
    const runner = recordingRunner();
    const scheduler = new BatchScheduler(runner.run, 2);
    const release = runner.hold();
    const first = [1, 2, 3].map((id) => scheduler.submit(request(id)));
    await until("the first batch running", () => runner.batches.length === 1);
    const late = [4, 5].map((id) => scheduler.submit(request(id)));
    release();
    await Promise.all([...first, ...late]);
    expect(runner.batches).to.deep.equal([[1, 2], [3, 4], [5]]);
    await scheduler.idle();
  });

  it("rejects every request of a failed batch with the batch's error", async function () {
    const failing = recordingRunner(true);
    const scheduler = new BatchScheduler(failing.run, 4);
    const settled = await Promise.allSettled([1, 2].map((id) => scheduler.submit(request(id))));
    expect(settled.map((s) => s.status)).to.deep.equal(["rejected", "rejected"]);
    expect((settled[0] as PromiseRejectedResult).reason.message).to.equal("device lost");
  });

  it("never puts rows together whose longest prompt plus most new tokens exceed the context; those run alone", async function () {
    const runner = recordingRunner();
    const scheduler = new BatchScheduler(runner.run, 8, 16);
    const rows: SequenceRequest[] = [
      { promptIds: [1, ...new Array<number>(11).fill(0)], maxNewTokens: 4 }, // 12 + 4 = 16: fits alone
      { promptIds: [2, 0], maxNewTokens: 14 }, // 2 + 14 = 16; with row 1: 12 + 14 = 26 > 16
      { promptIds: [3, 0, 0], maxNewTokens: 4 }, // fits with row 1: 12 + 4
    ];
    await Promise.all(rows.map((r) => scheduler.submit(r)));
    expect(runner.batches).to.deep.equal([[1, 3], [2]]);
    for (const batch of runner.batches) {
      const members = rows.filter((r) => batch.includes(r.promptIds[0]));
      const width = Math.max(...members.map((r) => r.promptIds.length)) + Math.max(...members.map((r) => r.maxNewTokens));
      expect(width, `batch ${batch}`).to.be.at.most(16);
    }
  });

  it("fails only the row that fails when a batch fails: the others are run again and answered", async function () {
    const batches: number[][] = [];
    const run = async (requests: SequenceRequest[]) => {
      batches.push(requests.map((r) => r.promptIds[0]));
      if (requests.some((r) => r.promptIds[0] === 2)) throw new Error("Gather idx out of range");
      return requests.map((r) => ({ tokenIds: [r.promptIds[0]], finishReason: "length" as const }));
    };
    const scheduler = new BatchScheduler(run, 8);
    const settled = await Promise.allSettled([1, 2, 3].map((id) => scheduler.submit(request(id))));
    expect(settled.map((s) => s.status)).to.deep.equal(["fulfilled", "rejected", "fulfilled"]);
    expect((settled[1] as PromiseRejectedResult).reason.message).to.equal("Gather idx out of range");
    expect(batches).to.deep.equal([[1, 2, 3], [1], [2], [3]]);
  });

  it("runs waiting on-chain rows before HTTP rows that arrived earlier, and fills batches with chain rows first", async function () {
    const runner = recordingRunner();
    const scheduler = new BatchScheduler(runner.run, 2);
    const http = [1, 2, 3].map((id) => scheduler.submit(request(id), "http"));
    expect(scheduler.waiting("http")).to.equal(3);
    const chain = [4, 5, 6].map((id) => scheduler.submit(request(id), "chain"));
    await Promise.all([...http, ...chain]);
    expect(runner.batches).to.deep.equal([[4, 5], [6, 1], [2, 3]]);
  });
});

import { expect } from "chai";
import { id, Wallet } from "ethers";
import { createBatchAnchorer, type SendAnchor } from "../../../oracle/src/store/batchAnchorer";
import { createBatchStore } from "../../../oracle/src/store/batchStore";
import { readMetricByLabel, readMetricValue } from "../../../oracle/src/metrics";
import { createTestCommon } from "./fixtures";
import { deferred } from "../../helpers/waitFor";

const VALIDATOR = Wallet.createRandom().address;
const record = (i: number, modelId = 1) => ({
  promptHash: id(`p${i}`),
  responseHash: id(`r${i}`),
  modelHash: id("m"),
  modelId,
  maxNewTokens: 8,
  finishReason: "length",
});

/** Records each anchor call; answers with sequential batch ids like the contract, or throws while `failing`. */
function recordingSender() {
  const calls: { root: string; count: number; modelId: number }[] = [];
  const state = { failing: false };
  const send: SendAnchor = async (root, count, modelId) => {
    if (state.failing) throw new Error("rpc unavailable");
    calls.push({ root, count, modelId });
    return { txHash: id(`tx${calls.length}`), batchId: BigInt(calls.length) };
  };
  return { calls, state, send };
}

/** Resolves once the anchorer reported `n` batches. */
function batchesSeen(anchorer: ReturnType<typeof createBatchAnchorer>, n: number) {
  return new Promise<void>((resolve) => {
    let seen = 0;
    anchorer.onBatch(() => {
      if (++seen === n) resolve();
    });
  });
}

describe("batch anchorer", () => {
  it("anchors a batch as soon as batchSize records wait", async () => {
    const common = createTestCommon();
    const sender = recordingSender();
    const anchorer = createBatchAnchorer(common, { validator: VALIDATOR, sendAnchor: sender.send, batchSize: 3, intervalMs: 3_600_000 });
    const seen = batchesSeen(anchorer, 1);
    anchorer.add(record(1));
    anchorer.add(record(2));
    expect(sender.calls).to.have.length(0);
    anchorer.add(record(3));
    await seen;
    expect(sender.calls).to.have.length(1);
    expect(sender.calls[0]).to.include({ count: 3, modelId: 1 });
    const proof = anchorer.store.proof(anchorer.store.recentRecords(1)[0].leaf)!;
    expect(proof.batch).to.include({ status: "anchored", batchId: "1", root: sender.calls[0].root });
    expect(await readMetricByLabel(common.metrics.batchesTotal, "outcome")).to.deep.equal({ anchored: 1 });
    expect(await readMetricValue(common.metrics.recordsTotal)).to.equal(3);
    expect(await readMetricValue(common.metrics.pendingBatchRecords)).to.equal(0);
  });

  it("anchors a partial batch (at the minimum fill) after the interval, once per model", async () => {
    const common = createTestCommon();
    const sender = recordingSender();
    const anchorer = createBatchAnchorer(common, { validator: VALIDATOR, sendAnchor: sender.send, batchSize: 100, intervalMs: 100, minRecords: 1 });
    anchorer.add(record(1, 1));
    anchorer.add(record(2, 2));
    const seen = batchesSeen(anchorer, 2);
    anchorer.start();
    await seen;
    await anchorer.stop();
    expect(sender.calls.map((c) => [c.modelId, c.count])).to.have.deep.members([
      [1, 1],
      [2, 1],
    ]);
  });

  it("keeps records after a failed anchor and anchors them on the next flush", async () => {
    const common = createTestCommon();
    const sender = recordingSender();
    const anchorer = createBatchAnchorer(common, { validator: VALIDATOR, sendAnchor: sender.send, batchSize: 10, intervalMs: 3_600_000 });
    anchorer.add(record(1));
    anchorer.add(record(2));
    sender.state.failing = true;
    const failed = await anchorer.flush();
    expect(failed.map((b) => b.status)).to.deep.equal(["failed"]);
    expect(anchorer.store.pendingCount()).to.equal(2);
    sender.state.failing = false;
    const anchored = await anchorer.flush();
    expect(anchored.map((b) => [b.status, b.count])).to.deep.equal([["anchored", 2]]);
    expect(await readMetricByLabel(common.metrics.batchesTotal, "outcome")).to.deep.equal({ failed: 1, anchored: 1 });
  });

  it("splits a flush into batches of at most batchSize", async () => {
    const common = createTestCommon();
    const sender = recordingSender();
    const anchorer = createBatchAnchorer(common, { validator: VALIDATOR, sendAnchor: sender.send, batchSize: 2, intervalMs: 3_600_000 });
    await anchorer.stop(); // no automatic anchoring: this test drives it by flush alone
    for (let i = 0; i < 5; i++) anchorer.add(record(i));
    const batches = await anchorer.flush();
    expect(batches.map((b) => b.count)).to.deep.equal([2, 2, 1]);
    expect(sender.calls.map((c) => c.count)).to.deep.equal([2, 2, 1]);
  });

  it("sends a batch a crash left in `sending` before it was signed when it starts", async () => {
    const common = createTestCommon();
    const store = createBatchStore(common.db);
    store.addRecord({ ...record(1), validator: VALIDATOR });
    const unfinished = store.openBatch(1, VALIDATOR, 10)!;
    const sender = recordingSender();
    const anchorer = createBatchAnchorer(common, { validator: VALIDATOR, sendAnchor: sender.send, store, batchSize: 10, intervalMs: 3_600_000 });
    const seen = batchesSeen(anchorer, 1);
    anchorer.start();
    await seen;
    expect(sender.calls).to.deep.equal([{ root: unfinished.root, count: 1, modelId: 1 }]);
    expect(store.getBatch(unfinished.seq)).to.include({ status: "anchored", batchId: "1" });
    await common.shutdown.run("test over"); // stops the anchorer (registered by start) before closing the database
  });
});

describe("batch anchorer budget", () => {
  it("sends at most maxPerHour anchors in a rolling hour, leaving further records waiting", async () => {
    const common = createTestCommon();
    const sender = recordingSender();
    const anchorer = createBatchAnchorer(common, { validator: VALIDATOR, sendAnchor: sender.send, batchSize: 1, intervalMs: 3_600_000, maxPerHour: 2 });
    for (let i = 1; i <= 5; i++) anchorer.add(record(i));
    await anchorer.flush();
    expect(sender.calls, `${sender.calls.length} anchors sent for a budget of 2 per hour`).to.have.length(2);
    expect(anchorer.store.pendingCount()).to.equal(3);
    expect(await readMetricByLabel(common.metrics.batchesTotal, "outcome")).to.deep.equal({ anchored: 2, held_budget: 1 });
    // Anchors opened over an hour ago no longer count.
    common.db.prepare("UPDATE record_batches SET created_at = created_at - 3600001").run();
    await anchorer.flush();
    expect(sender.calls).to.have.length(4);
  });

  it("leaves a partial batch below the minimum fill waiting past the interval, and anchors it once filled", async () => {
    const common = createTestCommon();
    const sender = recordingSender();
    const anchorer = createBatchAnchorer(common, { validator: VALIDATOR, sendAnchor: sender.send, batchSize: 100, intervalMs: 100, minRecords: 3 });
    anchorer.start();
    try {
      anchorer.add(record(1));
      anchorer.add(record(2));
      await new Promise((r) => setTimeout(r, 1_300)); // past the interval and a tick of the timer
      expect(sender.calls, "2 records are below the minimum fill of 3").to.have.length(0);
      const seen = batchesSeen(anchorer, 1);
      anchorer.add(record(3));
      await seen;
      expect(sender.calls.map((c) => c.count)).to.deep.equal([3]);
    } finally {
      await anchorer.stop();
    }
  });

  it("never anchors while the wallet would dip into the reserve, and anchors once it would not", async () => {
    const common = createTestCommon();
    const sender = recordingSender();
    let refusal: string | undefined = "balance 0.01 ETH minus up to 0.001 ETH of gas is below the reserve of 0.05 ETH";
    const anchorer = createBatchAnchorer(common, { validator: VALIDATOR, sendAnchor: sender.send, batchSize: 2, intervalMs: 3_600_000, checkFunds: async () => refusal });
    anchorer.add(record(1));
    anchorer.add(record(2));
    await anchorer.flush();
    await anchorer.flush();
    expect(sender.calls).to.have.length(0);
    expect(anchorer.store.pendingCount()).to.equal(2);
    expect(await readMetricByLabel(common.metrics.batchesTotal, "outcome")).to.deep.equal({ held_reserve: 1 });
    refusal = undefined;
    await anchorer.flush();
    expect(sender.calls).to.have.length(1);
  });
});

describe("batch anchorer, anchors in flight", () => {
  it("keeps the records of an anchor whose receipt timed out in its batch, and settles it from the recorded hash", async () => {
    const common = createTestCommon();
    const sends: string[] = [];
    const sendAnchor: SendAnchor = async (root, _count, _modelId, hooks) => {
      const txHash = id(`anchor ${sends.length}`);
      sends.push(root);
      hooks?.beforeBroadcast?.(txHash);
      throw new Error(`anchor: no receipt for ${txHash} yet`);
    };
    let onChain: "pending" | "anchored" = "pending";
    const anchorer = createBatchAnchorer(common, {
      validator: VALIDATOR,
      sendAnchor,
      lookupAnchor: async () => (onChain === "pending" ? { status: "pending" } : { status: "anchored", batchId: 7n }),
      batchSize: 10,
      intervalMs: 3_600_000,
    });
    anchorer.add(record(1));
    anchorer.add(record(2));
    const [first] = await anchorer.flush();
    expect(first.status).to.equal("sending");
    expect(first.txHash).to.equal(id("anchor 0"));
    expect(anchorer.store.pendingCount(), "records of a broadcast anchor are not pending again").to.equal(0);
    await anchorer.flush(); // still pending: nothing new is signed
    expect(sends, `${sends.length} anchors signed for one batch`).to.have.length(1);
    onChain = "anchored";
    await anchorer.flush();
    expect(anchorer.store.getBatch(first.seq)).to.include({ status: "anchored", batchId: "7", txHash: id("anchor 0") });
    expect(sends).to.have.length(1);
  });

  it("after a crash with an anchor broadcast, looks it up instead of sending it again", async () => {
    const common = createTestCommon();
    const store = createBatchStore(common.db);
    // The first process signs and broadcasts, then dies before the receipt.
    const broadcast = deferred();
    const crashed = createBatchAnchorer(common, {
      validator: VALIDATOR,
      store,
      sendAnchor: (_root, _count, _modelId, hooks) => {
        hooks?.beforeBroadcast?.(id("the only anchor"));
        broadcast.resolve();
        return new Promise(() => undefined);
      },
      batchSize: 10,
      intervalMs: 3_600_000,
    });
    crashed.add(record(1));
    void crashed.flush();
    await broadcast.promise;
    const unfinished = store.batchesByStatus("sending")[0];
    expect(unfinished?.txHash).to.equal(id("the only anchor"));

    const sender = recordingSender();
    const restarted = createBatchAnchorer(common, {
      validator: VALIDATOR,
      store,
      sendAnchor: sender.send,
      lookupAnchor: async (txHash) => (txHash === id("the only anchor") ? { status: "anchored", batchId: 3n } : { status: "failed", reason: "unknown" }),
      batchSize: 10,
      intervalMs: 3_600_000,
    });
    const seen = batchesSeen(restarted, 1);
    restarted.start();
    await seen;
    await restarted.stop();
    expect(sender.calls, "the anchor in flight at the crash was signed again").to.have.length(0);
    expect(store.getBatch(unfinished.seq)).to.include({ status: "anchored", batchId: "3", txHash: id("the only anchor") });
  });

  it("frees the records of an anchor that reverted or was dropped, so they are batched again", async () => {
    const common = createTestCommon();
    const sendAnchor: SendAnchor = async (_root, _count, _modelId, hooks) => {
      hooks?.beforeBroadcast?.(id("dropped"));
      throw new Error("rpc went away after the broadcast");
    };
    const anchorer = createBatchAnchorer(common, {
      validator: VALIDATOR,
      sendAnchor,
      lookupAnchor: async () => ({ status: "failed", reason: "unknown to the RPC (dropped)" }),
      batchSize: 10,
      intervalMs: 3_600_000,
    });
    anchorer.add(record(1));
    const [first] = await anchorer.flush();
    expect(first.status).to.equal("sending");
    const settled = await anchorer.flush();
    expect(settled[0]).to.include({ seq: first.seq, status: "failed" });
    expect(anchorer.store.getBatch(first.seq)?.error).to.match(/dropped/);
  });
});

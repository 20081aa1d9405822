import { expect } from "chai";
import { getAddress, id, Wallet } from "ethers";
import { createBatchStore, UnknownBatchError, type NewChatRecord } from "../../../oracle/src/store/batchStore";
import { openDatabase } from "../../../oracle/src/store/database";
import { verifyMerkleProof } from "../../../oracle/src/store/merkle";
import { recordLeaf } from "../../../oracle/src/store/recordLeaf";

const VALIDATOR = getAddress(Wallet.createRandom().address);
const OTHER_VALIDATOR = getAddress(Wallet.createRandom().address);

function record(i: number, overrides: Partial<NewChatRecord> = {}): NewChatRecord {
  return {
    promptHash: id(`prompt ${i}`),
    responseHash: id(`response ${i}`),
    modelHash: id("model"),
    modelId: 1,
    validator: VALIDATOR,
    maxNewTokens: 16,
    finishReason: "eos",
    ...overrides,
  };
}

describe("batch store", () => {
  it("keys a record by its contract leaf and returns the stored one on a repeat", () => {
    const store = createBatchStore(openDatabase(":memory:"));
    const first = store.addRecord(record(1), 1000);
    expect(first.created).to.equal(true);
    expect(first.record.leaf).to.equal(recordLeaf(record(1)));
    expect(first.record).to.include({ batchSeq: null, leafIndex: null, createdAt: 1000, modelId: 1 });
    const again = store.addRecord(record(1), 2000);
    expect(again.created).to.equal(false);
    expect(again.record.createdAt).to.equal(1000);
    expect(store.getRecord(first.record.leaf.toUpperCase().replace("0X", "0x"))).to.deep.equal(first.record);
  });

  it("finds records by prompt or response hash, newest first", () => {
    const store = createBatchStore(openDatabase(":memory:"));
    store.addRecord(record(1), 1);
    store.addRecord(record(2, { promptHash: id("prompt 1") }), 2);
    expect(store.recordsByTextHash(id("prompt 1")).map((r) => r.responseHash)).to.deep.equal([
      id("response 2"),
      id("response 1"),
    ]);
    expect(store.recordsByTextHash(id("response 2"))).to.have.length(1);
    expect(store.recentRecords(1)[0].responseHash).to.equal(id("response 2"));
  });

  it("batches the oldest pending records of one model and validator, and proves each against the root", () => {
    const store = createBatchStore(openDatabase(":memory:"));
    for (let i = 0; i < 5; i++) store.addRecord(record(i), i);
    store.addRecord(record(10, { modelId: 2 }), 0);
    store.addRecord(record(11, { validator: OTHER_VALIDATOR }), 0);
    expect(store.pendingCount()).to.equal(7);

    const batch = store.openBatch(1, VALIDATOR, 3, 99)!;
    expect(batch).to.include({ seq: 1, modelId: 1, validator: VALIDATOR, count: 3, status: "sending", batchId: null });
    expect(store.batchLeaves(batch.seq)).to.deep.equal([0, 1, 2].map((i) => recordLeaf(record(i))));
    expect(store.pendingCount()).to.equal(4);
    for (let i = 0; i < 3; i++) {
      const proof = store.proof(recordLeaf(record(i)))!;
      expect(proof.leafIndex).to.equal(i);
      expect(verifyMerkleProof(proof.proof, batch.root, recordLeaf(record(i)))).to.equal(true);
    }
    expect(store.proof(recordLeaf(record(3)))).to.equal(undefined);
    expect(store.pendingGroups().map((g) => [g.modelId, g.validator, g.count])).to.have.deep.members([
      [1, VALIDATOR, 2],
      [2, VALIDATOR, 1],
      [1, OTHER_VALIDATOR, 1],
    ]);
  });

  it("records the on-chain batch id and transaction once anchored", () => {
    const store = createBatchStore(openDatabase(":memory:"));
    store.addRecord(record(1));
    const batch = store.openBatch(1, VALIDATOR, 10)!;
    const anchored = store.markAnchored(batch.seq, 7n, "0x" + "AB".repeat(32), 5);
    expect(anchored).to.include({ status: "anchored", batchId: "7", txHash: "0x" + "ab".repeat(32), anchoredAt: 5 });
    expect(store.proof(recordLeaf(record(1)))!.batch).to.deep.equal(anchored);
    expect(store.batchesByStatus("anchored")).to.deep.equal([anchored]);
  });

  it("returns a failed batch's records to the pending pool", () => {
    const store = createBatchStore(openDatabase(":memory:"));
    store.addRecord(record(1));
    store.addRecord(record(2));
    const batch = store.openBatch(1, VALIDATOR, 10)!;
    expect(store.markFailed(batch.seq, "rpc down")).to.include({ status: "failed", error: "rpc down" });
    expect(store.pendingCount()).to.equal(2);
    expect(store.getRecord(recordLeaf(record(1)))!.batchSeq).to.equal(null);
    const retry = store.openBatch(1, VALIDATOR, 10)!;
    expect(retry.seq).to.equal(2);
    expect(retry.root).to.equal(batch.root);
  });

  it("opens no batch when nothing waits and rejects an unknown batch", () => {
    const store = createBatchStore(openDatabase(":memory:"));
    expect(store.openBatch(1, VALIDATOR, 10)).to.equal(undefined);
    expect(() => store.markAnchored(42, 1n, id("tx"))).to.throw(UnknownBatchError, "42");
  });
});

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { createJournal } from "../../../oracle/src/jobs/journal";
import { createSyncBarrier, openDatabase } from "../../../oracle/src/store/database";

describe("journal durability", function () {
  let dir: string;
  beforeEach(function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "chat-oracle-sync-"));
  });
  afterEach(function () {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("releases a transaction hash for broadcast only after the WAL is synced, one sync per turn for all callers", async function () {
    const db = openDatabase(path.join(dir, "oracle.sqlite"));
    try {
      const journal = createJournal(db);
      const keys = [1n, 2n, 3n].map((requestId) => ({ requestId, validator: "0x00000000000000000000000000000000000000b1", round: 1 }));
      for (const key of keys) {
        journal.addJob({ ...key, modelId: "1", prompt: "p", promptHash: "0x01", maxNewTokens: 4, seenBlock: 1 });
        journal.move(key, "inferred", { salt: `0x${"11".repeat(32)}`, responseText: "r", responseHash: "0x02" });
      }
      const walSize = () => fs.statSync(path.join(dir, "oracle.sqlite-wal")).size;
      const syncs: { file: string; walSize: number; finish: () => void }[] = [];
      const durable = createSyncBarrier(db, {
        sync: (file) => new Promise<void>((resolve) => syncs.push({ file, walSize: walSize(), finish: resolve })),
      });
      const recordTx = (key: (typeof keys)[number], hash: string) => {
        journal.recordTx(key, "commit", hash);
        return durable();
      };

      // Three keys' commits signed in the same turn: each row is written at once, the sync comes after the turn.
      const released: number[] = [];
      const writes = keys.map((key, i) => recordTx(key, `0x${String(i + 2).repeat(64)}`).then(() => released.push(i)));
      expect(keys.map((key) => journal.get(key)?.commitTx)).to.deep.equal([2, 3, 4].map((d) => `0x${String(d).repeat(64)}`));
      expect(syncs, "not synced within the turn").to.have.length(0);
      await new Promise((r) => setImmediate(r));
      expect(syncs, "one sync for the three").to.have.length(1);
      expect(syncs[0].file).to.equal(path.join(dir, "oracle.sqlite-wal"));
      expect(syncs[0].walSize, "the rows were in the WAL when the sync began").to.be.greaterThan(0);
      await new Promise((r) => setTimeout(r, 20));
      expect(released, "nothing broadcast before the sync finished").to.deep.equal([]);

      // A write while that sync runs is not covered by it: it waits for a sync of its own.
      const late = recordTx(keys[0], `0x${"9".repeat(64)}`).then(() => released.push(9));
      syncs[0].finish();
      await Promise.all(writes);
      expect(released).to.have.members([0, 1, 2]);
      await new Promise((r) => setImmediate(r));
      expect(syncs).to.have.length(2);
      syncs[1].finish();
      await late;
      expect(released).to.include(9);
    } finally {
      db.close();
    }
  });

  it("syncs the journal's real WAL file before recordTx resolves, and keeps the connection's default NORMAL", async function () {
    const db = openDatabase(path.join(dir, "oracle.sqlite"));
    try {
      const journal = createJournal(db);
      const key = { requestId: 1n, validator: "0x00000000000000000000000000000000000000b1", round: 1 };
      journal.addJob({ ...key, modelId: "1", prompt: "p", promptHash: "0x01", maxNewTokens: 4, seenBlock: 1 });
      await journal.recordTx(key, "commit", `0x${"22".repeat(32)}`);
      expect(journal.get(key)?.commitTx).to.equal(`0x${"22".repeat(32)}`);
      expect(db.pragma("synchronous", { simple: true }), "NORMAL").to.equal(1);
    } finally {
      db.close();
    }
  });
});

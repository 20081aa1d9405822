import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { createJournal } from "../../../oracle/src/jobs/journal";
import { openDatabase } from "../../../oracle/src/store/database";

describe("journal durability", function () {
  it("syncs the WAL before a transaction hash is released for broadcast, one synced commit per turn for all callers", async function () {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "chat-oracle-sync-"));
    const statements: string[] = [];
    const db = openDatabase(path.join(dir, "oracle.sqlite"), { verbose: (sql) => statements.push(String(sql)) });
    try {
      const journal = createJournal(db);
      const keys = [1n, 2n, 3n].map((requestId) => ({ requestId, validator: "0x00000000000000000000000000000000000000b1", round: 1 }));
      for (const key of keys) {
        journal.addJob({ ...key, modelId: "1", prompt: "p", promptHash: "0x01", maxNewTokens: 4, seenBlock: 1 });
        // The salt goes in with NORMAL: the barrier before its commitment's broadcast syncs it.
        journal.move(key, "inferred", { salt: `0x${"11".repeat(32)}`, responseText: "r", responseHash: "0x02" });
      }
      const fullSyncs = () => statements.filter((s) => /synchronous\s*=\s*FULL/i.test(s)).length;
      const barrierCommits = () => statements.filter((s) => /UPDATE sync_barrier/.test(s)).length;
      expect(fullSyncs(), "no synced write yet").to.equal(0);

      // Three keys' commits signed in the same turn: each row is written at once, the sync waits for the turn's end.
      const released: number[] = [];
      const writes = keys.map((key, i) => journal.recordTx(key, "commit", `0x${String(i + 2).repeat(64)}`).then(() => released.push(i)));
      expect(keys.map((key) => journal.get(key)?.commitTx)).to.deep.equal([2, 3, 4].map((d) => `0x${String(d).repeat(64)}`));
      expect(barrierCommits(), "not synced within the turn").to.equal(0);
      expect(released).to.deep.equal([]);
      await Promise.all(writes);
      expect(released).to.have.members([0, 1, 2]);
      expect(barrierCommits(), "one synced commit for the three").to.equal(1);
      const barrier = statements.findIndex((s) => /UPDATE sync_barrier/.test(s));
      const setting = statements.slice(0, barrier).reverse().find((s) => /synchronous\s*=/i.test(s));
      expect(setting, "the barrier's commit runs with FULL").to.match(/FULL/i);
      expect(db.pragma("synchronous", { simple: true }), "NORMAL again afterwards").to.equal(1);

      // A later turn gets a barrier of its own.
      await journal.recordTx(keys[0], "reveal", `0x${"9".repeat(64)}`);
      expect(barrierCommits()).to.equal(2);
    } finally {
      db.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

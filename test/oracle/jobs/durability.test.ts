import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { createJournal } from "../../../oracle/src/jobs/journal";
import { openDatabase } from "../../../oracle/src/store/database";

describe("journal durability", function () {
  it("writes salts and transaction hashes with synchronous=FULL, other rows with NORMAL", function () {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "chat-oracle-sync-"));
    const statements: string[] = [];
    const db = openDatabase(path.join(dir, "oracle.sqlite"), { verbose: (sql) => statements.push(String(sql)) });
    try {
      const journal = createJournal(db);
      const key = { requestId: 1n, validator: "0x00000000000000000000000000000000000000b1", round: 1 };
      journal.addJob({ ...key, modelId: "1", prompt: "p", promptHash: "0x01", maxNewTokens: 4, seenBlock: 1 });

      /** The synchronous setting in force when the first statement matching `pattern` ran. */
      const syncAt = (pattern: RegExp): string => {
        const index = statements.findIndex((s) => pattern.test(s));
        expect(index, `no statement matches ${pattern}`).to.be.greaterThan(-1);
        const last = statements.slice(0, index).reverse().find((s) => /synchronous\s*=/i.test(s));
        return last?.replace(/.*synchronous\s*=\s*(\w+).*/is, "$1").toUpperCase() ?? "NORMAL";
      };

      statements.length = 0;
      journal.move(key, "inferred", { salt: `0x${"11".repeat(32)}`, responseText: "r", responseHash: "0x02" });
      expect(syncAt(/UPDATE journal_jobs SET state/)).to.equal("FULL");
      statements.length = 0;
      journal.recordTx(key, "commit", `0x${"22".repeat(32)}`);
      expect(syncAt(/UPDATE journal_jobs SET commit_tx/)).to.equal("FULL");
      statements.length = 0;
      journal.defer(key, 5);
      expect(syncAt(/UPDATE journal_jobs SET not_before/)).to.equal("NORMAL");
      expect(db.pragma("synchronous", { simple: true }), "NORMAL again afterwards").to.equal(1);
    } finally {
      db.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

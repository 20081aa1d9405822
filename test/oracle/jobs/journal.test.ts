import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { openDatabase } from "../../../oracle/src/store/database";
import { createJournal, type NewJob } from "../../../oracle/src/jobs/journal";
import { InvalidJobTransitionError } from "../../../oracle/src/jobs/states";

const V = "0x00000000000000000000000000000000000000aa";

function newJob(requestId: bigint, seenBlock: number, validator = V): NewJob {
  return { requestId, validator, round: 0, modelId: "1", prompt: "hi", promptHash: "0x01", maxNewTokens: 8, seenBlock };
}

function request(requestId: bigint, seenBlock: number, deadline: number) {
  return { requestId, seenBlock, deadline, modelId: "1", prompt: "hi", promptHash: "0x01", maxNewTokens: 8 };
}

describe("oracle job journal", function () {
  it("adds a job once and moves it forward only", async function () {
    const journal = createJournal(openDatabase(":memory:"));
    expect(journal.addJob(newJob(1n, 5))).to.equal(true);
    expect(journal.addJob(newJob(1n, 5))).to.equal(false);
    const key = { requestId: 1n, validator: V, round: 0 };
    journal.move(key, "inferred", { salt: "0xs", responseText: "yo", responseHash: "0xh" });
    await journal.recordTx(key, "commit", "0xtx");
    const committed = journal.move(key, "committed", { commitBlock: 6 });
    expect(committed).to.include({ state: "committed", salt: "0xs", responseText: "yo", commitTx: "0xtx", commitBlock: 6, txAttempts: 1 });
    expect(() => journal.move(key, "seen")).to.throw(InvalidJobTransitionError);
  });

  it("keeps every write across a reopen of the file", function () {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "journal-")), "j.sqlite");
    const db = openDatabase(file);
    const journal = createJournal(db);
    journal.addJob(newJob(7n, 3));
    journal.move({ requestId: 7n, validator: V, round: 0 }, "inferred", { salt: "0x5a17" });
    journal.commitRange(3, [{ number: 3, hash: "0xb3" }]);
    db.close();
    const again = createJournal(openDatabase(file));
    expect(again.get({ requestId: 7n, validator: V, round: 0 })?.salt).to.equal("0x5a17");
    expect(again.processedBlock()).to.equal(3);
    expect(again.blockHash(3)).to.equal("0xb3");
  });

  it("lists due jobs and parks failed ones until their back-off ends", function () {
    const journal = createJournal(openDatabase(":memory:"));
    journal.addJob(newJob(1n, 1));
    journal.addJob(newJob(2n, 2));
    journal.recordFailure({ requestId: 1n, validator: V, round: 0 }, "rpc down", 1_000);
    expect(journal.dueJobKeys(500).map((j) => j.requestId)).to.deep.equal([2n]);
    expect(journal.dueJobKeys(1_000).map((j) => j.requestId)).to.deep.equal([1n, 2n]);
  });

  it("tells when the earliest put-off active job becomes due, ignoring due and closed ones", function () {
    const journal = createJournal(openDatabase(":memory:"));
    expect(journal.nextDueAt(0), "no jobs").to.equal(undefined);
    journal.addJob(newJob(1n, 1));
    journal.addJob(newJob(2n, 2));
    journal.addJob(newJob(3n, 3));
    expect(journal.nextDueAt(100), "every job is due already").to.equal(undefined);
    journal.defer({ requestId: 1n, validator: V, round: 0 }, 5_000);
    journal.recordFailure({ requestId: 2n, validator: V, round: 0 }, "rpc down", 2_000);
    journal.defer({ requestId: 3n, validator: V, round: 0 }, 1_000);
    journal.closeRequest(3n, "finalized", 9);
    expect(journal.nextDueAt(100)).to.equal(2_000);
    expect(journal.nextDueAt(2_000), "due at 2,000 is not put off past it").to.equal(5_000);
    expect(journal.nextDueAt(5_000)).to.equal(undefined);
  });

  it("closes every active job of a request and counts states", function () {
    const journal = createJournal(openDatabase(":memory:"));
    journal.addJob(newJob(1n, 1, V));
    journal.addJob(newJob(1n, 1, "0x00000000000000000000000000000000000000bb"));
    const closed = journal.closeRequest(1n, "finalized", 9);
    expect(closed).to.have.length(2);
    expect(journal.closeRequest(1n, "timed_out", 10)).to.have.length(0);
    expect(journal.countByState()).to.include({ finalized: 2, seen: 0 });
  });

  it("rolls back to the common ancestor: deletes later jobs, steps back later transactions", async function () {
    const journal = createJournal(openDatabase(":memory:"));
    const early = { requestId: 1n, validator: V, round: 0 };
    const late = { requestId: 2n, validator: V, round: 0 };
    journal.addJob(newJob(1n, 10));
    journal.trackRequest(request(1n, 10, 100));
    journal.move(early, "inferred", { salt: "0x1" });
    await journal.recordTx(early, "commit", "0xc");
    journal.move(early, "committed", { commitBlock: 11 });
    await journal.recordTx(early, "reveal", "0xr");
    journal.move(early, "revealed", { revealBlock: 13 });
    journal.move(early, "finalized", { closedBlock: 13 });
    journal.markRequestClosed(1n, 13);
    journal.addJob(newJob(2n, 12));
    journal.trackRequest(request(2n, 12, 100));
    journal.commitRange(13, [10, 11, 12, 13].map((n) => ({ number: n, hash: `0x${n}` })));

    const result = journal.rollbackTo(11);
    expect(result.deleted).to.equal(1);
    expect(journal.get(late)).to.equal(undefined);
    expect(journal.getRequest(2n)).to.equal(undefined);
    const back = journal.get(early)!;
    expect(back).to.include({ state: "committed", commitBlock: 11, revealBlock: null, closedBlock: null, revealTx: "0xr" });
    expect(journal.getRequest(1n)?.open).to.equal(true);
    expect(journal.processedBlock()).to.equal(11);
    expect(journal.blockHash(12)).to.equal(undefined);
    expect(journal.blockHash(11)).to.equal("0x11");
  });

  it("keeps a finalized request open for its settlement, and forgets a finalization mined in a dropped block", function () {
    const journal = createJournal(openDatabase(":memory:"));
    journal.trackRequest(request(1n, 10, 100));
    journal.trackRequest(request(2n, 10, 100));
    expect(journal.getRequest(1n)?.finalizedBlock).to.equal(undefined);
    journal.markRequestFinalized(1n, 11);
    journal.markRequestFinalized(2n, 13);
    journal.markRequestFinalized(3n, 13); // not tracked: nothing to mark
    expect(journal.getRequest(1n)).to.include({ open: true, finalizedBlock: 11 });
    expect(journal.getRequest(3n)).to.equal(undefined);
    journal.commitRange(13, [10, 11, 12, 13].map((n) => ({ number: n, hash: `0x${n}` })));
    journal.rollbackTo(12);
    expect(journal.getRequest(1n)?.finalizedBlock).to.equal(11);
    expect(journal.getRequest(2n)).to.include({ open: true, finalizedBlock: undefined });
  });

  it("finds open requests whose deadline passed", function () {
    const journal = createJournal(openDatabase(":memory:"));
    journal.trackRequest(request(1n, 1, 50));
    journal.trackRequest(request(2n, 1, 150));
    journal.trackRequest(request(3n, 1, 40));
    journal.markRequestClosed(3n, 2);
    expect(journal.expiredRequests(100).map((r) => r.requestId)).to.deep.equal([1n]);
    journal.setRequestDeadline(1n, 200);
    expect(journal.expiredRequests(100)).to.have.length(0);
  });
});

describe("oracle job journal: declines", function () {
  it("migrates a journal written before the declined state, keeping its rows, and then accepts declined jobs", async function () {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "journal-v1-")), "j.sqlite");
    const db = openDatabase(file);
    createJournal(db).addJob(newJob(3n, 4));
    // Back to the schema of migration 1..5 (the table's CHECK without `declined`), as an older node left it.
    db.exec(`DROP TABLE journal_jobs;
      CREATE TABLE journal_jobs (request_id TEXT NOT NULL, validator TEXT NOT NULL, round INTEGER NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('seen','inferred','committed','revealed','finalized','timed_out','failed')),
        model_id TEXT NOT NULL, prompt TEXT NOT NULL, prompt_hash TEXT NOT NULL, max_new_tokens INTEGER NOT NULL,
        seen_block INTEGER NOT NULL, closed_block INTEGER, salt TEXT, response_text TEXT, response_hash TEXT, commit_tx TEXT,
        reveal_tx TEXT, commit_block INTEGER, reveal_block INTEGER, tx_attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT,
        not_before INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
        PRIMARY KEY (request_id, validator, round));
      INSERT INTO journal_jobs (request_id, validator, round, state, model_id, prompt, prompt_hash, max_new_tokens, seen_block, created_at, updated_at)
        VALUES ('3', '${V}', 0, 'seen', '1', 'hi', '0x01', 8, 4, 0, 0);
      ALTER TABLE journal_requests DROP COLUMN finalized_block;
      DELETE FROM schema_migrations WHERE component = 'journal' AND version > 5;`);
    db.close();
    const journal = createJournal(openDatabase(file));
    const key = { requestId: 3n, validator: V, round: 0 };
    expect(journal.get(key)?.state).to.equal("seen");
    await journal.recordTx(key, "commit", "0xdecline");
    expect(journal.move(key, "declined", { commitBlock: 5 })).to.include({ state: "declined", commitTx: "0xdecline" });
    expect(() => journal.move(key, "committed")).to.throw(InvalidJobTransitionError);
  });

  it("closes only the jobs in the given states (a finalized record leaves committed members to reveal late)", function () {
    const journal = createJournal(openDatabase(":memory:"));
    const [a, b] = [V, "0x00000000000000000000000000000000000000bb"];
    journal.addJob(newJob(1n, 1, a));
    journal.addJob(newJob(1n, 1, b));
    journal.move({ requestId: 1n, validator: a, round: 0 }, "revealed");
    journal.move({ requestId: 1n, validator: b, round: 0 }, "committed");
    const closed = journal.closeRequest(1n, "finalized", 9, undefined, ["revealed"]);
    expect(closed.map((j) => j.validator)).to.deep.equal([a]);
    expect(journal.get({ requestId: 1n, validator: b, round: 0 })?.state).to.equal("committed");
    expect(journal.closeRequest(1n, "declined", 10).map((j) => j.state)).to.deep.equal(["declined"]);
  });

  it("rolls a decline mined in a dropped block back to seen, where the decision is made again", async function () {
    const journal = createJournal(openDatabase(":memory:"));
    const key = { requestId: 1n, validator: V, round: 0 };
    journal.addJob(newJob(1n, 10));
    await journal.recordTx(key, "commit", "0xdecline");
    journal.move(key, "declined", { commitBlock: 12 });
    journal.commitRange(12, [10, 11, 12].map((n) => ({ number: n, hash: `0x${n}` })));
    journal.rollbackTo(11);
    expect(journal.get(key)).to.include({ state: "seen", commitTx: "0xdecline", commitBlock: null });
  });

  it("lists open requests oldest first", function () {
    const journal = createJournal(openDatabase(":memory:"));
    journal.trackRequest(request(2n, 5, 0));
    journal.trackRequest(request(1n, 3, 0));
    journal.trackRequest(request(3n, 7, 0));
    journal.markRequestClosed(3n, 8);
    expect(journal.openRequests().map((r) => r.requestId)).to.deep.equal([1n, 2n]);
  });
});

import { applyMigrations, createSyncBarrier, type Database } from "../store/database";
import { ACTIVE_STATES, InvalidJobTransitionError, JOB_STATES, canMove, type JobState } from "./states";

/** One committee seat of one request, as the journal stores it. `round` counts reassignments of the request. */
export interface Job {
  requestId: bigint;
  validator: string;
  round: number;
  state: JobState;
  modelId: string;
  prompt: string;
  promptHash: string;
  maxNewTokens: number;
  /** Block of the event that created the job; a reorg below it deletes the job. */
  seenBlock: number;
  /** Block of the chain event that ended the job (finalized / timed out), if any. */
  closedBlock: number | null;
  salt: string | null;
  responseText: string | null;
  responseHash: string | null;
  commitTx: string | null;
  revealTx: string | null;
  /** Blocks the commit and reveal were mined in (null while unsent or pending). */
  commitBlock: number | null;
  revealBlock: number | null;
  txAttempts: number;
  /** Retryable failures of the current step (reset when the job moves); the pipeline backs off on it. */
  failures: number;
  lastError: string | null;
  /** Epoch ms before which the pipeline leaves the job alone (back-off after a retryable error). */
  notBefore: number;
  updatedAt: number;
}

/** An event the listener could not use, recorded instead of blocking its range. */
export interface SkippedEvent {
  block: number;
  logIndex: number;
  txHash: string;
  address: string;
  reason: string;
}

/** A request seen on-chain, whoever serves it; the timeout sweeper walks the open ones. */
export interface TrackedRequest {
  requestId: bigint;
  seenBlock: number;
  modelId: string;
  prompt: string;
  promptHash: string;
  maxNewTokens: number;
  open: boolean;
  /** Epoch seconds (chain time) after which `timeout` may be callable; 0 when unknown. */
  deadline: number;
  /** Block of its `RecordFinalized` (undefined: not final yet). A final request stays open until it is settled. */
  finalizedBlock?: number;
}

export interface NewJob {
  requestId: bigint;
  validator: string;
  round: number;
  modelId: string;
  prompt: string;
  promptHash: string;
  maxNewTokens: number;
  seenBlock: number;
}

/** The jobs table; `states` is the CHECK list, fixed when the migration that creates the table runs. */
function jobsTable(name: string, states: readonly string[]): string {
  return `CREATE TABLE IF NOT EXISTS ${name} (
     request_id TEXT NOT NULL,
     validator TEXT NOT NULL,
     round INTEGER NOT NULL,
     state TEXT NOT NULL CHECK (state IN (${states.map((s) => `'${s}'`).join(",")})),
     model_id TEXT NOT NULL,
     prompt TEXT NOT NULL,
     prompt_hash TEXT NOT NULL,
     max_new_tokens INTEGER NOT NULL,
     seen_block INTEGER NOT NULL,
     closed_block INTEGER,
     salt TEXT,
     response_text TEXT,
     response_hash TEXT,
     commit_tx TEXT,
     reveal_tx TEXT,
     commit_block INTEGER,
     reveal_block INTEGER,
     tx_attempts INTEGER NOT NULL DEFAULT 0,
     last_error TEXT,
     not_before INTEGER NOT NULL DEFAULT 0,
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL,
     PRIMARY KEY (request_id, validator, round))`;
}

/** States before the `declined` state existed (migration 1 created the table with this CHECK list). */
const STATES_V1 = ["seen", "inferred", "committed", "revealed", "finalized", "timed_out", "failed"] as const;

const MIGRATIONS = [
  jobsTable("journal_jobs", STATES_V1),
  `CREATE INDEX IF NOT EXISTS journal_jobs_state ON journal_jobs (state)`,
  `CREATE TABLE IF NOT EXISTS journal_requests (
     request_id TEXT PRIMARY KEY,
     seen_block INTEGER NOT NULL,
     model_id TEXT NOT NULL,
     prompt TEXT NOT NULL,
     prompt_hash TEXT NOT NULL,
     max_new_tokens INTEGER NOT NULL,
     open INTEGER NOT NULL,
     deadline INTEGER NOT NULL DEFAULT 0,
     closed_block INTEGER)`,
  `CREATE TABLE IF NOT EXISTS journal_blocks (number INTEGER PRIMARY KEY, hash TEXT NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS journal_cursor (id INTEGER PRIMARY KEY CHECK (id = 1), processed_block INTEGER NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS journal_skipped_events (
     block INTEGER NOT NULL, log_index INTEGER NOT NULL, tx_hash TEXT NOT NULL, address TEXT NOT NULL,
     reason TEXT NOT NULL, created_at INTEGER NOT NULL, PRIMARY KEY (block, log_index))`,
  `ALTER TABLE journal_jobs ADD COLUMN failures INTEGER NOT NULL DEFAULT 0`,
  // SQLite cannot alter a CHECK: rebuild the jobs table with the `declined` state allowed (columns in the same order).
  `${jobsTable("journal_jobs_v2", JOB_STATES)};
   ALTER TABLE journal_jobs_v2 ADD COLUMN failures INTEGER NOT NULL DEFAULT 0;
   INSERT INTO journal_jobs_v2 SELECT * FROM journal_jobs;
   DROP TABLE journal_jobs;
   ALTER TABLE journal_jobs_v2 RENAME TO journal_jobs;
   CREATE INDEX IF NOT EXISTS journal_jobs_state ON journal_jobs (state)`,
  `ALTER TABLE journal_requests ADD COLUMN finalized_block INTEGER`,
];

interface JobRow {
  request_id: string;
  validator: string;
  round: number;
  state: JobState;
  model_id: string;
  prompt: string;
  prompt_hash: string;
  max_new_tokens: number;
  seen_block: number;
  closed_block: number | null;
  salt: string | null;
  response_text: string | null;
  response_hash: string | null;
  commit_tx: string | null;
  reveal_tx: string | null;
  commit_block: number | null;
  reveal_block: number | null;
  tx_attempts: number;
  failures: number;
  last_error: string | null;
  not_before: number;
  updated_at: number;
}

function toJob(row: JobRow): Job {
  return {
    requestId: BigInt(row.request_id),
    validator: row.validator,
    round: row.round,
    state: row.state,
    modelId: row.model_id,
    prompt: row.prompt,
    promptHash: row.prompt_hash,
    maxNewTokens: row.max_new_tokens,
    seenBlock: row.seen_block,
    closedBlock: row.closed_block,
    salt: row.salt,
    responseText: row.response_text,
    responseHash: row.response_hash,
    commitTx: row.commit_tx,
    revealTx: row.reveal_tx,
    commitBlock: row.commit_block,
    revealBlock: row.reveal_block,
    txAttempts: row.tx_attempts,
    failures: row.failures,
    lastError: row.last_error,
    notBefore: row.not_before,
    updatedAt: row.updated_at,
  };
}

export type JobKey = Pick<Job, "requestId" | "validator" | "round">;

/** Fields a move may write together with the new state. */
export type JobUpdate = Partial<
  Pick<Job, "salt" | "responseText" | "responseHash" | "closedBlock" | "lastError" | "commitBlock" | "revealBlock">
>;

/**
 * The durable record of everything the node has seen and done, in the node's SQLite file (WAL). Every write is a
 * synchronous SQLite transaction, so when a method returns the row survives a `kill -9`.
 */
export interface Journal {
  /** Inserts the job if it is new (a re-processed event keeps the existing row); true when inserted. */
  addJob(job: NewJob): boolean;
  get(key: JobKey): Job | undefined;
  /** Moves a job forward (see states.ts), writing the given fields in the same transaction. */
  move(key: JobKey, to: JobState, update?: JobUpdate): Job;
  /**
   * Records the hash of a signed transaction before it is broadcast; resolves once the row (and every earlier one, the
   * salt included) is on disk across an OS crash. Broadcast only then.
   */
  recordTx(key: JobKey, kind: "commit" | "reveal", txHash: string | null): Promise<void>;
  /** Records a retryable failure: bumps `failures` and parks the job until `notBefore`. */
  recordFailure(key: JobKey, message: string, notBefore: number): Job;
  /** Leaves a waiting job alone until `notBefore` (no error). */
  defer(key: JobKey, notBefore: number): void;
  /** Makes every waiting job of a request due now: something happened on-chain that it may wait for. */
  nudge(requestId: bigint): void;
  /**
   * Keys of the active (non-terminal) jobs due now, oldest first: the loop scans often and most of what it finds is
   * already running, so the rows (prompt and response included) are read only for the jobs it starts.
   */
  dueJobKeys(now: number, limit?: number): JobKey[];
  /** When the earliest active job put off past `now` becomes due (undefined: none is). */
  nextDueAt(now: number): number | undefined;
  /** Every job of a request (all validators and rounds). */
  jobsOfRequest(requestId: bigint): Job[];
  /**
   * Moves the active jobs of a request (all, or those in `states`) to a terminal state (the chain said so). Returns
   * the jobs moved.
   */
  closeRequest(
    requestId: bigint,
    to: "finalized" | "timed_out" | "declined",
    block: number,
    round?: number,
    states?: readonly JobState[],
  ): Job[];
  countByState(): Record<JobState, number>;

  trackRequest(request: Omit<TrackedRequest, "open">): void;
  setRequestDeadline(requestId: bigint, deadline: number): void;
  markRequestClosed(requestId: bigint, block: number): void;
  /** The request's record is final (in `block`); it stays open until settled. No-op for an untracked request. */
  markRequestFinalized(requestId: bigint, block: number): void;
  getRequest(requestId: bigint): TrackedRequest | undefined;
  /**
   * Open requests (not yet settled, timed out for good or declined), oldest first; with `unfinalized`, only those
   * whose record is not final yet.
   */
  openRequests(limit?: number, options?: { unfinalized?: boolean }): TrackedRequest[];
  /** Open requests whose deadline (chain seconds) is at or before `chainTime`. */
  expiredRequests(chainTime: number, limit?: number): TrackedRequest[];
  openRequestCount(): number;

  processedBlock(): number | undefined;
  /** Stores the hashes of the blocks a range covered and advances the cursor, in one transaction with `work`. */
  commitRange(toBlock: number, blocks: readonly { number: number; hash: string }[], work?: () => void): void;
  blockHash(number: number): string | undefined;
  /** Highest stored block at or below `number`. */
  storedBlocksDescending(belowOrAt: number, limit: number): { number: number; hash: string }[];
  /**
   * Undoes everything learned from blocks after `ancestor`: jobs and requests first seen there are deleted (their ids
   * may now name other requests or nothing), jobs and requests closed there are re-opened, block hashes above it are
   * dropped and the cursor goes back to it. Returns how many jobs were deleted and re-opened.
   */
  rollbackTo(ancestor: number): { deleted: number; reopened: number };
  /** Drops stored block hashes older than `keepFrom` (they are past any reorg we handle). */
  pruneBlocks(keepFrom: number): void;

  /** Runs `work` in a savepoint of the current transaction (or its own): a throw undoes its writes and propagates. */
  atomically<T>(work: () => T): T;
  /** Records an event the listener skipped (a reorg below its block forgets it). */
  recordSkippedEvent(event: SkippedEvent): void;
  /** Skipped events, oldest first. */
  skippedEvents(limit?: number): SkippedEvent[];
}

export function createJournal(db: Database): Journal {
  applyMigrations(db, "journal", MIGRATIONS);
  const now = () => Date.now();
  const keyArgs = (k: JobKey) => [k.requestId.toString(), k.validator.toLowerCase(), k.round] as const;
  const durable = createSyncBarrier(db);

  const insertJob = db.prepare(
    `INSERT OR IGNORE INTO journal_jobs (request_id, validator, round, state, model_id, prompt, prompt_hash,
       max_new_tokens, seen_block, created_at, updated_at) VALUES (?, ?, ?, 'seen', ?, ?, ?, ?, ?, ?, ?)`,
  );
  const selectJob = db.prepare(`SELECT * FROM journal_jobs WHERE request_id = ? AND validator = ? AND round = ?`);
  const updateState = db.prepare(
    `UPDATE journal_jobs SET state = @state, salt = COALESCE(@salt, salt), response_text = COALESCE(@responseText, response_text),
       response_hash = COALESCE(@responseHash, response_hash), closed_block = COALESCE(@closedBlock, closed_block),
       commit_block = COALESCE(@commitBlock, commit_block), reveal_block = COALESCE(@revealBlock, reveal_block),
       last_error = @lastError, not_before = 0, failures = CASE WHEN state = @state THEN failures ELSE 0 END, updated_at = @now
     WHERE request_id = @requestId AND validator = @validator AND round = @round`,
  );
  const updateCommitTx = db.prepare(
    `UPDATE journal_jobs SET commit_tx = ?, tx_attempts = tx_attempts + 1, updated_at = ? WHERE request_id = ? AND validator = ? AND round = ?`,
  );
  const updateRevealTx = db.prepare(
    `UPDATE journal_jobs SET reveal_tx = ?, tx_attempts = tx_attempts + 1, updated_at = ? WHERE request_id = ? AND validator = ? AND round = ?`,
  );
  const updateFailure = db.prepare(
    `UPDATE journal_jobs SET last_error = ?, not_before = ?, failures = failures + 1, updated_at = ?
     WHERE request_id = ? AND validator = ? AND round = ?`,
  );
  const updateNotBefore = db.prepare(
    `UPDATE journal_jobs SET not_before = ? WHERE request_id = ? AND validator = ? AND round = ?`,
  );
  const placeholders = ACTIVE_STATES.map(() => "?").join(",");
  const nudgeRequest = db.prepare(
    `UPDATE journal_jobs SET not_before = 0 WHERE request_id = ? AND not_before > 0 AND state IN (${placeholders})`,
  );
  const selectDue = db.prepare(
    `SELECT request_id, validator, round FROM journal_jobs WHERE state IN (${placeholders}) AND not_before <= ?
     ORDER BY seen_block, CAST(request_id AS INTEGER) LIMIT ?`,
  );
  const selectNextDue = db.prepare(
    `SELECT MIN(not_before) AS at FROM journal_jobs WHERE state IN (${placeholders}) AND not_before > ?`,
  );
  const insertSkipped = db.prepare(
    `INSERT OR REPLACE INTO journal_skipped_events (block, log_index, tx_hash, address, reason, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
  );
  const selectSkipped = db.prepare(
    `SELECT block, log_index AS logIndex, tx_hash AS txHash, address, reason FROM journal_skipped_events ORDER BY block, log_index LIMIT ?`,
  );
  const selectOfRequest = db.prepare(`SELECT * FROM journal_jobs WHERE request_id = ? ORDER BY round, validator`);
  const closeActive = db.prepare(
    `UPDATE journal_jobs SET state = ?, closed_block = ?, updated_at = ?
     WHERE request_id = ? AND state IN (${placeholders}) AND (? IS NULL OR round = ?) RETURNING *`,
  );
  const countStates = db.prepare(`SELECT state, COUNT(*) AS n FROM journal_jobs GROUP BY state`);

  const insertRequest = db.prepare(
    `INSERT OR IGNORE INTO journal_requests (request_id, seen_block, model_id, prompt, prompt_hash, max_new_tokens, open, deadline)
       VALUES (?, ?, ?, ?, ?, ?, 1, ?)`,
  );
  const updateDeadline = db.prepare(`UPDATE journal_requests SET deadline = ? WHERE request_id = ?`);
  const closeRequestRow = db.prepare(
    `UPDATE journal_requests SET open = 0, closed_block = ? WHERE request_id = ? AND open = 1`,
  );
  const finalizeRequestRow = db.prepare(`UPDATE journal_requests SET finalized_block = ? WHERE request_id = ?`);
  const selectRequest = db.prepare(`SELECT * FROM journal_requests WHERE request_id = ?`);
  const selectExpired = db.prepare(
    `SELECT * FROM journal_requests WHERE open = 1 AND deadline > 0 AND deadline <= ? ORDER BY deadline LIMIT ?`,
  );
  const selectOpen = db.prepare(`SELECT * FROM journal_requests WHERE open = 1 ORDER BY seen_block LIMIT ?`);
  const selectOpenUnfinalized = db.prepare(
    `SELECT * FROM journal_requests WHERE open = 1 AND finalized_block IS NULL ORDER BY seen_block LIMIT ?`,
  );
  const countOpen = db.prepare(`SELECT COUNT(*) AS n FROM journal_requests WHERE open = 1`);

  const selectCursor = db.prepare(`SELECT processed_block FROM journal_cursor WHERE id = 1`);
  const upsertCursor = db.prepare(
    `INSERT INTO journal_cursor (id, processed_block) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET processed_block = excluded.processed_block`,
  );
  const upsertBlock = db.prepare(
    `INSERT INTO journal_blocks (number, hash) VALUES (?, ?) ON CONFLICT (number) DO UPDATE SET hash = excluded.hash`,
  );
  const selectBlock = db.prepare(`SELECT hash FROM journal_blocks WHERE number = ?`);
  const selectBlocksDesc = db.prepare(`SELECT number, hash FROM journal_blocks WHERE number <= ? ORDER BY number DESC LIMIT ?`);

  interface RequestRow {
    request_id: string;
    seen_block: number;
    model_id: string;
    prompt: string;
    prompt_hash: string;
    max_new_tokens: number;
    open: number;
    deadline: number;
    finalized_block: number | null;
  }
  const toRequest = (row: RequestRow): TrackedRequest => ({
    requestId: BigInt(row.request_id),
    seenBlock: row.seen_block,
    modelId: row.model_id,
    prompt: row.prompt,
    promptHash: row.prompt_hash,
    maxNewTokens: row.max_new_tokens,
    open: row.open === 1,
    deadline: row.deadline,
    finalizedBlock: row.finalized_block ?? undefined,
  });

  const journal: Journal = {
    addJob(job) {
      const t = now();
      const result = insertJob.run(
        job.requestId.toString(),
        job.validator.toLowerCase(),
        job.round,
        job.modelId,
        job.prompt,
        job.promptHash,
        job.maxNewTokens,
        job.seenBlock,
        t,
        t,
      );
      return result.changes === 1;
    },
    get(key) {
      const row = selectJob.get(...keyArgs(key)) as JobRow | undefined;
      return row && toJob(row);
    },
    move(key, to, update = {}) {
      // A salt is written with NORMAL like the rest: the commitment made from it leaves only after `recordTx`'s barrier,
      // which syncs the WAL and the salt's frames before it.
      const write = db.transaction(() => {
        const current = journal.get(key);
        if (!current) throw new Error(`job ${key.requestId}/${key.validator}/${key.round} is not in the journal`);
        if (current.state !== to && !canMove(current.state, to)) {
          throw new InvalidJobTransitionError(key.requestId, current.state, to);
        }
        const [requestId, validator, round] = keyArgs(key);
        updateState.run({
          state: to,
          salt: update.salt ?? null,
          responseText: update.responseText ?? null,
          responseHash: update.responseHash ?? null,
          closedBlock: update.closedBlock ?? null,
          commitBlock: update.commitBlock ?? null,
          revealBlock: update.revealBlock ?? null,
          lastError: update.lastError ?? null,
          now: now(),
          requestId,
          validator,
          round,
        });
        return journal.get(key) as Job;
      });
      return write();
    },
    recordTx(key, kind, txHash) {
      (kind === "commit" ? updateCommitTx : updateRevealTx).run(txHash, now(), ...keyArgs(key));
      return durable();
    },
    recordFailure(key, message, notBefore) {
      updateFailure.run(message.slice(0, 500), notBefore, now(), ...keyArgs(key));
      return journal.get(key) as Job;
    },
    defer(key, notBefore) {
      updateNotBefore.run(notBefore, ...keyArgs(key));
    },
    nudge(requestId) {
      nudgeRequest.run(requestId.toString(), ...ACTIVE_STATES);
    },
    dueJobKeys(at, limit = 500) {
      const rows = selectDue.all(...ACTIVE_STATES, at, limit) as Pick<JobRow, "request_id" | "validator" | "round">[];
      return rows.map((row) => ({ requestId: BigInt(row.request_id), validator: row.validator, round: row.round }));
    },
    nextDueAt(at) {
      const row = selectNextDue.get(...ACTIVE_STATES, at) as { at: number | null };
      return row.at ?? undefined;
    },
    jobsOfRequest(requestId) {
      return (selectOfRequest.all(requestId.toString()) as JobRow[]).map(toJob);
    },
    closeRequest(requestId, to, block, round, states = ACTIVE_STATES) {
      const r = round ?? null;
      const wanted = ACTIVE_STATES.filter((state) => states.includes(state));
      if (wanted.length === 0) return [];
      // The statement has one placeholder per active state: repeat a wanted one to fill the rest.
      const padded = ACTIVE_STATES.map((_, i) => wanted[Math.min(i, wanted.length - 1)]);
      return (closeActive.all(to, block, now(), requestId.toString(), ...padded, r, r) as JobRow[]).map(toJob);
    },
    countByState() {
      const counts = Object.fromEntries(JOB_STATES.map((s) => [s, 0])) as Record<JobState, number>;
      for (const row of countStates.all() as { state: JobState; n: number }[]) counts[row.state] = row.n;
      return counts;
    },

    trackRequest(r) {
      insertRequest.run(r.requestId.toString(), r.seenBlock, r.modelId, r.prompt, r.promptHash, r.maxNewTokens, r.deadline);
    },
    setRequestDeadline(requestId, deadline) {
      updateDeadline.run(deadline, requestId.toString());
    },
    markRequestClosed(requestId, block) {
      closeRequestRow.run(block, requestId.toString());
    },
    markRequestFinalized(requestId, block) {
      finalizeRequestRow.run(block, requestId.toString());
    },
    getRequest(requestId) {
      const row = selectRequest.get(requestId.toString()) as RequestRow | undefined;
      return row && toRequest(row);
    },
    openRequests(limit = 1_000, options = {}) {
      return ((options.unfinalized ? selectOpenUnfinalized : selectOpen).all(limit) as RequestRow[]).map(toRequest);
    },
    expiredRequests(chainTime, limit = 100) {
      return (selectExpired.all(chainTime, limit) as RequestRow[]).map(toRequest);
    },
    openRequestCount() {
      return (countOpen.get() as { n: number }).n;
    },

    processedBlock() {
      const row = selectCursor.get() as { processed_block: number } | undefined;
      return row?.processed_block;
    },
    commitRange(toBlock, blocks, work) {
      db.transaction(() => {
        work?.();
        for (const b of blocks) upsertBlock.run(b.number, b.hash);
        upsertCursor.run(toBlock);
      })();
    },
    blockHash(number) {
      return (selectBlock.get(number) as { hash: string } | undefined)?.hash;
    },
    storedBlocksDescending(belowOrAt, limit) {
      return selectBlocksDesc.all(belowOrAt, limit) as { number: number; hash: string }[];
    },
    rollbackTo(ancestor) {
      return db.transaction(() => {
        const deleted = db.prepare(`DELETE FROM journal_jobs WHERE seen_block > ?`).run(ancestor).changes;
        // Transactions mined in dropped blocks are gone: forget their blocks (the hashes stay, so the pipeline can
        // see whether the same transaction is mined again before it signs a new one) and step the state back.
        const t = now();
        // A job without a salt never inferred: its commit_tx is a decline, decided again from `seen`.
        let reopened = db
          .prepare(
            `UPDATE journal_jobs SET state = CASE WHEN salt IS NULL THEN 'seen' ELSE 'inferred' END, commit_block = NULL,
               reveal_block = NULL, closed_block = NULL, not_before = 0, updated_at = ? WHERE commit_block > ?`,
          )
          .run(t, ancestor).changes;
        reopened += db
          .prepare(
            `UPDATE journal_jobs SET state = 'committed', reveal_block = NULL, closed_block = NULL, not_before = 0,
               updated_at = ? WHERE reveal_block > ?`,
          )
          .run(t, ancestor).changes;
        // A job closed by an event that no longer exists goes back to the pipeline, which re-reads the chain.
        reopened += db
          .prepare(
            `UPDATE journal_jobs SET state = CASE WHEN salt IS NULL THEN 'seen'
                                                  WHEN reveal_block IS NOT NULL THEN 'revealed'
                                                  WHEN commit_block IS NOT NULL THEN 'committed' ELSE 'inferred' END,
               closed_block = NULL, not_before = 0, updated_at = ? WHERE closed_block > ?`,
          )
          .run(t, ancestor).changes;
        db.prepare(`DELETE FROM journal_requests WHERE seen_block > ?`).run(ancestor);
        db.prepare(`UPDATE journal_requests SET open = 1, closed_block = NULL WHERE closed_block > ?`).run(ancestor);
        db.prepare(`UPDATE journal_requests SET finalized_block = NULL WHERE finalized_block > ?`).run(ancestor);
        db.prepare(`DELETE FROM journal_blocks WHERE number > ?`).run(ancestor);
        db.prepare(`DELETE FROM journal_skipped_events WHERE block > ?`).run(ancestor);
        upsertCursor.run(ancestor);
        return { deleted, reopened };
      })();
    },
    pruneBlocks(keepFrom) {
      db.prepare(`DELETE FROM journal_blocks WHERE number < ?`).run(keepFrom);
    },

    atomically(work) {
      // better-sqlite3 runs a transaction function called inside another one as a savepoint.
      return db.transaction(work)();
    },
    recordSkippedEvent(e) {
      insertSkipped.run(e.block, e.logIndex, e.txHash, e.address, e.reason, now());
    },
    skippedEvents(limit = 100) {
      return selectSkipped.all(limit) as SkippedEvent[];
    },
  };
  return journal;
}

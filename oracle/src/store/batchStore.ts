import { getAddress } from "ethers";
import { applyMigrations, type Database } from "./database";
import { buildMerkleTree, type MerkleTree } from "./merkle";
import { recordLeaf } from "./recordLeaf";
import { NonRetryableError } from "../errors";

/** An off-chain chat record (POST /v1/chat). Its id is its Merkle leaf, which commits to every hashed field. */
export interface ChatRecord {
  leaf: string;
  promptHash: string;
  responseHash: string;
  modelHash: string;
  modelId: number;
  validator: string;
  /** Decoding settings, so `verify` can re-run the same generation. */
  maxNewTokens: number;
  finishReason: string;
  createdAt: number;
  /** Local batch sequence number once batched, else null. */
  batchSeq: number | null;
  leafIndex: number | null;
}

export type NewChatRecord = Omit<ChatRecord, "leaf" | "createdAt" | "batchSeq" | "leafIndex">;

/** `sending` is written before the anchor transaction, so a restart knows the batch may already be on-chain. */
export type BatchStatus = "sending" | "anchored" | "failed";

export interface RecordBatch {
  seq: number;
  modelId: number;
  validator: string;
  root: string;
  count: number;
  status: BatchStatus;
  /** On-chain batch id (decimal string) once anchored. */
  batchId: string | null;
  txHash: string | null;
  createdAt: number;
  anchoredAt: number | null;
  error: string | null;
}

export interface RecordProof {
  batch: RecordBatch;
  leafIndex: number;
  proof: string[];
}

export interface PendingGroup {
  modelId: number;
  validator: string;
  count: number;
  oldestCreatedAt: number;
}

/** Records and the Merkle batches they are anchored in (tables `chat_records`, `record_batches`). */
export interface BatchStore {
  /** Stores a record; the same fields give the same leaf, so a repeat returns the stored record with created=false. */
  addRecord(record: NewChatRecord, now?: number): { record: ChatRecord; created: boolean };
  getRecord(leaf: string): ChatRecord | undefined;
  /** Records whose prompt or response has this hash, newest first. */
  recordsByTextHash(hash: string, limit?: number): ChatRecord[];
  recentRecords(limit: number): ChatRecord[];
  pendingGroups(): PendingGroup[];
  pendingCount(): number;
  /** Batches of `validator` opened at or after `since` (epoch ms), whatever became of them: anchors tried. */
  batchesOpenedSince(validator: string, since: number): number;
  /**
   * Moves the oldest `maxCount` unbatched records of (modelId, validator) into a new `sending` batch and computes its
   * root, in one transaction. Undefined when there is nothing to batch.
   */
  openBatch(modelId: number, validator: string, maxCount: number, now?: number): RecordBatch | undefined;
  /**
   * Records the hash of the batch's signed anchor transaction, before it is broadcast (the database runs with
   * synchronous=FULL): after a crash or a receipt timeout the node looks the transaction up instead of sending again.
   */
  recordBroadcast(seq: number, txHash: string): void;
  markAnchored(seq: number, batchId: bigint | string | number, txHash: string, now?: number): RecordBatch;
  /** Marks the batch failed and returns its records to the pending pool, to be batched again. */
  markFailed(seq: number, error: string): RecordBatch;
  getBatch(seq: number): RecordBatch | undefined;
  batchesByStatus(status: BatchStatus): RecordBatch[];
  recentBatches(limit: number): RecordBatch[];
  /** Leaves of a batch in tree order. */
  batchLeaves(seq: number): string[];
  /** The batch and Merkle proof of a batched record, else undefined. */
  proof(leaf: string): RecordProof | undefined;
}

export class UnknownBatchError extends NonRetryableError {
  constructor(readonly seq: number) {
    super(`no record batch with sequence number ${seq}`);
  }
}

const MIGRATIONS = [
  `CREATE TABLE IF NOT EXISTS record_batches (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     model_id INTEGER NOT NULL,
     validator TEXT NOT NULL,
     root TEXT NOT NULL,
     count INTEGER NOT NULL,
     status TEXT NOT NULL CHECK (status IN ('sending', 'anchored', 'failed')),
     batch_id TEXT,
     tx_hash TEXT,
     created_at INTEGER NOT NULL,
     anchored_at INTEGER,
     error TEXT);
   CREATE TABLE IF NOT EXISTS chat_records (
     leaf TEXT PRIMARY KEY,
     prompt_hash TEXT NOT NULL,
     response_hash TEXT NOT NULL,
     model_hash TEXT NOT NULL,
     model_id INTEGER NOT NULL,
     validator TEXT NOT NULL,
     max_new_tokens INTEGER NOT NULL,
     finish_reason TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     batch_seq INTEGER REFERENCES record_batches(seq),
     leaf_index INTEGER);
   CREATE INDEX IF NOT EXISTS chat_records_pending ON chat_records (model_id, validator, created_at) WHERE batch_seq IS NULL;
   CREATE INDEX IF NOT EXISTS chat_records_batch ON chat_records (batch_seq, leaf_index);
   CREATE INDEX IF NOT EXISTS chat_records_prompt ON chat_records (prompt_hash);
   CREATE INDEX IF NOT EXISTS chat_records_response ON chat_records (response_hash);`,
];

interface RecordRow {
  leaf: string;
  prompt_hash: string;
  response_hash: string;
  model_hash: string;
  model_id: number;
  validator: string;
  max_new_tokens: number;
  finish_reason: string;
  created_at: number;
  batch_seq: number | null;
  leaf_index: number | null;
}

interface BatchRow {
  seq: number;
  model_id: number;
  validator: string;
  root: string;
  count: number;
  status: BatchStatus;
  batch_id: string | null;
  tx_hash: string | null;
  created_at: number;
  anchored_at: number | null;
  error: string | null;
}

const toRecord = (r: RecordRow): ChatRecord => ({
  leaf: r.leaf,
  promptHash: r.prompt_hash,
  responseHash: r.response_hash,
  modelHash: r.model_hash,
  modelId: r.model_id,
  validator: r.validator,
  maxNewTokens: r.max_new_tokens,
  finishReason: r.finish_reason,
  createdAt: r.created_at,
  batchSeq: r.batch_seq,
  leafIndex: r.leaf_index,
});

const toBatch = (b: BatchRow): RecordBatch => ({
  seq: b.seq,
  modelId: b.model_id,
  validator: b.validator,
  root: b.root,
  count: b.count,
  status: b.status,
  batchId: b.batch_id,
  txHash: b.tx_hash,
  createdAt: b.created_at,
  anchoredAt: b.anchored_at,
  error: b.error,
});

const lower = (hash: string) => hash.toLowerCase();

export function createBatchStore(db: Database): BatchStore {
  applyMigrations(db, "batch-store", MIGRATIONS);
  const q = {
    insertRecord: db.prepare(
      `INSERT OR IGNORE INTO chat_records (leaf, prompt_hash, response_hash, model_hash, model_id, validator,
         max_new_tokens, finish_reason, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    record: db.prepare("SELECT * FROM chat_records WHERE leaf = ?"),
    byTextHash: db.prepare(
      "SELECT * FROM chat_records WHERE prompt_hash = ? OR response_hash = ? ORDER BY created_at DESC, rowid DESC LIMIT ?",
    ),
    recent: db.prepare("SELECT * FROM chat_records ORDER BY created_at DESC, rowid DESC LIMIT ?"),
    pendingGroups: db.prepare(
      `SELECT model_id, validator, COUNT(*) AS count, MIN(created_at) AS oldest FROM chat_records
       WHERE batch_seq IS NULL GROUP BY model_id, validator ORDER BY oldest`,
    ),
    pendingCount: db.prepare("SELECT COUNT(*) AS n FROM chat_records WHERE batch_seq IS NULL"),
    batchesSince: db.prepare("SELECT COUNT(*) AS n FROM record_batches WHERE validator = ? AND created_at >= ?"),
    oldestPending: db.prepare(
      `SELECT leaf FROM chat_records WHERE batch_seq IS NULL AND model_id = ? AND validator = ?
       ORDER BY created_at, rowid LIMIT ?`,
    ),
    insertBatch: db.prepare(
      `INSERT INTO record_batches (model_id, validator, root, count, status, created_at)
       VALUES (?, ?, ?, ?, 'sending', ?)`,
    ),
    assign: db.prepare("UPDATE chat_records SET batch_seq = ?, leaf_index = ? WHERE leaf = ?"),
    batch: db.prepare("SELECT * FROM record_batches WHERE seq = ?"),
    batchesByStatus: db.prepare("SELECT * FROM record_batches WHERE status = ? ORDER BY seq"),
    recentBatches: db.prepare("SELECT * FROM record_batches ORDER BY seq DESC LIMIT ?"),
    anchored: db.prepare(
      "UPDATE record_batches SET status = 'anchored', batch_id = ?, tx_hash = ?, anchored_at = ?, error = NULL WHERE seq = ?",
    ),
    broadcast: db.prepare("UPDATE record_batches SET tx_hash = ? WHERE seq = ? AND status = 'sending'"),
    failed: db.prepare("UPDATE record_batches SET status = 'failed', error = ? WHERE seq = ?"),
    release: db.prepare("UPDATE chat_records SET batch_seq = NULL, leaf_index = NULL WHERE batch_seq = ?"),
    leaves: db.prepare("SELECT leaf FROM chat_records WHERE batch_seq = ? ORDER BY leaf_index"),
  };

  // Anchored batches never change, so their trees can be kept; a small bound keeps memory flat.
  const trees = new Map<number, MerkleTree>();
  function treeOf(seq: number): MerkleTree {
    let tree = trees.get(seq);
    if (!tree) {
      tree = buildMerkleTree(store.batchLeaves(seq));
      if (trees.size >= 64) trees.delete(trees.keys().next().value as number);
      trees.set(seq, tree);
    }
    return tree;
  }

  function requireBatch(seq: number): RecordBatch {
    const row = q.batch.get(seq) as BatchRow | undefined;
    if (!row) throw new UnknownBatchError(seq);
    return toBatch(row);
  }

  const store: BatchStore = {
    addRecord(fields, now = Date.now()) {
      const record = { ...fields, validator: getAddress(fields.validator) };
      const leaf = recordLeaf(record);
      const info = q.insertRecord.run(
        leaf,
        lower(record.promptHash),
        lower(record.responseHash),
        lower(record.modelHash),
        record.modelId,
        record.validator,
        record.maxNewTokens,
        record.finishReason,
        now,
      );
      return { record: store.getRecord(leaf)!, created: info.changes === 1 };
    },
    getRecord(leaf) {
      const row = q.record.get(lower(leaf)) as RecordRow | undefined;
      return row && toRecord(row);
    },
    recordsByTextHash(hash, limit = 20) {
      return (q.byTextHash.all(lower(hash), lower(hash), limit) as RecordRow[]).map(toRecord);
    },
    recentRecords(limit) {
      return (q.recent.all(limit) as RecordRow[]).map(toRecord);
    },
    pendingGroups() {
      return (q.pendingGroups.all() as { model_id: number; validator: string; count: number; oldest: number }[]).map(
        (g) => ({ modelId: g.model_id, validator: g.validator, count: g.count, oldestCreatedAt: g.oldest }),
      );
    },
    batchesOpenedSince(validator, since) {
      return (q.batchesSince.get(getAddress(validator), since) as { n: number }).n;
    },
    pendingCount() {
      return (q.pendingCount.get() as { n: number }).n;
    },
    openBatch(modelId, validator, maxCount, now = Date.now()) {
      return db.transaction(() => {
        const leaves = (q.oldestPending.all(modelId, getAddress(validator), maxCount) as { leaf: string }[]).map(
          (r) => r.leaf,
        );
        if (leaves.length === 0) return undefined;
        const tree = buildMerkleTree(leaves);
        const seq = Number(q.insertBatch.run(modelId, getAddress(validator), tree.root, leaves.length, now).lastInsertRowid);
        leaves.forEach((leaf, index) => q.assign.run(seq, index, leaf));
        trees.set(seq, tree);
        return requireBatch(seq);
      })();
    },
    recordBroadcast(seq, txHash) {
      requireBatch(seq);
      q.broadcast.run(lower(txHash), seq);
    },
    markAnchored(seq, batchId, txHash, now = Date.now()) {
      requireBatch(seq);
      q.anchored.run(String(batchId), lower(txHash), now, seq);
      return requireBatch(seq);
    },
    markFailed(seq, error) {
      requireBatch(seq);
      db.transaction(() => {
        q.failed.run(error.slice(0, 500), seq);
        q.release.run(seq);
      })();
      trees.delete(seq);
      return requireBatch(seq);
    },
    getBatch(seq) {
      const row = q.batch.get(seq) as BatchRow | undefined;
      return row && toBatch(row);
    },
    batchesByStatus(status) {
      return (q.batchesByStatus.all(status) as BatchRow[]).map(toBatch);
    },
    recentBatches(limit) {
      return (q.recentBatches.all(limit) as BatchRow[]).map(toBatch);
    },
    batchLeaves(seq) {
      return (q.leaves.all(seq) as { leaf: string }[]).map((r) => r.leaf);
    },
    proof(leaf) {
      const record = store.getRecord(leaf);
      if (!record || record.batchSeq === null || record.leafIndex === null) return undefined;
      return { batch: requireBatch(record.batchSeq), leafIndex: record.leafIndex, proof: treeOf(record.batchSeq).proof(record.leafIndex) };
    },
  };
  return store;
}

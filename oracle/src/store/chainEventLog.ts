import type { Result } from "ethers";
import { applyMigrations, type Database } from "./database";

/** A registry event as the listener read it: where it sits and its raw log, decoded again by whoever reads it. */
export interface StoredChainEvent {
  block: number;
  logIndex: number;
  txHash: string;
  address: string;
  name: string;
  topics: readonly string[];
  data: string;
  /**
   * The listener's decoding, handed over in memory so the API's index does not decode the same log again; absent for
   * rows read back after a restart (and for events appended without it).
   */
  args?: Result;
}

/** How much of the chain the log keeps: the newest `maxEvents`, none below `minBlock` (except the kept names). */
export interface ChainEventBound {
  maxEvents: number;
  minBlock?: number;
}

/**
 * The events the listener applied, kept for the HTTP API's views (one reader of the chain: the API never asks the
 * RPC for logs). Rows are written inside the listener's range transaction and deleted inside its reorg rollback, so
 * the log always matches the journal's cursor, crashes included.
 */
export interface ChainEventLog {
  /** Stores one event (a re-read range replaces its rows). */
  append(event: StoredChainEvent): void;
  /** Deletes the events of blocks above `ancestor` (a reorg dropped them); tells `onDropAbove` subscribers. */
  dropAbove(ancestor: number): number;
  /** Events after the given position, oldest first; all of them without one. */
  after(position?: { block: number; logIndex: number }): StoredChainEvent[];
  /** Applies the bound; returns how many rows went. Events named in `KEPT_EVENTS` are never pruned. */
  prune(bound: ChainEventBound): number;
  count(): number;
  /** `listener(ancestor)` after each `dropAbove`; returns the unsubscribe function. */
  onDropAbove(listener: (ancestor: number) => void): () => void;
}

/**
 * Events retention never drops: the API lists the served models from them and the chain has no way to enumerate
 * models (an owner registers a handful in a contract's lifetime).
 */
export const KEPT_EVENTS: ReadonlySet<string> = new Set(["ModelRegistered"]);

const MIGRATIONS = [
  `CREATE TABLE IF NOT EXISTS chain_events (
     block INTEGER NOT NULL, log_index INTEGER NOT NULL, tx_hash TEXT NOT NULL, address TEXT NOT NULL,
     name TEXT NOT NULL, topics TEXT NOT NULL, data TEXT NOT NULL,
     PRIMARY KEY (block, log_index)) WITHOUT ROWID`,
];

interface Row {
  block: number;
  log_index: number;
  tx_hash: string;
  address: string;
  name: string;
  topics: string;
  data: string;
}

const fromRow = (r: Row): StoredChainEvent => ({
  block: r.block,
  logIndex: r.log_index,
  txHash: r.tx_hash,
  address: r.address,
  name: r.name,
  topics: JSON.parse(r.topics) as string[],
  data: r.data,
});

export function createChainEventLog(db: Database): ChainEventLog {
  applyMigrations(db, "chain-event-log", MIGRATIONS);
  const kept = [...KEPT_EVENTS].map((name) => `'${name}'`).join(", ");
  const insert = db.prepare(
    `INSERT OR REPLACE INTO chain_events (block, log_index, tx_hash, address, name, topics, data) VALUES (?, ?, ?, ?, ?, ?, ?)`,
  );
  const deleteAbove = db.prepare(`DELETE FROM chain_events WHERE block > ?`);
  const selectAll = db.prepare(`SELECT * FROM chain_events ORDER BY block, log_index`);
  const selectAfter = db.prepare(`SELECT * FROM chain_events WHERE (block, log_index) > (?, ?) ORDER BY block, log_index`);
  const deleteBelow = db.prepare(`DELETE FROM chain_events WHERE block < ? AND name NOT IN (${kept})`);
  // The oldest row still inside the count bound: everything before it (and not kept) goes.
  const boundary = db.prepare(
    `SELECT block, log_index FROM chain_events WHERE name NOT IN (${kept}) ORDER BY block DESC, log_index DESC LIMIT 1 OFFSET ?`,
  );
  const deleteBefore = db.prepare(`DELETE FROM chain_events WHERE (block, log_index) < (?, ?) AND name NOT IN (${kept})`);
  const countRows = db.prepare(`SELECT COUNT(*) AS n FROM chain_events`);
  const dropListeners = new Set<(ancestor: number) => void>();
  /**
   * Decoded args of appended events until `after` returns their rows, by position. An entry is used only for a row
   * with the same transaction, topics and data (a range rolled back and read again on another branch cannot lend its
   * decoding to a different event); bounded in case nobody reads.
   */
  const decoded = new Map<string, { txHash: string; topics: string; data: string; args: Result }>();
  const positionKey = (block: number, logIndex: number) => `${block}:${logIndex}`;

  return {
    append(e) {
      const topics = JSON.stringify(e.topics);
      insert.run(e.block, e.logIndex, e.txHash, e.address, e.name, topics, e.data);
      if (e.args) {
        if (decoded.size >= 10_000) decoded.delete(decoded.keys().next().value as string);
        decoded.set(positionKey(e.block, e.logIndex), { txHash: e.txHash, topics, data: e.data, args: e.args });
      }
    },
    dropAbove(ancestor) {
      const dropped = deleteAbove.run(ancestor).changes;
      decoded.clear();
      for (const listener of dropListeners) listener(ancestor);
      return dropped;
    },
    after(position) {
      const rows = (position ? selectAfter.all(position.block, position.logIndex) : selectAll.all()) as Row[];
      return rows.map((row) => {
        const event = fromRow(row);
        const key = positionKey(row.block, row.log_index);
        const known = decoded.get(key);
        if (known) {
          decoded.delete(key);
          if (known.txHash === row.tx_hash && known.topics === row.topics && known.data === row.data) event.args = known.args;
        }
        return event;
      });
    },
    prune({ maxEvents, minBlock }) {
      let deleted = minBlock !== undefined ? deleteBelow.run(minBlock).changes : 0;
      const oldestKept = boundary.get(Math.max(0, maxEvents - 1)) as { block: number; log_index: number } | undefined;
      if (oldestKept) deleted += deleteBefore.run(oldestKept.block, oldestKept.log_index).changes;
      return deleted;
    },
    count() {
      return (countRows.get() as { n: number }).n;
    },
    onDropAbove(listener) {
      dropListeners.add(listener);
      return () => void dropListeners.delete(listener);
    },
  };
}

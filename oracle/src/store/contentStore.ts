import { keccakText } from "../chain/keccak";
import { applyMigrations, type Database } from "./database";

/** Texts (prompts, responses) by the hash the contracts store for them: keccak256 of the UTF-8 bytes. */
export interface ContentStore {
  /**
   * Stores the text (idempotent) and returns its 0x-prefixed lower-case keccak256 hash. `hash` is that hash when the
   * caller has it from the chain, which hashed the same bytes (an event's text that is valid UTF-8): every node stores
   * every prompt and response, and hashing them again was most of the cost.
   */
  put(text: string, hash?: string): string;
  /** The stored text for a hash, or undefined. The text is returned as stored: callers verify it by hashing. */
  get(hash: string): string | undefined;
  has(hash: string): boolean;
  /**
   * Retention: deletes texts last stored before `olderThan` (epoch ms), then the least recently stored beyond
   * `maxEntries`; returns how many went. Jobs keep their own prompt and response in the journal, so only the API's
   * look-ups by hash lose them.
   */
  prune(limits: { olderThan?: number; maxEntries?: number }): number;
}

/**
 * Table `content(hash TEXT PRIMARY KEY, text TEXT, created_at INTEGER)`, `created_at` being when the text was last
 * stored (a text used again is kept as long as a new one); tests may edit it to simulate tampering.
 */
export const CONTENT_TABLE = "content";

const MIGRATIONS = [
  `CREATE TABLE IF NOT EXISTS ${CONTENT_TABLE} (
     hash TEXT PRIMARY KEY, text TEXT NOT NULL, created_at INTEGER NOT NULL)`,
];

/** keccak256 of the UTF-8 encoding, exactly as Solidity's keccak256(bytes(text)). Throws on lone surrogates. */
export function hashText(text: string): string {
  return keccakText(text);
}

export function createContentStore(db: Database): ContentStore {
  applyMigrations(db, "content-store", MIGRATIONS);
  const insert = db.prepare(
    `INSERT INTO ${CONTENT_TABLE} (hash, text, created_at) VALUES (?, ?, ?)
     ON CONFLICT (hash) DO UPDATE SET created_at = MAX(created_at, excluded.created_at)`,
  );
  const deleteOlder = db.prepare(`DELETE FROM ${CONTENT_TABLE} WHERE created_at < ?`);
  const count = db.prepare(`SELECT COUNT(*) AS n FROM ${CONTENT_TABLE}`);
  const deleteOldest = db.prepare(
    `DELETE FROM ${CONTENT_TABLE} WHERE hash IN (SELECT hash FROM ${CONTENT_TABLE} ORDER BY created_at, rowid LIMIT ?)`,
  );
  const select = db.prepare(`SELECT text FROM ${CONTENT_TABLE} WHERE hash = ?`);
  const exists = db.prepare(`SELECT 1 FROM ${CONTENT_TABLE} WHERE hash = ?`);
  return {
    put(text, known) {
      const hash = known?.toLowerCase() ?? hashText(text);
      insert.run(hash, text, Date.now());
      return hash;
    },
    get(hash) {
      const row = select.get(hash.toLowerCase()) as { text: string } | undefined;
      return row?.text;
    },
    has(hash) {
      return exists.get(hash.toLowerCase()) !== undefined;
    },
    prune({ olderThan, maxEntries }) {
      let deleted = olderThan === undefined ? 0 : deleteOlder.run(olderThan).changes;
      if (maxEntries !== undefined) {
        const over = (count.get() as { n: number }).n - maxEntries;
        if (over > 0) deleted += deleteOldest.run(over).changes;
      }
      return deleted;
    },
  };
}

import fs from "node:fs";
import path from "node:path";
import BetterSqlite3 from "better-sqlite3";

export type Database = BetterSqlite3.Database;

/**
 * Opens (creating if needed) the node's SQLite file. WAL lets the HTTP API read while the job loop writes;
 * busy_timeout makes a briefly locked database wait instead of throwing SQLITE_BUSY at once.
 * Pass ":memory:" for a throw-away database in tests.
 */
export function openDatabase(file: string, options: { verbose?: (sql: unknown) => void } = {}): Database {
  if (file !== ":memory:") fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const db = new BetterSqlite3(file, options.verbose ? { verbose: options.verbose } : {});
  db.pragma("journal_mode = WAL");
  // NORMAL is durable across process crashes (kill -9) in WAL mode; only an OS crash can lose the last commits. What a
  // broadcast depends on (salts, transaction hashes) is synced before it leaves: `createSyncBarrier`.
  db.pragma("synchronous = NORMAL");
  db.pragma("busy_timeout = 5000");
  db.pragma("foreign_keys = ON");
  return db;
}

/**
 * Runs `write` with synchronous=FULL, so its commit is on disk (WAL synced) when it returns, even across a power loss
 * or OS crash: for the rows a transaction about to be signed depends on (a salt lost after its commitment was sent
 * means a missed reveal and a slash). Other writes stay NORMAL, which is cheaper and enough against a process crash.
 */
export function writeFullSync<T>(db: Database, write: () => T): T {
  if (db.inTransaction) return write(); // the pragma cannot change inside a transaction; the outer one decides
  db.pragma("synchronous = FULL");
  try {
    return write();
  } finally {
    db.pragma("synchronous = NORMAL");
  }
}

/**
 * Durability for writes that must survive an OS crash before something leaves the process (a transaction hash before
 * its broadcast), at one sync per event-loop turn instead of one per write, and off the event loop. Callers commit
 * with the default NORMAL (SQLite has written the WAL frames to the OS, unsynced) and await the returned function: on
 * the next turn one `fdatasync` of the WAL file, run on libuv's thread pool, puts every frame written before it on
 * disk, then all waiters of that turn resume. A salt written earlier is synced with the transaction hash after it;
 * frames a checkpoint moved into the database file were synced by the checkpoint (NORMAL syncs around checkpoints).
 * A synchronous FULL commit per write cost 0.45 ms of blocked event loop each, and 13 ms each with ten nodes sharing
 * a disk. `sync` replaces the file sync (tests count the syncs).
 */
export function createSyncBarrier(db: Database, options: { sync?: (walFile: string) => Promise<void> } = {}): () => Promise<void> {
  if (db.memory) return () => Promise.resolve(); // nothing on disk to sync
  const walFile = `${path.resolve(db.name)}-wal`;
  const sync = options.sync ?? syncFile;
  let next: Promise<void> | undefined;
  return () => {
    // Writers after this turn's sync started get the next one: theirs may not be covered by it.
    next ??= new Promise<void>((resolve, reject) =>
      setImmediate(() => {
        next = undefined;
        sync(walFile).then(resolve, reject);
      }),
    );
    return next;
  };
}

async function syncFile(file: string): Promise<void> {
  const handle = await fs.promises.open(file, "r+");
  try {
    await handle.datasync();
  } finally {
    await handle.close();
  }
}

/**
 * Applies the not-yet-applied migrations of one component (e.g. "store", "journal"), in order, each in a
 * transaction. Components own their tables; the shared `schema_migrations` table records what ran, so restarting a
 * node never re-runs a step and an older file gains the newer tables.
 */
export function applyMigrations(db: Database, component: string, migrations: readonly string[]): void {
  db.exec(
    `CREATE TABLE IF NOT EXISTS schema_migrations (
       component TEXT NOT NULL, version INTEGER NOT NULL, applied_at INTEGER NOT NULL,
       PRIMARY KEY (component, version))`,
  );
  const row = db
    .prepare("SELECT COALESCE(MAX(version), 0) AS version FROM schema_migrations WHERE component = ?")
    .get(component) as { version: number };
  const record = db.prepare("INSERT INTO schema_migrations (component, version, applied_at) VALUES (?, ?, ?)");
  for (let version = row.version + 1; version <= migrations.length; version++) {
    db.transaction(() => {
      db.exec(migrations[version - 1]);
      record.run(component, version, Date.now());
    })();
  }
}

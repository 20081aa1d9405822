import fs from "node:fs";
import path from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { ConfigError } from "../config";

/** Held for the process's life; `release` frees it (the OS frees it too when the process dies, even by SIGKILL). */
export interface DataDirLock {
  release(): void;
}

const LOCK_FILE = "oracle.lock";
const PID_FILE = "oracle.pid";

/**
 * Takes the data dir for this process, or throws a ConfigError naming the process that has it. Two nodes on one data
 * dir overwrite each other's journaled salts (a commitment then matches no reveal, and the validator is slashed).
 *
 * The lock is an exclusive transaction held open on a small SQLite file: SQLite's POSIX record locks are released by
 * the kernel when the holder dies, so a crash never leaves a stale lock behind (a pid file alone would).
 */
export function lockDataDir(dataDir: string): DataDirLock {
  fs.mkdirSync(dataDir, { recursive: true });
  const db = new BetterSqlite3(path.join(dataDir, LOCK_FILE));
  try {
    db.pragma("busy_timeout = 0");
    db.exec("BEGIN EXCLUSIVE");
  } catch (error) {
    db.close();
    if ((error as { code?: string }).code !== "SQLITE_BUSY") throw error;
    throw new ConfigError("data-dir", `${dataDir} is in use by another oracle node (pid ${holderPid(dataDir)}); one data dir serves one node`);
  }
  // Only for the message another process shows; the lock itself is the transaction.
  fs.writeFileSync(path.join(dataDir, PID_FILE), `${process.pid}\n`);
  let released = false;
  return {
    release() {
      if (released) return;
      released = true;
      db.close();
    },
  };
}

function holderPid(dataDir: string): string {
  try {
    return fs.readFileSync(path.join(dataDir, PID_FILE), "utf8").trim() || "unknown";
  } catch {
    return "unknown";
  }
}

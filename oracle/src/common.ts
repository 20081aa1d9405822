import path from "node:path";
import type BetterSqlite3 from "better-sqlite3";
import pino from "pino";
import pretty from "pino-pretty";
import type { OracleConfig } from "./config";
import { redactUrl } from "./chain/rpc";
import { createMetrics, type Metrics } from "./metrics";
import { openDatabase } from "./store/database";
import { type DataDirLock, lockDataDir } from "./store/dataDirLock";

/**
 * The services every stage of the node shares, passed into each `createX(common, ...)` factory instead of living in
 * globals, so a test can run several nodes in one process (Ponder `internal/common.ts`).
 */
export interface Common {
  config: OracleConfig;
  logger: pino.Logger;
  metrics: Metrics;
  db: BetterSqlite3.Database;
  shutdown: Shutdown;
}

/**
 * Ordered clean-up, run once: first the `intake` handlers (what reads the chain and acts on it: listener, seat finder,
 * sweeper, pipeline), so that nothing new happens or is logged after "shutting down"; then the rest. Within each
 * group handlers run in reverse order of registration (last started, first stopped).
 */
export interface Shutdown {
  add(name: string, fn: () => Promise<void> | void, phase?: "intake"): void;
  run(reason: string): Promise<void>;
  readonly isShuttingDown: boolean;
}

export function createShutdown(logger: pino.Logger): Shutdown {
  const handlers: { name: string; fn: () => Promise<void> | void; intake: boolean }[] = [];
  let running: Promise<void> | undefined;
  return {
    add(name, fn, phase) {
      handlers.push({ name, fn, intake: phase === "intake" });
    },
    run(reason) {
      running ??= (async () => {
        logger.info({ reason }, "shutting down");
        const reversed = handlers.reverse();
        for (const { name, fn } of [...reversed.filter((h) => h.intake), ...reversed.filter((h) => !h.intake)]) {
          try {
            await fn();
          } catch (error) {
            logger.error({ err: error, handler: name }, "shutdown handler failed");
          }
        }
        logger.info("shutdown complete");
      })();
      return running;
    },
    get isShuttingDown() {
      return running !== undefined;
    },
  };
}

export interface CreateCommonOptions {
  /** Log destination; defaults to stdout. The demo passes its own stream to keep its printout readable. */
  logDestination?: pino.DestinationStream;
  /** Extra fields on every log line, e.g. `{ node: "v1" }` when several nodes share one terminal. */
  logBindings?: Record<string, unknown>;
  /** An in-memory database (tests) instead of `<dataDir>/oracle.sqlite`. */
  inMemoryDatabase?: boolean;
}

const SECRET_LOG_PATHS = ["*.privateKey", "privateKey", "*.validatorKeys", "validatorKeys", "*.adminToken", "adminToken", "*.keystorePassword", "keystorePassword"];

/**
 * Where log lines go when the caller names no stream: pino-pretty on stdout for a person at a terminal (or with
 * --log-format pretty), plain JSON lines otherwise, so collectors and pipes get one object a line.
 */
export function stdoutLogDestination(format: OracleConfig["logFormat"], isTty: boolean): pino.DestinationStream | undefined {
  if (format === "json" || (format === "auto" && !isTty)) return undefined;
  return pretty({ destination: 1, colorize: isTty, translateTime: "SYS:HH:MM:ss.l", ignore: "pid,hostname", sync: true });
}

/** Builds logger, metrics, database (WAL, in `config.dataDir`) and the shutdown list for one node. */
export function createCommon(config: OracleConfig, options: CreateCommonOptions = {}): Common {
  const logger = pino(
    {
      level: config.logLevel,
      base: options.logBindings ?? null,
      // Keys and tokens must never reach a log line, whatever object a caller logs.
      redact: {
        paths: [...SECRET_LOG_PATHS, "rpcUrl", "*.rpcUrl"],
        // An RPC URL keeps its host (useful when debugging), never its path, query or user info (API keys).
        censor: (value: unknown, path: string[]) => (path[path.length - 1] === "rpcUrl" && typeof value === "string" ? redactUrl(value) : "[redacted]"),
      },
    },
    options.logDestination ?? stdoutLogDestination(config.logFormat, process.stdout.isTTY === true),
  );
  const metrics = createMetrics({ collectProcessMetrics: !options.inMemoryDatabase });
  let file = ":memory:";
  let lock: DataDirLock | undefined;
  if (!options.inMemoryDatabase) {
    lock = lockDataDir(config.dataDir); // before the database is opened: a second node must not touch it at all
    file = path.join(config.dataDir, "oracle.sqlite");
  }
  let db: BetterSqlite3.Database;
  try {
    db = openDatabase(file);
  } catch (error) {
    lock?.release();
    throw error;
  }
  const shutdown = createShutdown(logger);
  // Handlers run last-added first: the database closes, then the data dir is freed.
  if (lock) shutdown.add("data dir lock", () => lock.release());
  shutdown.add("database", () => {
    db.close();
  });
  return { config, logger, metrics, db, shutdown };
}

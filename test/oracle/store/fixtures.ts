import pino from "pino";
import { createShutdown, type Common } from "../../../oracle/src/common";
import { parseConfig, type OracleConfig } from "../../../oracle/src/config";
import { createMetrics } from "../../../oracle/src/metrics";
import { openDatabase } from "../../../oracle/src/store/database";

/**
 * Shared services over an in-memory database and a silent logger, with option overrides for the test. With
 * `logLines`, every log line (debug and up) is collected there instead.
 */
export function createTestCommon(overrides: Partial<OracleConfig> = {}, logLines?: string[]): Common {
  const { config } = parseConfig({ argv: [], env: {}, overrides: { logLevel: logLines ? "debug" : "silent", ...overrides } });
  const logger = logLines
    ? pino({ level: config.logLevel }, { write: (line: string) => void logLines.push(line) })
    : pino({ level: config.logLevel });
  const db = openDatabase(":memory:");
  const shutdown = createShutdown(logger);
  shutdown.add("database", () => void db.close());
  return { config, logger, metrics: createMetrics(), db, shutdown };
}

import { ConfigError, formatHelp, parseConfig } from "./config";
import { ChainRaceError, NonRetryableError } from "./errors";
import { startOracleNode } from "./node";
import { onStopSignal } from "./stopSignals";

/**
 * The validator node's entry point: `npm run oracle -- [options]` (see `--help`). Exit codes: 0 after a clean
 * shutdown (SIGTERM/SIGINT/SIGHUP), 2 for a bad option, 1 when start-up fails.
 */
async function main(): Promise<void> {
  let parsed;
  try {
    parsed = parseConfig({ argv: process.argv.slice(2) });
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`oracle: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  if (parsed.help) {
    process.stdout.write(`${formatHelp()}\n`);
    return;
  }
  let node;
  try {
    node = await startOracleNode(parsed.config);
  } catch (error) {
    const known = error instanceof NonRetryableError || error instanceof ChainRaceError;
    process.stderr.write(`oracle: ${known ? (error as Error).message : (error as Error).stack}\n`);
    process.exit(error instanceof ConfigError ? 2 : 1);
  }
  const { logger, metrics } = node.common;
  const stop = (signal: string) => {
    node
      .stop(signal)
      .then(() => process.exit(0))
      .catch(() => process.exit(1));
  };
  onStopSignal(stop);
  // Last-resort handlers: count and log, keep serving (every stage has its own error handling).
  process.on("unhandledRejection", (reason) => {
    metrics.unhandledErrorsTotal.inc();
    logger.error({ err: reason }, "unhandled rejection");
  });
  process.on("uncaughtException", (error) => {
    metrics.unhandledErrorsTotal.inc();
    logger.error({ err: error }, "uncaught exception");
  });
}

void main();

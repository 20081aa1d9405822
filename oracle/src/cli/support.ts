/**
 * The command-line parsers shared by every entry point (the node's CLIs, the benches, the simulator, the demo).
 * Each is a commander argParser: a bad value becomes commander's one-line error naming the option; the CLIs end
 * with `failAndExit` (one line on stderr, exit 1).
 */
import { InvalidArgumentError } from "commander";

const DECIMAL = /^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i;

/** A decimal number within [min, max]. */
export function numberOption(min = -Infinity, max = Infinity): (value: string) => number {
  return (value) => {
    const n = parseDecimal(value);
    if (n < min || n > max) throw new InvalidArgumentError(`expected a number in [${min}, ${max}], got "${value}"`);
    return n;
  };
}

/** An integer within [min, max]. */
export function integerOption(min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER): (value: string) => number {
  return (value) => {
    const n = parseDecimal(value);
    if (!Number.isSafeInteger(n) || n < min || n > max) throw new InvalidArgumentError(`expected an integer in [${min}, ${max}], got "${value}"`);
    return n;
  };
}

/** A comma-separated list of numbers (empty items dropped). */
export function numberListOption(value: string): number[] {
  return value.split(",").map((s) => s.trim()).filter((s) => s !== "").map(numberOption());
}

function parseDecimal(value: string): number {
  const n = Number(value);
  if (!DECIMAL.test(value.trim()) || !Number.isFinite(n)) throw new InvalidArgumentError(`"${value}" is not a number`);
  return n;
}

/** Prints `error: <message>` on one line and exits 1: the CLI contract for bad input and failures. */
export function failAndExit(err: unknown): never {
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`error: ${message.split("\n")[0]}\n`);
  process.exit(1);
}

/** A logger for CLIs: warnings go to stderr as one line, info is dropped (stdout is the result). */
export const stderrLogger = {
  info: (): void => undefined,
  warn: (fieldsOrMessage: unknown, message?: string): void => {
    process.stderr.write(`warn: ${typeof fieldsOrMessage === "string" ? fieldsOrMessage : message}\n`);
  },
};

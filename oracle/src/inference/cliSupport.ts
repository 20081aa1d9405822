import { InvalidArgumentError } from "commander";

/** commander argParser for integers within [min, max]; a bad value becomes commander's one-line error. */
export function integerOption(min: number, max = Number.MAX_SAFE_INTEGER): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`expected an integer in [${min}, ${max}], got "${value}"`);
    }
    return n;
  };
}

/** commander argParser for finite numbers within [min, max]. */
export function numberOption(min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === "" || !Number.isFinite(n) || n < min || n > max) {
      throw new InvalidArgumentError(`expected a number in [${min}, ${max}], got "${value}"`);
    }
    return n;
  };
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

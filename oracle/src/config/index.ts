import fs from "node:fs";
import { Command, CommanderError, Option } from "commander";
import { Wallet } from "ethers";
import type { z } from "zod";
import { OPTION_SPECS, type OptionName, type OptionSpec } from "./options";
import { NonRetryableError } from "../errors";

export { DEFAULT_MODEL_DIR, OPTION_SPECS } from "./options";

type Specs = typeof OPTION_SPECS;
/** The node's validated options; field names are the keys of OPTION_SPECS. */
export type OracleConfig = { -readonly [K in OptionName]: z.output<Specs[K]["schema"]> };

/** A missing, unknown or malformed option; `option` is the flag name so the message can point at it. */
export class ConfigError extends NonRetryableError {
  constructor(
    readonly option: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`--${option}: ${message}`, options);
  }
}

export interface ParseConfigInput {
  /** Command-line arguments without `node` and the script, e.g. `process.argv.slice(2)`. */
  argv?: readonly string[];
  env?: Readonly<Record<string, string | undefined>>;
  /** Options given by code (tests, the demo); they win over env and argv. */
  overrides?: Partial<OracleConfig>;
}

export interface ParsedCommandLine {
  config: OracleConfig;
  /** `--help` was given: print `formatHelp()` and exit 0 instead of starting. */
  help: boolean;
}

/**
 * Reads every option from the command line (wins) or the environment, validates it, and fails at the first bad or
 * unknown one with a `ConfigError` that names it. Secret values never appear in the message.
 */
export function parseConfig(input: ParseConfigInput = {}): ParsedCommandLine {
  const { raw, help } = readCommandLine(input.argv ?? [], input.env ?? process.env);
  const config: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(OPTION_SPECS) as [OptionName, OptionSpec][]) {
    if (input.overrides && name in input.overrides && input.overrides[name] !== undefined) {
      config[name] = input.overrides[name];
      continue;
    }
    let value: unknown = raw.get(name);
    if (spec.repeatable && Array.isArray(value)) value = (value as string[]).flatMap(splitList);
    if (value === undefined && spec.defaultFrom) value = spec.defaultFrom(config);
    const parsed = spec.schema.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const shown = spec.secret || value === undefined ? "" : ` (got ${JSON.stringify(value)})`;
      const message = value === undefined ? "is required" : (issue?.message ?? "is invalid");
      throw new ConfigError(spec.flag, `${message}${shown}`);
    }
    config[name] = parsed.data;
  }
  const result = config as OracleConfig;
  if (result.keystore && !result.keystorePassword) {
    throw new ConfigError("keystore-password", `is required with --keystore (or set ${OPTION_SPECS.keystorePassword.env})`);
  }
  return { config: result, help };
}

/** Validator keys from `ORACLE_VALIDATOR_KEYS`, `--validator-key-file` and `--keystore`, as 0x-prefixed hex, de-duplicated. */
export async function resolveValidatorKeys(config: OracleConfig): Promise<string[]> {
  const keys = [...config.validatorKeys, ...readKeyFile(config.validatorKeyFile)].map((k) => (k.startsWith("0x") ? k : `0x${k}`).toLowerCase());
  if (config.keystore) {
    let json: string;
    try {
      json = fs.readFileSync(config.keystore, "utf8");
    } catch (error) {
      throw new ConfigError("keystore", `cannot read ${config.keystore}: ${(error as Error).message}`, { cause: error });
    }
    try {
      const wallet = await Wallet.fromEncryptedJson(json, config.keystorePassword ?? "");
      keys.push(wallet.privateKey.toLowerCase());
    } catch {
      throw new ConfigError("keystore", "cannot decrypt (wrong password or not a keystore file)");
    }
  }
  if (keys.length === 0) {
    throw new ConfigError("validator-key", `is required: set ${OPTION_SPECS.validatorKeys.env}, or give --validator-key-file or --keystore`);
  }
  return [...new Set(keys)];
}

/**
 * The entries of a one-per-line file named by option `option` (key files): trimmed, blank lines and `#` comments
 * skipped, each with its line number for error messages. An unreadable file is a ConfigError naming the option.
 */
export function readEntryLines(option: string, file: string): { line: number; entry: string }[] {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (error) {
    throw new ConfigError(option, `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { cause: error });
  }
  return text
    .split(/\r?\n/)
    .map((raw, i) => ({ line: i + 1, entry: raw.trim() }))
    .filter(({ entry }) => entry !== "" && !entry.startsWith("#"));
}

/** Keys of `--validator-key-file`: one per line. A bad line is named, never shown. */
function readKeyFile(file: string | undefined): string[] {
  if (!file) return [];
  return readEntryLines("validator-key-file", file).map(({ line, entry }) => {
    if (!PRIVATE_KEY.test(entry)) throw new ConfigError("validator-key-file", `${file} line ${line} is not a 32-byte hex private key`);
    return entry;
  });
}

const PRIVATE_KEY = /^(0x)?[0-9a-fA-F]{64}$/;

/** The key in `--anchor-key-file` as 0x-prefixed hex, or undefined when anchors are paid by the first validator key. */
export function readAnchorKey(config: OracleConfig): string | undefined {
  if (!config.anchorKeyFile) return undefined;
  let text: string;
  try {
    text = fs.readFileSync(config.anchorKeyFile, "utf8").trim();
  } catch (error) {
    throw new ConfigError("anchor-key-file", `cannot read ${config.anchorKeyFile}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { cause: error });
  }
  if (!PRIVATE_KEY.test(text)) throw new ConfigError("anchor-key-file", `${config.anchorKeyFile} must hold one 32-byte hex private key`);
  return (text.startsWith("0x") ? text : `0x${text}`).toLowerCase();
}

/** `--help` text, generated from the same table the parser uses. */
export function formatHelp(command = "npm run oracle --"): string {
  const rows = (Object.values(OPTION_SPECS) as OptionSpec[]).map((spec) => {
    // A secret is read from the environment only, so its row names the variable, not a flag.
    const left = spec.secret ? `${spec.env}=<value>` : `--${spec.flag}${spec.boolean ? "" : " <value>"}${spec.repeatable ? " ..." : ""}`;
    const right = `${spec.description}${spec.defaultText ? ` [default: ${spec.defaultText}]` : ""}${spec.secret ? "" : ` (env ${spec.env})`}`;
    return { left, right };
  });
  const width = Math.max(...rows.map((r) => r.left.length)) + 2;
  return [
    `Usage: ${command} [options]`,
    "",
    "Runs a chat-oracle validator node: follows chat requests on-chain, runs the model, commits and reveals responses,",
    "and serves the HTTP API. Every option can also be set through its environment variable.",
    "",
    "Options:",
    ...rows.map((r) => `  ${r.left.padEnd(width)}${r.right}`),
    `  ${"--help".padEnd(width)}print this help`,
  ].join("\n");
}

/**
 * Collects each option's raw text with commander: from the command line, else from its environment variable
 * (`Option.env()`); the spec table's schemas validate it afterwards. Errors become ConfigErrors naming the flag.
 */
function readCommandLine(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): { raw: Map<OptionName, string | string[]>; help: boolean } {
  const raw = new Map<OptionName, string | string[]>();
  const program = new Command("oracle")
    .helpOption(false) // formatHelp prints the table; `help` is returned to the caller
    .addOption(new Option("-h, --help"))
    .allowUnknownOption()
    .allowExcessArguments()
    .exitOverride()
    .configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
  for (const [name, spec] of Object.entries(OPTION_SPECS) as [OptionName, OptionSpec][]) {
    const option = new Option(`--${spec.flag} ${spec.boolean ? "[value]" : "<value>"}`, spec.description)
      .env(spec.env)
      .argParser((value: string) => {
        if (spec.repeatable) raw.set(name, [...((raw.get(name) as string[] | undefined) ?? []), value]);
        else if (raw.has(name)) throw new ConfigError(spec.flag, "given more than once");
        else raw.set(name, value);
        return value;
      });
    if (spec.boolean) option.preset("true");
    program.addOption(option);
    // `option:` events come from the command line only (`optionEnv:` from the environment).
    if (spec.secret) {
      program.on(`option:${spec.flag}`, () => {
        throw new ConfigError(spec.flag, `is a secret: set ${spec.env} (or a file option) instead; the command line is visible to every user (ps)`);
      });
    }
  }
  // commander reads Option.env() from process.env; callers (tests, the demo) pass their own environment, and an empty
  // variable counts as unset. The parse is synchronous, so the swap cannot leak.
  const saved = process.env;
  process.env = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== "")) as NodeJS.ProcessEnv;
  try {
    program.parse([...argv], { from: "user" });
  } catch (error) {
    if (!(error instanceof CommanderError)) throw error;
    const flag = /'--([\w-]+)/.exec(error.message)?.[1] ?? "";
    throw new ConfigError(flag, error.code === "commander.optionMissingArgument" ? "needs a value" : error.message.replace(/^error: /, ""), { cause: error });
  } finally {
    process.env = saved;
  }
  const [stray] = program.args;
  if (stray?.startsWith("--")) throw new ConfigError(stray.slice(2).split("=")[0], "unknown option (see --help)");
  if (stray !== undefined) throw new ConfigError(stray, "unexpected argument (options start with --)");
  return { raw, help: program.opts().help === true };
}

function splitList(text: string): string[] {
  return text
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

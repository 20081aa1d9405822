/**
 * Where and when a benchmark ran, stamped into every bench/out/<name>.json so that a figure quoted in README or docs
 * can be traced to its run: the commit (and whether the tree had uncommitted changes), the command, the date, and
 * how busy the machine was — this is a shared 2-core host, so the load average says how far to trust a rate.
 */
import { execFileSync } from "node:child_process";
import os from "node:os";
import path from "node:path";

const REPO_ROOT = path.resolve(__dirname, "..");

export interface Provenance {
  date: string;
  /** HEAD, or CHAT_ORACLE_COMMIT where the run happens outside a checkout (the GPU machine's packed copy). */
  commit: string;
  /** Tracked files differ from HEAD: the figure belongs to a change not yet committed. null when git is absent. */
  uncommittedChanges: boolean | null;
  command: string;
  machine: { cpus: number; cpuModel: string; node: string; loadAverage1m: number };
}

/** The keys `provenance` adds to a benchmark's JSON. */
const STAMP_KEYS = ["date", "commit", "uncommittedChanges", "command", "machine"] as const satisfies readonly (keyof Provenance)[];

/** A stamped benchmark JSON split into its stamp (each key null where the file predates the stamps) and its figures. */
export function splitStamp(json: Record<string, unknown>): { stamp: Record<string, unknown>; figures: Record<string, unknown> } {
  const stamp = Object.fromEntries(STAMP_KEYS.map((key) => [key, json[key] ?? null]));
  const figures = Object.fromEntries(Object.entries(json).filter(([key]) => !(STAMP_KEYS as readonly string[]).includes(key)));
  return { stamp, figures };
}

function git(args: string[]): string | undefined {
  try {
    return execFileSync("git", args, { cwd: REPO_ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return undefined;
  }
}

/** The benchmarks' knobs (BENCH_SKIP_TREE, BENCH_POW_SECONDS, …) as set in this process, as a command-line prefix. */
function benchEnvPrefix(): string {
  return Object.entries(process.env)
    .filter(([name, value]) => name.startsWith("BENCH_") && value !== undefined)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, value]) => `${name}=${value} `)
    .join("");
}

/** `command` is the npm command that reruns the benchmark; the BENCH_* variables in effect are put in front of it. */
export function provenance(command: string): Provenance {
  const status = git(["status", "--porcelain", "--untracked-files=no"]);
  return {
    date: new Date().toISOString(),
    commit: process.env.CHAT_ORACLE_COMMIT ?? git(["rev-parse", "HEAD"]) ?? "unknown",
    uncommittedChanges: status === undefined ? null : status.length > 0,
    command: benchEnvPrefix() + command,
    machine: {
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model.trim() ?? "unknown",
      node: process.version,
      loadAverage1m: Math.round(os.loadavg()[0] * 100) / 100,
    },
  };
}

/** The npm command line that reruns a tsx benchmark with the arguments it was given. */
export function npmCommand(script: string, args: readonly string[] = process.argv.slice(2)): string {
  return args.length > 0 ? `npm run ${script} -- ${args.join(" ")}` : `npm run ${script}`;
}

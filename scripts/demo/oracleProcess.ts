import type { ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { REPO_ROOT, stopGroup } from "./hardhatNode";
import { spawnWatched } from "./watchdog";

const TSX_BIN = path.join(REPO_ROOT, "node_modules/.bin/tsx");
const MAIN = path.join(REPO_ROOT, "oracle/src/main.ts");

export interface OracleProcess {
  pid: number;
  url: string;
  logFile: string;
  /** SIGTERM to its process group; resolves when it exited. */
  stop(): Promise<void>;
  /** SIGKILL to its process group, as a crash would. */
  kill(): Promise<void>;
  exited: Promise<number | null>;
}

/** `BENCH_ORACLE_CPU_PROF=<dir>`: each oracle process writes a V8 CPU profile of its main thread there on exit. */
function profilerFlags(): string[] {
  const dir = process.env.BENCH_ORACLE_CPU_PROF;
  return dir ? ["--cpu-prof", "--cpu-prof-dir", path.resolve(dir)] : [];
}

/**
 * Starts `oracle/src/main.ts` as its own OS process (own process group that ends with this process, logs to `logFile`), with the given options as
 * command-line flags, and resolves once GET /readyz answers 200.
 */
export async function startOracleProcess(options: {
  args: readonly string[];
  url: string;
  logFile: string;
  env?: Record<string, string>;
  readyTimeoutMs?: number;
  /** A command the node runs under, e.g. `ip netns exec <name>` to run it inside a network namespace. */
  wrapper?: readonly string[];
}): Promise<OracleProcess> {
  fs.mkdirSync(path.dirname(options.logFile), { recursive: true });
  const log = fs.openSync(options.logFile, "a");
  // `ip netns exec` execs the watchdog in the namespace, so the pid (and process group) stays in there.
  const child: ChildProcess = spawnWatched(TSX_BIN, [...profilerFlags(), MAIN, ...options.args], { cwd: REPO_ROOT, output: log, env: { ...process.env, ...options.env }, wrapper: options.wrapper });
  fs.closeSync(log);
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const proc: OracleProcess = {
    pid: child.pid as number,
    url: options.url,
    logFile: options.logFile,
    stop: () => stopGroup(child, exited.then(() => undefined), "SIGTERM"),
    kill: () => stopGroup(child, exited.then(() => undefined), "SIGKILL"),
    exited,
  };
  const deadline = Date.now() + (options.readyTimeoutMs ?? 120_000);
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      const tail = fs.readFileSync(options.logFile, "utf8").slice(-3000);
      throw new Error(`oracle process exited with code ${child.exitCode}:\n${tail}`);
    }
    if (await isReady(options.url)) return proc;
    await new Promise((r) => setTimeout(r, 150));
  }
  await proc.kill();
  throw new Error(`oracle at ${options.url} was not ready within ${options.readyTimeoutMs ?? 120_000} ms (log: ${options.logFile})`);
}

export async function isReady(url: string): Promise<boolean> {
  try {
    const response = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(1_000) });
    return response.status === 200;
  } catch {
    return false;
  }
}

import { type ChildProcess, type StdioNull, type StdioPipe, spawn } from "node:child_process";
import path from "node:path";

const WATCHDOG = path.join(__dirname, "parentWatchdog.cjs");

export interface SpawnWatchedOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Where the command's stdout and stderr go: "pipe" to read them here, or a file descriptor. */
  output: StdioPipe | StdioNull | number;
  /**
   * A command that runs the watchdog in another place and then execs it (`ip netns exec <ns>`): the returned pid and
   * process group stay the watchdog's, now inside that place.
   */
  wrapper?: readonly string[];
}

/**
 * Starts `bin args` in a process group of its own (stop it by signalling `-child.pid`) that also ends when this process
 * dies without stopping it, SIGKILL included: a watchdog leads the group and watches a pipe from this process.
 */
export function spawnWatched(bin: string, args: readonly string[], options: SpawnWatchedOptions): ChildProcess {
  const [launcher, ...launchArgs] = [...(options.wrapper ?? []), process.execPath, WATCHDOG, bin, ...args];
  const child = spawn(launcher, launchArgs, {
    cwd: options.cwd,
    env: options.env,
    detached: true,
    stdio: ["pipe", options.output, options.output],
  });
  // The pipe is never written: its only job is to close when this process exits.
  child.stdin?.on("error", () => undefined);
  return child;
}

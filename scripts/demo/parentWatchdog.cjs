// Runs one command in this process's group and ends the group when the parent that started it is gone.
//
// Usage: node parentWatchdog.cjs <bin> [args...]   (stdin: a pipe whose write end only the parent holds)
//
// The parent never writes to stdin; the kernel closes the pipe when the parent exits in any way, SIGKILL included,
// so stdin's end means "nobody will stop this group": it is stopped here (SIGTERM, then SIGKILL after 5 s). Plain
// JavaScript run by `node` itself: a TypeScript loader would add half a second and tens of MB to every chain start.
"use strict";
const { spawn } = require("node:child_process");

const [bin, ...args] = process.argv.slice(2);
if (!bin) {
  process.stderr.write("parentWatchdog: no command given\n");
  process.exit(2);
}

const child = spawn(bin, args, { stdio: ["ignore", "inherit", "inherit"] });

function stopGroup() {
  try {
    process.kill(-process.pid, "SIGTERM");
  } catch {
    // the group is gone already
  }
  setTimeout(() => {
    try {
      process.kill(-process.pid, "SIGKILL");
    } catch {
      // gone
    }
  }, 5_000).unref();
}

// A group signal reaches the command too; this process stays until the command exited, so whoever waits for it
// waits for the command.
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(signal, () => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  });
}

process.stdin.on("error", () => undefined);
process.stdin.on("end", stopGroup);
process.stdin.on("close", stopGroup);
process.stdin.resume();

child.on("error", (error) => {
  process.stderr.write(`parentWatchdog: cannot start ${bin}: ${error.message}\n`);
  process.exit(127);
});
child.on("exit", (code, signal) => process.exit(code ?? 128 + (require("node:os").constants.signals[signal] ?? 0)));

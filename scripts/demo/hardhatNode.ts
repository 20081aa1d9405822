import { type ChildProcess, spawn } from "node:child_process";
import net from "node:net";
import path from "node:path";
import { type ChainNode, type StartChainNodeOptions, startChainNode } from "./chainNode";

/** The repository root (scripts/demo/ → ../..). */
export const REPO_ROOT = path.resolve(__dirname, "../..");

/** A port nobody listens on right now at `host` (the OS picks it). */
export function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, host, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export type { ChainNode as HardhatNode } from "./chainNode";

/** Starts `hardhat node` (see `startChainNode`, which starts anvil too). */
export async function startHardhatNode(options: StartChainNodeOptions = {}): Promise<ChainNode> {
  return startChainNode("hardhat", options);
}

/** Signals a detached child's whole process group by its pid, escalating to SIGKILL if it lingers. */
export async function stopGroup(child: ChildProcess, exited: Promise<void>, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const send = (s: NodeJS.Signals) => {
    try {
      process.kill(-(child.pid as number), s);
    } catch {
      // already gone
    }
  };
  send(signal);
  const timer = setTimeout(() => send("SIGKILL"), 5_000);
  await exited;
  clearTimeout(timer);
}

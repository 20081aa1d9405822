import { type ChildProcess, spawn } from "node:child_process";
import net from "node:net";
import path from "node:path";

/** The repository root (scripts/demo/ → ../..). */
export const REPO_ROOT = path.resolve(__dirname, "../..");
const HARDHAT_BIN = path.join(REPO_ROOT, "node_modules/.bin/hardhat");

/** A port nobody listens on right now (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export interface HardhatNode {
  url: string;
  port: number;
  pid: number;
  /** Stops the node's process group (SIGTERM, then SIGKILL) and waits for it to exit. */
  stop(): Promise<void>;
  /** Kills the node at once (SIGKILL), as a crash of the RPC would. */
  kill(): Promise<void>;
}

export interface StartHardhatNodeOptions {
  port?: number;
  /** Collects the node's output (it is noisy; the demo keeps it out of the terminal). */
  onOutput?: (line: string) => void;
  timeoutMs?: number;
}

/**
 * Starts `hardhat node` on 127.0.0.1 as a real JSON-RPC process in its own process group (so stopping it by pid also
 * stops anything it started), and resolves once it answers `eth_chainId`.
 */
export async function startHardhatNode(options: StartHardhatNodeOptions = {}): Promise<HardhatNode> {
  const port = options.port ?? (await freePort());
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(HARDHAT_BIN, ["node", "--hostname", "127.0.0.1", "--port", String(port)], {
    cwd: REPO_ROOT,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, HARDHAT_DISABLE_TELEMETRY_PROMPT: "true" },
  });
  let output = "";
  const onData = (chunk: Buffer) => {
    const text = chunk.toString();
    if (output.length < 20_000) output += text;
    for (const line of text.split("\n")) if (line.trim()) options.onOutput?.(line);
  };
  child.stdout?.on("data", onData);
  child.stderr?.on("data", onData);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const node: HardhatNode = {
    url,
    port,
    pid: child.pid as number,
    stop: () => stopGroup(child, exited, "SIGTERM"),
    kill: () => stopGroup(child, exited, "SIGKILL"),
  };
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`hardhat node exited with code ${child.exitCode}:\n${output.slice(-2000)}`);
    if (await answers(url)) return node;
    await new Promise((r) => setTimeout(r, 200));
  }
  await node.kill();
  throw new Error(`hardhat node did not answer on ${url} within ${options.timeoutMs ?? 60_000} ms:\n${output.slice(-2000)}`);
}

async function answers(url: string): Promise<boolean> {
  try {
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
      signal: AbortSignal.timeout(1_000),
    });
    return response.ok;
  } catch {
    return false;
  }
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

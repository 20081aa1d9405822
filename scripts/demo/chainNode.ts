import { InvalidArgumentError } from "commander";
import type { JsonRpcProvider } from "ethers";
import path from "node:path";
import { REPO_ROOT, freePort, stopGroup } from "./hardhatNode";
import { spawnWatched } from "./watchdog";

/** The local EVM implementations the demo, the e2e tests and the benchmark can start. */
export const CHAIN_KINDS = ["hardhat", "anvil"] as const;
export type ChainKind = (typeof CHAIN_KINDS)[number];

/** The chain id both local chains run under (anvil's default and Hardhat's). */
export const LOCAL_CHAIN_ID = 31337;

// Resolved on use: hardhatNode.ts (REPO_ROOT) re-exports this module, so its constants are not ready at load time.
const hardhatBin = () => path.join(REPO_ROOT, "node_modules/.bin/hardhat");
/** Shipped by the `@foundry-rs/anvil-linux-amd64` npm package: nothing is downloaded at run time. */
export const anvilBin = () => path.join(REPO_ROOT, "node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil");

export interface ChainNode {
  kind: ChainKind;
  url: string;
  /** The same node's WebSocket endpoint (anvil and hardhat serve it on the HTTP port): for newHeads. */
  wsUrl: string;
  port: number;
  pid: number;
  /** Stops the node's process group (SIGTERM, then SIGKILL) and waits for it to exit. */
  stop(): Promise<void>;
  /** Kills the node at once (SIGKILL), as a crash of the RPC would. */
  kill(): Promise<void>;
}

export interface StartChainNodeOptions {
  port?: number;
  /** The address the RPC listens on (default 127.0.0.1; the network mode uses its bridge's address). */
  host?: string;
  /** Collects the node's output (it is noisy; the demo keeps it out of the terminal). */
  onOutput?: (line: string) => void;
  timeoutMs?: number;
}

/** Reads `--chain`'s value, failing with the choices (commander's one-line error) when it names no chain we start. */
export function parseChainKind(value: string): ChainKind {
  if ((CHAIN_KINDS as readonly string[]).includes(value)) return value as ChainKind;
  throw new InvalidArgumentError(`must be one of ${CHAIN_KINDS.join(", ")}, got "${value}"`);
}

/**
 * The command line of each chain. Both derive their dev accounts from the "test test … junk" mnemonic; anvil funds
 * only 10 by default, Hardhat 20 with 10,000 ETH each, so anvil is asked for the same.
 */
function commandOf(kind: ChainKind, host: string, port: number): { bin: string; args: string[] } {
  if (kind === "hardhat") return { bin: hardhatBin(), args: ["node", "--hostname", host, "--port", String(port)] };
  return {
    bin: anvilBin(),
    args: ["--host", host, "--port", String(port), "--chain-id", String(LOCAL_CHAIN_ID), "--accounts", "20", "--balance", "10000"],
  };
}

/**
 * Starts a local chain (`hardhat node` or anvil) on 127.0.0.1 (or `options.host`) as a real JSON-RPC process in its own
 * process group (so stopping it by pid also stops anything it started; the group also ends when this process dies
 * without stopping it, see `spawnWatched`), and resolves once it answers `eth_chainId` with 31337.
 */
export async function startChainNode(kind: ChainKind, options: StartChainNodeOptions = {}): Promise<ChainNode> {
  const host = options.host ?? "127.0.0.1";
  const port = options.port ?? (await freePort(host));
  const url = `http://${host}:${port}`;
  const { bin, args } = commandOf(kind, host, port);
  const child = spawnWatched(bin, args, {
    cwd: REPO_ROOT,
    output: "pipe",
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
  const spawnFailed = new Promise<Error>((resolve) => child.once("error", resolve));
  const node: ChainNode = {
    kind,
    url,
    wsUrl: `ws://${host}:${port}`,
    port,
    pid: child.pid as number,
    stop: () => stopGroup(child, exited, "SIGTERM"),
    kill: () => stopGroup(child, exited, "SIGKILL"),
  };
  const timeoutMs = options.timeoutMs ?? 60_000;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${kind} node exited with code ${child.exitCode}:\n${output.slice(-2000)}`);
    const failure = await Promise.race([spawnFailed, new Promise<undefined>((r) => setImmediate(() => r(undefined)))]);
    if (failure) throw new Error(`${kind} node could not start (${bin})`, { cause: failure });
    const chainId = await chainIdAt(url);
    if (chainId === LOCAL_CHAIN_ID) return node;
    if (chainId !== undefined) {
      await node.kill();
      throw new Error(`${kind} node on ${url} answers chain id ${chainId}, expected ${LOCAL_CHAIN_ID}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  await node.kill();
  throw new Error(`${kind} node did not answer on ${url} within ${timeoutMs} ms:\n${output.slice(-2000)}`);
}

async function chainIdAt(url: string): Promise<number | undefined> {
  try {
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
      signal: AbortSignal.timeout(1_000),
    });
    if (!response.ok) return undefined;
    return Number(((await response.json()) as { result: string }).result);
  } catch {
    return undefined;
  }
}

/** Block producers of anvil chains mining at a sub-second interval (see `setIntervalMining`), by provider. */
const blockProducers = new WeakMap<JsonRpcProvider, NodeJS.Timeout>();

/**
 * Whether `setIntervalMining` mines the blocks itself: anvil's `evm_setIntervalMining` takes whole seconds (and its
 * `--block-time`, which takes fractions, is lost once automine was on).
 */
export function minesByTimer(kind: ChainKind, ms: number): boolean {
  return kind === "anvil" && ms % 1000 !== 0;
}

/**
 * Turns automine off and mines a block every `ms` (`undefined`: automine back on). Hardhat takes milliseconds; for an
 * anvil interval that is not whole seconds (`minesByTimer`) this process mines the blocks: one `evm_mine` every `ms`,
 * skipped while the last one is unanswered.
 */
export async function setIntervalMining(provider: JsonRpcProvider, kind: ChainKind, ms: number | undefined): Promise<void> {
  clearInterval(blockProducers.get(provider));
  blockProducers.delete(provider);
  if (ms === undefined) {
    await provider.send("evm_setIntervalMining", [0]);
    await provider.send("evm_setAutomine", [true]);
    return;
  }
  await provider.send("evm_setAutomine", [false]);
  if (minesByTimer(kind, ms)) {
    let mining = false;
    const timer = setInterval(() => {
      if (mining) return;
      mining = true;
      provider.send("evm_mine", []).catch(() => undefined).finally(() => (mining = false));
    }, ms);
    timer.unref();
    blockProducers.set(provider, timer);
    return;
  }
  await provider.send("evm_setIntervalMining", [kind === "anvil" ? ms / 1000 : ms]);
}

/** Stops the chain printing every JSON-RPC call to its console (a node serving an oracle would not pay for it). */
export async function setChainLogging(provider: JsonRpcProvider, kind: ChainKind, enabled: boolean): Promise<void> {
  await provider.send(`${kind}_setLoggingEnabled`, [enabled]);
}

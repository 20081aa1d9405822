import fs from "node:fs";
import path from "node:path";
import { type JsonRpcProvider, toQuantity } from "ethers";
import pino from "pino";
import { type OracleConfig, parseConfig } from "../../oracle/src/config";
import { ensureTinyModel } from "../../oracle/src/inference";
import { DEFAULT_TINY_MODEL_DIR } from "../../oracle/src/inference/buildModel";
import { type OracleNode, type OracleNodeOptions, startOracleNode } from "../../oracle/src/node";
import { type ChainKind, parseChainKind, setIntervalMining as setChainIntervalMining } from "../../scripts/demo/chainNode";
import { type LocalNetwork, startLocalNetwork } from "../../scripts/demo/localNetwork";
import { contractsOf } from "../../scripts/demo/network";
import type { ChatConfig } from "../../scripts/lib/deploy";

import { sharedTinyEngine } from "../helpers/engines";

export { waitFor } from "../helpers/waitFor";

/** The chains every e2e suite that loops over chains runs on; `E2E_CHAINS=anvil` (comma-separated) narrows it. */
export const E2E_CHAINS: readonly ChainKind[] = (process.env.E2E_CHAINS ?? "hardhat,anvil").split(",").map((c) => {
  try {
    return parseChainKind(c.trim());
  } catch (error) {
    throw new Error(`E2E_CHAINS: ${(error as Error).message}`, { cause: error });
  }
});

/** A local chain with the contracts deployed and validators staked, for one suite. */
export type E2eChain = LocalNetwork;

export interface StartChainOptions {
  /** Which EVM implementation to start; the first of `E2E_CHAINS` when not given. */
  chain?: ChainKind;
  config: Partial<ChatConfig>;
  /** Stakes in whole tokens, one validator each (dev accounts 1..n). */
  stakes: bigint[];
  commitWindow?: number;
  revealWindow?: number;
  endpoint?: string;
}

export function startE2eChain(options: StartChainOptions): Promise<E2eChain> {
  return startLocalNetwork({
    ...options,
    chain: options.chain ?? E2E_CHAINS[0],
    commitWindow: options.commitWindow ?? 60,
    revealWindow: options.revealWindow ?? 60,
    dirPrefix: "oracle-e2e-",
  });
}

/** Node options as the command line would give them, for a node serving `keys` on `chain`. */
export function nodeConfig(chain: E2eChain, keys: readonly string[], extra: string[] = []): OracleConfig {
  return parseConfig({
    argv: [
      "--rpc-url", chain.node.url,
      "--deployments", chain.deploymentsFile,
      "--data-dir", fs.mkdtempSync(path.join(chain.dir, "node-")),
      "--http-port", "0",
      "--poll-interval-ms", "50",
      "--log-level", "info",
      ...extra,
    ],
    env: { ORACLE_VALIDATOR_KEYS: keys.join(",") },
  }).config;
}

/** Starts an in-process node on the shared engine, logging to a file in the chain's folder. */
export async function startNode(
  chain: E2eChain,
  keys: readonly string[],
  options: Omit<OracleNodeOptions, "engine"> & { extraArgs?: string[] } = {},
): Promise<OracleNode> {
  const config = nodeConfig(chain, keys, options.extraArgs);
  const node = await startOracleNode(config, {
    engine: await sharedTinyEngine(),
    logDestination: pino.destination({ dest: path.join(config.dataDir, "node.log"), sync: true }),
    ...options,
  });
  return node;
}

/** Moves chain time forward and mines a block (deadlines compare with block.timestamp). */
export async function advanceTime(provider: JsonRpcProvider, seconds: number): Promise<void> {
  await provider.send("evm_increaseTime", [seconds]);
  await provider.send("evm_mine", []);
}

/**
 * The dev-only JSON-RPC method `name` under the chain's own prefix (`hardhat_mine` / `anvil_mine`): tests drive the
 * chain with these; the node itself calls none of them.
 */
function devMethod(chain: E2eChain, name: "mine" | "setBalance"): string {
  return `${chain.node.kind}_${name}`;
}

/** Mines `blocks` empty blocks, each 1 s after its parent. */
export async function mineBlocks(chain: E2eChain, blocks: number): Promise<void> {
  await chain.provider.send(devMethod(chain, "mine"), [toQuantity(blocks), toQuantity(1)]);
}

/** Sets an account's ether balance, in wei. */
export async function setBalance(chain: E2eChain, address: string, wei: bigint): Promise<void> {
  await chain.provider.send(devMethod(chain, "setBalance"), [address, toQuantity(wei)]);
}

/** Interval mining every `ms` (on anvil below whole seconds: `evm_mine` from this process), or automine again with `ms` undefined. */
export async function setIntervalMining(chain: E2eChain, ms: number | undefined): Promise<void> {
  await setChainIntervalMining(chain.provider, chain.node.kind, ms);
}

/** Every event of the chat registry so far, decoded, in chain order. */
export async function registryEvents(chain: E2eChain) {
  const { chat } = contractsOf(chain.deployment, chain.provider);
  const logs = await chain.provider.getLogs({ address: chain.deployment.addresses.ChatRecordRegistry, fromBlock: 0, toBlock: "latest" });
  return logs.flatMap((log) => {
    const parsed = chat.interface.parseLog(log);
    return parsed ? [{ name: parsed.name, args: parsed.args, block: log.blockNumber, txHash: log.transactionHash }] : [];
  });
}

/** Counts of transactions sent by `addresses` whose receipts say reverted (a duplicate commit/reveal would be one). */
export async function revertedTransactionsFrom(chain: E2eChain, addresses: readonly string[]): Promise<number> {
  const wanted = new Set(addresses.map((a) => a.toLowerCase()));
  const head = await chain.provider.getBlockNumber();
  let reverted = 0;
  for (let n = 0; n <= head; n++) {
    const block = await chain.provider.getBlock(n, true);
    for (const tx of block?.prefetchedTransactions ?? []) {
      if (!wanted.has(tx.from.toLowerCase())) continue;
      const receipt = await chain.provider.getTransactionReceipt(tx.hash);
      if (receipt?.status === 0) reverted++;
    }
  }
  return reverted;
}

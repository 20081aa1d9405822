import { type EventFragment, Indexed, type Interface, type LogDescription, type ParamType, Result } from "ethers";
import { decodeAbi, decodeWord } from "./abi";
import { type ChainLog, type JsonRpcSender, getBlockHeader, getBlockNumber, getLogs } from "./jsonRpc";
import type { Common } from "../common";
import type { Journal } from "../jobs/journal";
import { classifyRpcError, pollRetryDelayMs, sleep } from "./rpc";

/** A decoded log of one of the watched contracts, with where it sits in the chain. */
export interface ChainEvent {
  name: string;
  args: LogDescription["args"];
  address: string;
  blockNumber: number;
  blockHash: string;
  transactionHash: string;
  logIndex: number;
  /** See `DecodedLog.invalidUtf8`: the event's texts that are not UTF-8 (a request the node cannot serve). */
  invalidUtf8: string[];
  /** The raw log, so a consumer can store the event as read and decode it again later (the API's event log). */
  topics: readonly string[];
  data: string;
}

/**
 * What one listener step did, as a discriminated union (Ponder `sync-realtime`): a range of blocks processed, a reorg
 * rolled back to a common ancestor, or nothing new.
 */
export type ListenerStep =
  | { type: "block"; fromBlock: number; toBlock: number; events: number }
  | { type: "reorg"; ancestor: number; deletedJobs: number; reopenedJobs: number }
  | { type: "idle"; head: number };

/** A log decoded by `createEventDecoder`. */
export interface DecodedLog {
  name: string;
  args: Result;
  /**
   * Names of the `string` arguments whose bytes are not valid UTF-8 (Solidity does not check): they are shown with
   * U+FFFD where invalid, so such a text no longer hashes to what the chain hashed from its raw bytes.
   */
  invalidUtf8: string[];
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const lenientUtf8 = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });

/** The text of raw bytes, with U+FFFD for each invalid sequence, and whether they were valid UTF-8. */
export function decodeUtf8Lenient(bytes: Uint8Array): { text: string; valid: boolean } {
  try {
    return { text: strictUtf8.decode(bytes), valid: true };
  } catch {
    return { text: lenientUtf8.decode(bytes), valid: false };
  }
}

/**
 * Decodes the logs of one contract interface by topic, with the lean codec of `abi.ts`. ethers' `parseLog` finds the
 * event by recomputing every fragment's topic hash (a keccak each) on every log, which was a visible share of the
 * node's CPU at tens of logs a second; here the topics are hashed once. A `string` is decoded as its raw bytes and then leniently (ethers would
 * throw on the first invalid byte when the value is read, and anyone can put any bytes in a prompt). Malformed data
 * throws; an unknown topic is undefined.
 */
export function createEventDecoder(iface: Interface): (log: { topics: readonly string[]; data: string }) => DecodedLog | undefined {
  const byTopic = new Map<string, { fragment: EventFragment; dataTypes: ParamType[] }>();
  iface.forEachEvent((fragment) => {
    if (fragment.anonymous) return;
    byTopic.set(fragment.topicHash, { fragment, dataTypes: fragment.inputs.filter((p) => !p.indexed) });
  });
  return (log) => {
    const known = byTopic.get(log.topics[0]);
    if (!known) return undefined;
    const { fragment, dataTypes } = known;
    // Strings as raw bytes, decoded leniently below (no event of the contracts has a string inside a tuple or array).
    const data = decodeAbi(dataTypes, log.data, { results: true, rawStrings: true });
    const invalidUtf8: string[] = [];
    let topic = 1;
    let field = 0;
    const values = fragment.inputs.map((param) => {
      if (!param.indexed) {
        const value = data[field++];
        if (param.type !== "string") return value;
        const { text, valid } = decodeUtf8Lenient(value as Uint8Array);
        if (!valid) invalidUtf8.push(param.name);
        return text;
      }
      const raw = log.topics[topic++];
      if (raw === undefined) throw new Error(`event ${fragment.name} has fewer topics than indexed inputs`);
      // An indexed string, bytes, array or struct is only its hash in the topic (as ethers reports it).
      const hashed = param.baseType === "string" || param.baseType === "bytes" || param.isArray() || param.isTuple();
      return hashed ? new Indexed(raw) : decodeWord(param, raw);
    });
    return { name: fragment.name, args: Result.fromItems(values, fragment.inputs.map((p) => p.name)), invalidUtf8 };
  };
}

export interface ListenerOptions {
  provider: JsonRpcSender;
  journal: Journal;
  /** Contracts whose logs are read, each with the interface that decodes them. */
  contracts: readonly { address: string; iface: Interface }[];
  /** First block worth reading (the deployment block). */
  startBlock: number;
  /**
   * Applies the events of one range to the journal. It runs inside the same SQLite transaction that advances the
   * cursor, so a crash either keeps both or neither: each event is applied exactly once. It is called with one event
   * at a time, each in a savepoint: an event it throws on is undone, recorded as skipped and the range goes on.
   */
  apply: (events: ChainEvent[]) => void;
  /**
   * Runs inside the reorg's rollback transaction with the common ancestor: whatever was stored from the events of
   * dropped blocks (the API's event log) goes with the journal's rows, or stays with them after a crash.
   */
  rollback?: (ancestor: number) => void;
  /** Called after each step that changed something (the pipeline wakes up). */
  onStep?: (step: ListenerStep) => void;
  /**
   * The node's shared head poller: when idle, the listener waits for its next block instead of polling the RPC
   * itself every `pollIntervalMs` (the head is polled once for the whole node).
   */
  heads?: { nextBlock(after: number | undefined, timeoutMs: number): Promise<void> };
}

export interface Listener {
  /** One poll: reorg check, then at most one bounded range. Throws classified errors (retryable when the RPC is down). */
  step(): Promise<ListenerStep>;
  /** Polls until `stop()`, backing off while the RPC is unreachable. */
  start(): void;
  stop(): Promise<void>;
  /** True once the processed block has reached the confirmed head at least once (the backlog is done). */
  caughtUp(): boolean;
  /** The latest chain head the listener saw. */
  head(): number | undefined;
}

export function createListener(common: Common, options: ListenerOptions): Listener {
  const { config, logger, metrics } = common;
  const { provider, journal } = options;
  const log = logger.child({ component: "listener" });
  const byAddress = new Map(options.contracts.map((c) => [c.address.toLowerCase(), createEventDecoder(c.iface)]));
  const addresses = options.contracts.map((c) => c.address);
  let isCaughtUp = false;
  let lastHead: number | undefined;
  let stopping = false;
  const abort = new AbortController();
  let loop: Promise<void> | undefined;

  async function blockHashAt(number: number): Promise<string | undefined> {
    const block = await getBlockHeader(provider, number);
    return block?.hash;
  }

  /** Highest stored block whose hash the chain still has; walks down the stored (sparse) hashes. */
  async function findCommonAncestor(from: number): Promise<number> {
    for (const stored of journal.storedBlocksDescending(from, config.reorgDepth)) {
      if ((await blockHashAt(stored.number)) === stored.hash) return stored.number;
    }
    log.error({ from, depth: config.reorgDepth }, "reorg deeper than the stored block hashes; re-reading from the start block");
    return options.startBlock - 1;
  }

  /** The event, undefined for a log of no watched event, or why the node cannot use it (never throws). */
  function decode(raw: ChainLog): ChainEvent | { skipped: string } | undefined {
    let parsed: DecodedLog | undefined;
    try {
      parsed = byAddress.get(raw.address.toLowerCase())?.(raw);
    } catch (error) {
      return { skipped: `undecodable: ${(error as Error).message}`.slice(0, 500) };
    }
    if (!parsed) return undefined;
    return {
      name: parsed.name,
      args: parsed.args,
      address: raw.address,
      blockNumber: raw.blockNumber,
      blockHash: raw.blockHash,
      transactionHash: raw.transactionHash,
      logIndex: raw.index,
      invalidUtf8: parsed.invalidUtf8,
      topics: raw.topics,
      data: raw.data,
    };
  }

  function skip(raw: ChainLog, reason: string) {
    journal.recordSkippedEvent({ block: raw.blockNumber, logIndex: raw.index, txHash: raw.transactionHash, address: raw.address, reason });
    metrics.listenerSkippedEventsTotal.inc({ reason: reason.startsWith("undecodable") ? "undecodable" : "apply_failed" });
    log.error({ block: raw.blockNumber, logIndex: raw.index, tx: raw.transactionHash, reason }, "skipped an event the node cannot use");
  }

  /** Applies each event in a savepoint; one that cannot be decoded or applied is recorded and skipped. */
  function applyRange(logs: readonly ChainLog[]): number {
    let applied = 0;
    for (const raw of logs) {
      const event = decode(raw);
      if (event === undefined) continue;
      if ("skipped" in event) {
        skip(raw, event.skipped);
        continue;
      }
      try {
        journal.atomically(() => options.apply([event]));
        applied++;
      } catch (error) {
        skip(raw, `apply failed: ${(error as Error).message}`.slice(0, 500));
      }
    }
    return applied;
  }

  async function step(): Promise<ListenerStep> {
    try {
      const processed = journal.processedBlock() ?? options.startBlock - 1;
      const storedHash = journal.blockHash(processed);
      // Asked in the same tick, the head and the processed block's hash go out as one JSON-RPC batch.
      const [head, chainHash] = await Promise.all([
        getBlockNumber(provider),
        storedHash === undefined ? undefined : blockHashAt(processed),
      ]);
      lastHead = head;
      metrics.chainHeadBlock.set(head);

      // Reorg check: the last processed block must still be on the chain with the hash we stored.
      if (storedHash !== undefined && (processed > head || chainHash !== storedHash)) {
        const ancestor = await findCommonAncestor(Math.min(processed, head));
        const { deleted, reopened } = journal.atomically(() => {
          const rolledBack = journal.rollbackTo(ancestor);
          options.rollback?.(ancestor);
          return rolledBack;
        });
        metrics.processedBlock.set(ancestor);
        log.warn({ processed, ancestor, deletedJobs: deleted, reopenedJobs: reopened }, "chain reorganized, rolled back");
        return { type: "reorg", ancestor, deletedJobs: deleted, reopenedJobs: reopened };
      }

      const safe = head - config.confirmations;
      if (safe <= processed) {
        isCaughtUp = true;
        return { type: "idle", head };
      }
      const fromBlock = processed + 1;
      const toBlock = Math.min(safe, processed + config.blockRange);
      // One batch again: the range's logs and its last block's hash.
      const [rawLogs, toHash] = await Promise.all([getLogs(provider, { address: addresses, fromBlock, toBlock }), blockHashAt(toBlock)]);
      if (!toHash) return { type: "idle", head }; // the chain shrank under us; the next step sees the reorg
      const hashes = new Map<number, string>([[toBlock, toHash]]);
      for (const l of rawLogs) {
        const known = hashes.get(l.blockNumber);
        // Two hashes for one height inside one answer means the chain moved during the call: read again.
        if (known !== undefined && known !== l.blockHash) return { type: "idle", head };
        hashes.set(l.blockNumber, l.blockHash);
      }
      rawLogs.sort((a, b) => a.blockNumber - b.blockNumber || a.index - b.index);
      // Block hashes are kept for every block with one of our logs (every job comes from one) and each range's end,
      // so the common ancestor found after a reorg is never below a block we acted on.
      const blocks = [...hashes].map(([number, hash]) => ({ number, hash }));
      let events = 0;
      journal.commitRange(toBlock, blocks, () => {
        events = applyRange(rawLogs);
      });
      if (toBlock - config.reorgDepth > 0 && toBlock % 64 === 0) journal.pruneBlocks(toBlock - config.reorgDepth);
      metrics.processedBlock.set(toBlock);
      if (toBlock >= safe) isCaughtUp = true;
      return { type: "block", fromBlock, toBlock, events };
    } catch (error) {
      throw classifyRpcError(error, "chain listener", metrics);
    }
  }

  async function run() {
    let failures = 0;
    while (!stopping) {
      let next = config.pollIntervalMs;
      try {
        const result = await step();
        if (failures > 0) log.info({ failures }, "rpc reachable again");
        failures = 0;
        if (result.type !== "idle") {
          options.onStep?.(result);
          next = 0; // more may be waiting: read on at once
        }
        // Caught up with the head (idle, or a range that reached it): with a head poller, wait for its next block
        // instead of polling; the fallback timeout keeps a failing or lagging poller from stalling the listener.
        const upTo = result.type === "idle" ? result.head : result.type === "block" ? result.toBlock + config.confirmations : undefined;
        if (options.heads && upTo !== undefined && lastHead !== undefined && upTo >= lastHead) {
          await options.heads.nextBlock(lastHead, Math.max(1_000, config.pollIntervalMs));
          next = 0;
        }
      } catch (error) {
        failures++;
        metrics.listenerFailuresTotal.inc();
        next = pollRetryDelayMs(config.pollIntervalMs, failures);
        const level = failures === 1 || failures % 20 === 0 ? "warn" : "debug";
        log[level]({ err: error, failures, retryInMs: next }, "chain poll failed");
      }
      if (next > 0) await sleep(next, abort.signal);
      else await new Promise((r) => setImmediate(r));
    }
  }

  return {
    step,
    start() {
      loop ??= run();
    },
    async stop() {
      stopping = true;
      abort.abort();
      await loop;
    },
    caughtUp: () => isCaughtUp,
    head: () => lastHead,
  };
}

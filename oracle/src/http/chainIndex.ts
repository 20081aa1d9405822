import type { Provider, Result } from "ethers";
import type { Logger } from "pino";
import type { Deployment } from "../chain/deployments";
import { createEventDecoder, type DecodedLog } from "../chain/listener";
import { classifyRpcError } from "../chain/rpc";
import type { Metrics } from "../metrics";

/** A decoded registry event with where it happened. */
export interface IndexedEvent {
  name: string;
  args: Result;
  contract: "chatRecordRegistry" | "validatorRegistry";
  block: number;
  txHash: string;
  logIndex: number;
}

/** What the API pushes to /v1/events subscribers for each new chain event. */
export type ChainActivity =
  | { kind: "event"; event: string; requestId?: string; validator?: string; block: number; txHash: string }
  | { kind: "reorg"; fromBlock: number };

export interface ChainIndexOptions {
  deployment: Deployment;
  provider: Provider;
  logger: Logger;
  metrics: Metrics;
  /** Most blocks per eth_getLogs call. */
  blockRange: number;
  /** A read within this many ms of the last sync reuses it, so a burst of API calls costs one RPC round. */
  minSyncIntervalMs?: number;
}

/**
 * An in-memory index of every registry event since deployment, read incrementally with eth_getLogs. The API's views
 * (request timelines, recent requests, validator liveness and selection counts) all derive from it. A changed hash of
 * the last indexed block means a reorg: the index is dropped and rebuilt, which is simple and, for the API, enough.
 */
export class ChainIndex {
  private events: IndexedEvent[] = [];
  private byRequest = new Map<string, IndexedEvent[]>();
  private lastBlock = -1;
  private lastHash: string | undefined;
  private lastSyncAt = 0;
  private syncing: Promise<void> | undefined;
  private readonly listeners = new Set<(activity: ChainActivity) => void>();
  private readonly decoders: Record<IndexedEvent["contract"], ReturnType<typeof createEventDecoder>>;
  private readonly addressToContract: Map<string, IndexedEvent["contract"]>;

  constructor(private readonly options: ChainIndexOptions) {
    const { deployment } = options;
    // The listener's decoder: a text that is not UTF-8 is shown with U+FFFD instead of throwing when read.
    this.decoders = {
      chatRecordRegistry: createEventDecoder(deployment.chatRecordRegistry.iface),
      validatorRegistry: createEventDecoder(deployment.validatorRegistry.iface),
    };
    this.addressToContract = new Map([
      [deployment.chatRecordRegistry.address.toLowerCase(), "chatRecordRegistry"],
      [deployment.validatorRegistry.address.toLowerCase(), "validatorRegistry"],
    ]);
  }

  /** Highest block indexed so far (-1 before the first sync). */
  get indexedBlock(): number {
    return this.lastBlock;
  }

  all(): readonly IndexedEvent[] {
    return this.events;
  }

  /** Events carrying `requestId`, in chain order. */
  forRequest(requestId: bigint): readonly IndexedEvent[] {
    return this.byRequest.get(requestId.toString()) ?? [];
  }

  /** Request ids seen in ChatRequested, newest first. */
  recentRequestIds(limit: number): bigint[] {
    const ids: bigint[] = [];
    for (let i = this.events.length - 1; i >= 0 && ids.length < limit; i--) {
      if (this.events[i].name === "ChatRequested") ids.push(this.events[i].args.requestId as bigint);
    }
    return ids;
  }

  onActivity(listener: (activity: ChainActivity) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Reads new blocks into the index; concurrent callers share one sync. Throws a classified RPC error. */
  sync(force = false): Promise<void> {
    if (this.syncing) return this.syncing;
    if (!force && Date.now() - this.lastSyncAt < (this.options.minSyncIntervalMs ?? 250)) return Promise.resolve();
    this.syncing = this.readNewBlocks()
      .catch((error) => {
        throw classifyRpcError(error, "index chain events", this.options.metrics);
      })
      .finally(() => {
        this.syncing = undefined;
      });
    return this.syncing;
  }

  private async readNewBlocks(): Promise<void> {
    const { provider, deployment, blockRange, logger } = this.options;
    const head = await provider.getBlockNumber();
    let emit = this.lastBlock >= 0;
    if (this.lastBlock >= 0) {
      const block = await provider.getBlock(this.lastBlock);
      if (!block || block.hash !== this.lastHash || head < this.lastBlock) {
        logger.warn({ block: this.lastBlock }, "chain reorganized under the api index; rebuilding it");
        const fromBlock = Math.min(this.lastBlock, head);
        this.reset();
        this.notify({ kind: "reorg", fromBlock });
        emit = false; // a rebuild re-reads old events; pushing them again would flood subscribers
      }
    }
    const addresses = [deployment.chatRecordRegistry.address, deployment.validatorRegistry.address];
    for (let from = Math.max(this.lastBlock + 1, deployment.startBlock); from <= head; from += blockRange) {
      const to = Math.min(head, from + blockRange - 1);
      const logs = await provider.getLogs({ address: addresses, fromBlock: from, toBlock: to });
      for (const log of logs) {
        const contract = this.addressToContract.get(log.address.toLowerCase());
        if (!contract) continue;
        let parsed: DecodedLog | undefined;
        try {
          parsed = this.decoders[contract](log);
        } catch {
          parsed = undefined; // malformed data the API has nothing to say about (the listener records it)
        }
        if (!parsed) continue;
        const event: IndexedEvent = {
          name: parsed.name,
          args: parsed.args,
          contract,
          block: log.blockNumber,
          txHash: log.transactionHash,
          logIndex: log.index,
        };
        this.add(event);
        if (emit) this.notify(activityOf(event));
      }
    }
    const headBlock = await provider.getBlock(head);
    this.lastBlock = head;
    this.lastHash = headBlock?.hash ?? undefined;
    this.lastSyncAt = Date.now();
  }

  private add(event: IndexedEvent) {
    this.events.push(event);
    const requestId = requestIdOf(event);
    if (requestId === undefined) return;
    const key = requestId.toString();
    const list = this.byRequest.get(key);
    if (list) list.push(event);
    else this.byRequest.set(key, [event]);
  }

  private reset() {
    this.events = [];
    this.byRequest = new Map();
    this.lastBlock = -1;
    this.lastHash = undefined;
  }

  private notify(activity: ChainActivity) {
    for (const listener of this.listeners) {
      try {
        listener(activity);
      } catch (error) {
        this.options.logger.warn({ err: error }, "chain activity listener failed");
      }
    }
  }
}

function requestIdOf(event: IndexedEvent): bigint | undefined {
  if (event.contract !== "chatRecordRegistry") return undefined;
  try {
    const value = event.args.getValue("requestId");
    return typeof value === "bigint" ? value : undefined;
  } catch {
    return undefined;
  }
}

function activityOf(event: IndexedEvent): ChainActivity {
  const requestId = requestIdOf(event);
  let validator: string | undefined;
  try {
    validator = event.args.getValue("validator") as string;
  } catch {
    validator = undefined;
  }
  return {
    kind: "event",
    event: event.name,
    ...(requestId !== undefined ? { requestId: requestId.toString() } : {}),
    ...(validator ? { validator } : {}),
    block: event.block,
    txHash: event.txHash,
  };
}

import type { Interface, Result } from "ethers";
import type { Logger } from "pino";
import { createEventDecoder } from "../chain/listener";
import { KEPT_EVENTS, type ChainEventBound, type ChainEventLog, type StoredChainEvent } from "../store/chainEventLog";

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
  /** The listener's event log (see jobs/events.ts): the index never reads the chain itself. */
  events: ChainEventLog;
  /** The contracts the listener follows, to decode their stored logs by address. */
  contracts: Record<IndexedEvent["contract"], { address: string; iface: Interface }>;
  logger: Logger;
  /** The retention bound; `maxAgeBlocks` counts back from `headBlock()`. */
  retention: { maxEvents: number; maxAgeBlocks?: number };
  /** The block the listener processed up to (the age bound's reference); the newest event's block without it. */
  headBlock?: () => number | undefined;
}

/**
 * The API's in-memory view of the listener's event log: the events the listener applied, decoded, in chain order and
 * by request, within the retention bound (the newest `maxEvents` and, with `maxAgeBlocks`, only recent blocks; the
 * models' registrations are always kept). `sync()` reads what the listener stored since; a reorg rolled back by the
 * listener drops the events above the fork point here too, and nothing else.
 */
export class ChainIndex {
  private events: IndexedEvent[] = [];
  private readonly models: IndexedEvent[] = [];
  private readonly byRequest = new Map<string, IndexedEvent[]>();
  private position: { block: number; logIndex: number } | undefined;
  private loaded = false;
  private readonly listeners = new Set<(activity: ChainActivity) => void>();
  private readonly decoders: Map<string, { contract: IndexedEvent["contract"]; decode: ReturnType<typeof createEventDecoder> }>;
  private readonly unsubscribe: () => void;

  constructor(private readonly options: ChainIndexOptions) {
    // The listener's decoder: a text that is not UTF-8 is shown with U+FFFD instead of throwing when read.
    this.decoders = new Map(
      (Object.entries(options.contracts) as [IndexedEvent["contract"], { address: string; iface: Interface }][]).map(([contract, c]) => [
        c.address.toLowerCase(),
        { contract, decode: createEventDecoder(c.iface) },
      ]),
    );
    this.unsubscribe = options.events.onDropAbove((ancestor) => this.dropAbove(ancestor));
  }

  /** The block the listener processed up to, else the newest indexed event's (-1 when none). */
  get indexedBlock(): number {
    return this.options.headBlock?.() ?? this.position?.block ?? -1;
  }

  /** Every retained event but the models' registrations, in chain order. */
  all(): readonly IndexedEvent[] {
    return this.events;
  }

  /** ModelRegistered events (never pruned). */
  modelRegistrations(): readonly IndexedEvent[] {
    return this.models;
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

  /**
   * Takes in what the listener stored since the last call (a SQLite read, no RPC) and applies the retention bound to
   * the log and to memory. New events go to activity subscribers, except on the first call (that is history).
   */
  sync(): void {
    const stored = this.options.events.after(this.position);
    for (const row of stored) {
      const event = this.decodeRow(row);
      this.position = { block: row.block, logIndex: row.logIndex };
      if (!event) continue;
      this.add(event);
      if (this.loaded) this.notify(activityOf(event));
    }
    this.loaded = true;
    if (stored.length > 0) this.applyRetention();
  }

  close(): void {
    this.unsubscribe();
    this.listeners.clear();
  }

  private decodeRow(row: StoredChainEvent): IndexedEvent | undefined {
    try {
      const decoder = this.decoders.get(row.address.toLowerCase());
      // The listener's decoding when it handed it over (the same decoder), else decoded here (after a restart).
      const parsed = row.args ? { name: row.name, args: row.args } : decoder?.decode(row);
      if (!decoder || !parsed) return undefined;
      return { name: parsed.name, args: parsed.args, contract: decoder.contract, block: row.block, txHash: row.txHash, logIndex: row.logIndex };
    } catch (error) {
      // The listener decoded it before storing it; only a changed ABI gets here.
      this.options.logger.warn({ err: error, block: row.block, logIndex: row.logIndex }, "stored chain event no longer decodes");
      return undefined;
    }
  }

  private bound(): ChainEventBound {
    const { maxEvents, maxAgeBlocks } = this.options.retention;
    const head = this.options.headBlock?.() ?? this.position?.block;
    return { maxEvents, minBlock: maxAgeBlocks && head !== undefined ? head - maxAgeBlocks + 1 : undefined };
  }

  /** The same bound on the log and in memory: the oldest events go first, the models' registrations stay. */
  private applyRetention() {
    const { maxEvents, minBlock } = this.bound();
    // Memory holds what the log holds (models apart), so it tells whether the log is over the bound: pruning is a
    // scan of up to maxEvents rows, not to run on every sync.
    const over = this.events.length > maxEvents || (minBlock !== undefined && this.events.length > 0 && this.events[0].block < minBlock);
    if (!over) return;
    this.options.events.prune({ maxEvents, minBlock });
    let drop = Math.max(0, this.events.length - maxEvents);
    while (minBlock !== undefined && drop < this.events.length && this.events[drop].block < minBlock) drop++;
    if (drop === 0) return;
    for (const event of this.events.slice(0, drop)) {
      const key = requestIdOf(event)?.toString();
      const list = key === undefined ? undefined : this.byRequest.get(key);
      if (!list || key === undefined) continue;
      list.shift(); // lists are in chain order, so the oldest event is first
      if (list.length === 0) this.byRequest.delete(key);
    }
    this.events = this.events.slice(drop);
  }

  private add(event: IndexedEvent) {
    if (KEPT_EVENTS.has(event.name)) {
      this.models.push(event);
      return;
    }
    this.events.push(event);
    const requestId = requestIdOf(event);
    if (requestId === undefined) return;
    const key = requestId.toString();
    const list = this.byRequest.get(key);
    if (list) list.push(event);
    else this.byRequest.set(key, [event]);
  }

  /** The listener rolled back to `ancestor`: forget the events above it; the next sync reads the new branch. */
  private dropAbove(ancestor: number) {
    const above = (e: IndexedEvent) => e.block > ancestor;
    if (!this.events.some(above) && !this.models.some(above) && (this.position?.block ?? -1) <= ancestor) return;
    while (this.events.length > 0 && above(this.events[this.events.length - 1])) {
      const event = this.events.pop() as IndexedEvent;
      const key = requestIdOf(event)?.toString();
      const list = key === undefined ? undefined : this.byRequest.get(key);
      if (!list || key === undefined) continue;
      list.pop();
      if (list.length === 0) this.byRequest.delete(key);
    }
    while (this.models.length > 0 && above(this.models[this.models.length - 1])) this.models.pop();
    this.position = { block: ancestor, logIndex: Number.MAX_SAFE_INTEGER };
    this.options.logger.warn({ ancestor }, "chain reorganized; dropped the api index's events above the fork point");
    this.notify({ kind: "reorg", fromBlock: ancestor + 1 });
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

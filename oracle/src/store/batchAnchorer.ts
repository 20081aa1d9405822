import { getAddress } from "ethers";
import { backoffDelayMs } from "../backoff";
import type { Common } from "../common";
import { createBatchStore, type BatchStore, type ChatRecord, type NewChatRecord, type RecordBatch } from "./batchStore";

/**
 * Sends `anchorBatch(root, count, modelId)` from the anchoring validator's key and waits for its receipt. It calls
 * `hooks.beforeBroadcast` with the signed transaction's hash before broadcasting it (the submitter's `SendOptions`).
 */
export type SendAnchor = (
  merkleRoot: string,
  count: number,
  modelId: number,
  hooks?: { beforeBroadcast?(txHash: string): void },
) => Promise<{ txHash: string; batchId: bigint | string | number }>;

/** Where a broadcast anchor transaction stands. */
export type AnchorLookup =
  | { status: "anchored"; batchId: bigint | string | number }
  | { status: "pending" }
  /** Reverted, or unknown to the RPC (dropped): its root is not on-chain and its records may be batched again. */
  | { status: "failed"; reason: string };

/** Looks up an anchor transaction by hash (mined with its `BatchAnchored` batch id, still pending, or failed). */
export type LookupAnchor = (txHash: string) => Promise<AnchorLookup>;

export interface BatchAnchorerOptions {
  /** Address of the validator whose key `sendAnchor` signs with; it is part of every record leaf. */
  validator: string;
  sendAnchor: SendAnchor;
  /**
   * Reconciles a batch whose anchor was broadcast but not confirmed (a receipt timeout, a crash): without it such a
   * batch stays `sending` and its records are never batched again (never anchored twice is the rule).
   */
  lookupAnchor?: LookupAnchor;
  /** Anchor as soon as this many records wait (default config.batchSize). */
  batchSize?: number;
  /** Anchor a partial batch once its oldest record waited this long (default config.batchIntervalMs). */
  intervalMs?: number;
  /** Most anchors tried per rolling hour (default config.anchorMaxPerHour); beyond it records wait. */
  maxPerHour?: number;
  /**
   * Fewest records a partial batch needs before the interval anchors it (default config.anchorMinRecords, at most
   * `batchSize`): a trickle of records costs one anchor per `minRecords`, not one per interval.
   */
  minRecords?: number;
  /**
   * Asked before each anchor: why the key must not pay for it now (the wallet would dip into the reserve kept for
   * commits and reveals), or undefined to go ahead.
   */
  checkFunds?: () => Promise<string | undefined>;
  /** Defaults to a store over common.db. */
  store?: BatchStore;
}

const HOUR_MS = 3_600_000;

export interface BatchAnchorer {
  readonly validator: string;
  readonly store: BatchStore;
  /** Stores a record of this validator and anchors at once if a batch is full. */
  add(record: Omit<NewChatRecord, "validator">): ChatRecord;
  /**
   * Anchors every waiting record of this validator now (whatever the batch size or minimum fill, but within the hourly
   * budget and the wallet reserve); resolves with the batches sent.
   */
  flush(): Promise<RecordBatch[]>;
  /** Re-sends batches left `sending` by a crash, then checks the waiting records every second. */
  start(): void;
  /** Stops the timer and waits for an anchor in flight. */
  stop(): Promise<void>;
  /** Called after each anchor attempt (anchored or failed), e.g. to push server-sent events. */
  onBatch(listener: (batch: RecordBatch) => void): () => void;
}

/**
 * Collects off-chain records into Merkle batches and anchors each batch on-chain every `batchSize` records or
 * `intervalMs`, whichever comes first. One anchor at a time: anchors of one key must not race for its nonce, and a
 * serial queue keeps batch order equal to local sequence order.
 */
export function createBatchAnchorer(common: Common, options: BatchAnchorerOptions): BatchAnchorer {
  const { logger, metrics } = common;
  const validator = getAddress(options.validator);
  const store = options.store ?? createBatchStore(common.db);
  const batchSize = options.batchSize ?? common.config.batchSize;
  const intervalMs = options.intervalMs ?? common.config.batchIntervalMs;
  const maxPerHour = options.maxPerHour ?? common.config.anchorMaxPerHour;
  const minRecords = Math.min(options.minRecords ?? common.config.anchorMinRecords, batchSize);
  /** The last reason an anchor was held back, so a refusal that lasts is logged once, not every tick. */
  let heldBack: string | undefined;
  const listeners = new Set<(batch: RecordBatch) => void>();
  /** After failed anchors, wait (doubling per failure in a row) so a broken RPC or key is not hammered every tick. */
  const retry = { baseMs: Math.min(intervalMs, 10_000), capMs: 15 * 60_000 };
  let failuresInARow = 0;
  let retryNotBefore = 0;
  let queue: Promise<unknown> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  function updateGauge() {
    metrics.pendingBatchRecords.set(store.pendingCount());
  }

  function emit(batch: RecordBatch) {
    for (const listener of listeners) {
      try {
        listener(batch);
      } catch (error) {
        logger.warn({ err: error }, "batch listener failed");
      }
    }
  }

  function anchored(batch: RecordBatch, batchId: bigint | string | number, txHash: string): RecordBatch {
    const done = store.markAnchored(batch.seq, batchId, txHash);
    failuresInARow = 0;
    metrics.batchesTotal.inc({ outcome: "anchored" });
    logger.info({ seq: batch.seq, batchId: done.batchId, count: batch.count, txHash }, "anchored record batch");
    return done;
  }

  function failed(batch: RecordBatch, error: unknown): RecordBatch {
    const message = (error as Error)?.message ?? String(error);
    const result = store.markFailed(batch.seq, message);
    retryNotBefore = Date.now() + backoffDelayMs(retry, ++failuresInARow);
    metrics.batchesTotal.inc({ outcome: "failed" });
    logger.warn({ seq: batch.seq, count: batch.count, err: error }, "anchoring record batch failed");
    return result;
  }

  async function send(batch: RecordBatch): Promise<RecordBatch> {
    try {
      const { txHash, batchId } = await options.sendAnchor(batch.root, batch.count, batch.modelId, {
        beforeBroadcast: (hash) => store.recordBroadcast(batch.seq, hash),
      });
      return anchored(batch, batchId, txHash);
    } catch (error) {
      // Broadcast already (a receipt timeout, an RPC that failed after the broadcast): the transaction may still be
      // mined, so the records stay in this batch until a lookup says where it stands.
      if (store.getBatch(batch.seq)?.txHash) {
        retryNotBefore = Date.now() + backoffDelayMs(retry, ++failuresInARow);
        metrics.batchesTotal.inc({ outcome: "unconfirmed" });
        logger.warn({ seq: batch.seq, count: batch.count, err: error }, "anchor sent but not confirmed; records kept in its batch");
        return store.getBatch(batch.seq)!;
      }
      return failed(batch, error);
    } finally {
      updateGauge();
    }
  }

  /** Settles `sending` batches from their recorded transaction: anchored, still pending, or failed (records freed). */
  async function reconcile(): Promise<RecordBatch[]> {
    const settled: RecordBatch[] = [];
    for (const batch of store.batchesByStatus("sending")) {
      if (batch.validator !== validator || !batch.txHash || !options.lookupAnchor) continue;
      let seen: AnchorLookup;
      try {
        seen = await options.lookupAnchor(batch.txHash);
      } catch (error) {
        logger.warn({ seq: batch.seq, txHash: batch.txHash, err: error }, "anchor lookup failed; will ask again");
        continue;
      }
      if (seen.status === "pending") continue;
      const result = seen.status === "anchored" ? anchored(batch, seen.batchId, batch.txHash) : failed(batch, new Error(`anchor ${batch.txHash}: ${seen.reason}`));
      settled.push(result);
      emit(result);
    }
    updateGauge();
    return settled;
  }

  /** Runs `task` after everything queued before it; errors stay inside the task's own promise. */
  function enqueue<T>(task: () => Promise<T>): Promise<T> {
    const run = queue.then(task);
    queue = run.catch(() => undefined);
    return run;
  }

  /** Why no anchor may be sent now (hourly budget, wallet reserve), or undefined. */
  async function holdBack(): Promise<{ outcome: string; reason: string } | undefined> {
    const tried = store.batchesOpenedSince(validator, Date.now() - HOUR_MS);
    if (tried >= maxPerHour) return { outcome: "held_budget", reason: `${tried} anchors in the last hour (budget ${maxPerHour})` };
    const funds = await options.checkFunds?.();
    return funds === undefined ? undefined : { outcome: "held_reserve", reason: funds };
  }

  async function anchorGroup(modelId: number, maxCount: number): Promise<RecordBatch | "held" | undefined> {
    const held = await holdBack();
    if (held) {
      if (heldBack !== held.outcome) {
        metrics.batchesTotal.inc({ outcome: held.outcome });
        logger.warn({ reason: held.reason, pending: store.pendingCount() }, "anchoring held back");
      }
      heldBack = held.outcome;
      return "held";
    }
    if (heldBack) logger.info("anchoring resumed");
    heldBack = undefined;
    const batch = store.openBatch(modelId, validator, maxCount);
    if (!batch) return undefined;
    const result = await send(batch);
    emit(result);
    return result;
  }

  /** Anchors the groups that are full or old enough (or all, when `force`). */
  function anchorDue(force: boolean): Promise<RecordBatch[]> {
    return enqueue(async () => {
      const sent: RecordBatch[] = [];
      if (!force && Date.now() < retryNotBefore) return sent;
      sent.push(...(await reconcile()));
      for (const group of store.pendingGroups()) {
        if (group.validator !== validator) continue;
        let remaining = group.count;
        const due = force || remaining >= batchSize || (remaining >= minRecords && Date.now() - group.oldestCreatedAt >= intervalMs);
        while (due && remaining > 0 && !(stopped && !force)) {
          const batch = await anchorGroup(group.modelId, batchSize);
          if (batch === "held") return sent;
          if (!batch) break;
          sent.push(batch);
          if (batch.status === "failed") return sent;
          remaining -= batch.count;
          if (!force && remaining < batchSize) break;
        }
      }
      return sent;
    });
  }

  const anchorer: BatchAnchorer = {
    validator,
    store,
    add(record) {
      const { record: stored, created } = store.addRecord({ ...record, validator });
      if (created) {
        metrics.recordsTotal.inc();
        updateGauge();
      }
      const group = store.pendingGroups().find((g) => g.modelId === record.modelId && g.validator === validator);
      if (!stopped && group && group.count >= batchSize) void anchorDue(false);
      return stored;
    },
    flush() {
      return anchorDue(true);
    },
    start() {
      if (timer) return;
      stopped = false;
      const unfinished = store.batchesByStatus("sending").filter((b) => b.validator === validator);
      for (const batch of unfinished) {
        if (batch.txHash) {
          // Broadcast before the crash: look it up (on every tick until it settles), never sign a second anchor.
          logger.info({ seq: batch.seq, txHash: batch.txHash }, "reconciling record batch left unfinished");
          continue;
        }
        // No hash recorded: nothing was signed or broadcast, so sending it now is its first anchor.
        logger.info({ seq: batch.seq, root: batch.root }, "sending record batch left unsigned");
        void enqueue(async () => emit(await send(batch)));
      }
      if (unfinished.some((b) => b.txHash)) void enqueue(reconcile);
      updateGauge();
      timer = setInterval(() => void anchorDue(false), Math.min(1000, intervalMs));
      timer.unref();
      common.shutdown.add("batch anchorer", () => anchorer.stop());
    },
    async stop() {
      stopped = true;
      if (timer) clearInterval(timer);
      timer = undefined;
      await queue;
    },
    onBatch(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
  return anchorer;
}

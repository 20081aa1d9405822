import type { Common } from "../common";
import { type JsonRpcSender, type MinedReceipt, getBlockHeader, getBlockNumber, getReceipt } from "./jsonRpc";
import { type NewHeadsFeed, subscribeNewHeads } from "./newHeads";
import { classifyRpcError, pollRetryDelayMs, sleep } from "./rpc";

/** The newest block the tracker has seen. */
export interface Head {
  number: number;
  hash: string;
  /** block.timestamp: the contracts compare deadlines with it. */
  timestamp: number;
}

/**
 * One poller of the chain head for the whole node. Every other stage asks it instead of polling the RPC on its own:
 * the listener steps when a block arrives, the pipeline reads chain time from it, and the submitters' receipt waits
 * are answered from the blocks it reads (one `eth_getBlockByNumber` per block, then one receipt per watched
 * transaction found in it) instead of one `eth_getTransactionReceipt` per pending transaction every poll.
 */
export interface HeadTracker {
  /** The latest head, polling once if none is known yet. */
  current(): Promise<Head>;
  /** Resolves when a block newer than `after` is seen (or after `timeoutMs`, or at stop). */
  nextBlock(after: number | undefined, timeoutMs: number): Promise<void>;
  /** Resolves with the receipt once `txHash` is seen in a block (null after `timeoutMs`, or at stop). */
  receipt(txHash: string, timeoutMs: number): Promise<MinedReceipt | null>;
  /**
   * How many times the head moved to a block that does not extend the last one seen (a lower height, or a parent hash
   * that differs): a submitter counting nonces locally reads them again after one.
   */
  reorgs(): number;
  start(): void;
  stop(): Promise<void>;
}

/** What readiness asks of the head poller (kept apart from `HeadTracker`, which the stages and their fakes use). */
export interface HeadHealth {
  /** `Date.now()` of the last head poll the RPC answered (undefined: none yet). */
  lastAnswerAt(): number | undefined;
  /** The latest head without polling. */
  latest(): Head | undefined;
}

interface Waiter {
  resolve(receipt: MinedReceipt | null): void;
  deadline: number;
  /** Last direct receipt check (the fallback for blocks the tracker did not read, e.g. mined before it started). */
  checkedAt: number;
}

/** Blocks read per poll at most when the tracker falls behind (it then reads only the head and falls back). */
const MAX_BLOCKS_PER_POLL = 32;
/** A waiter not answered from blocks within this long asks for its receipt directly once (then again as long). */
const DIRECT_CHECK_MS = 2_000;
/** Hashes of recently read blocks' transactions kept (a few blocks' worth at any realistic rate). */
const RECENT_TXS = 4_096;

/** The longest pause between head polls the pacer chooses (the head's age is a readiness condition). */
const MAX_QUIET_MS = 5_000;
/**
 * Between head polls while a newHeads subscription tells of blocks: a check that also answers the receipt waits the
 * blocks did not (`DIRECT_CHECK_MS`), ends overdue ones, and finds a head the subscription missed.
 */
const SUBSCRIBED_POLL_MS = 2_000;

/**
 * Paces head polls by how blocks arrive. On a chain that makes blocks at a steady interval (a real chain, interval
 * mining) the next block is not due before about three quarters of the usual gap, so polling at the base interval
 * until then only asks again for the head already known: at 250 ms blocks and 20 ms polls, twelve polls a block, per
 * node. Where gaps are irregular (automine: a block per transaction) it always polls at the base interval.
 */
export function createPollPacer(): { onNewHead(now: number): void; delay(now: number, baseMs: number): number } {
  let lastAt: number | undefined;
  let gap: number | undefined;
  let deviation = 0;
  /** Gaps seen since the pace was last dropped: a pace needs a few. */
  let gaps = 0;
  return {
    onNewHead(now) {
      if (lastAt !== undefined) {
        const observed = now - lastAt;
        if (gap === undefined) {
          gap = observed;
          gaps = 1;
        } else if (observed < gap / 2) {
          // A block well ahead of the pace (interval mining stopped, automine began): poll at the base interval
          // until a pace shows again.
          gap = undefined;
          deviation = 0;
          gaps = 0;
        } else {
          deviation = 0.8 * deviation + 0.2 * Math.abs(observed - gap);
          gap = 0.8 * gap + 0.2 * observed;
          gaps++;
        }
      }
      lastAt = now;
    },
    delay(now, baseMs) {
      // Steady means three gaps or more that stray from their mean by under a fifth of it, on average.
      if (lastAt === undefined || gap === undefined || gaps < 3 || deviation > gap / 5) return baseMs;
      return Math.max(baseMs, Math.min(lastAt + 0.75 * gap - now, MAX_QUIET_MS));
    },
  };
}

/**
 * The node's head tracker over `provider`. With `config.wsUrl` it also subscribes to the chain node's newHeads and
 * reads each announced block at once; it then polls only every `SUBSCRIBED_POLL_MS` (or the poll interval, if longer).
 */
export function createHeadTracker(common: Common, provider: JsonRpcSender): HeadTracker & HeadHealth {
  const { config, logger, metrics } = common;
  const log = logger.child({ component: "heads" });
  let head: Head | undefined;
  let answeredAt: number | undefined;
  let reorgs = 0;
  const waiters = new Map<string, Waiter[]>();
  /** Transactions of the blocks read lately: a wait that begins after its block was read is answered at once. */
  const recentTxs = new Set<string>();
  /** Waits of `nextBlock`: each answered once the head passes its `after` (or at stop, or its timeout). */
  let blockListeners: { after: number | undefined; done: () => void }[] = [];
  let stopping = false;
  let loop: Promise<void> | undefined;
  const pacer = createPollPacer();
  let feed: NewHeadsFeed | undefined;
  /** Ends the loop's current pause; set while the loop sleeps. Stopping ends any pause, an announcement a wakeable one. */
  let pauseEnd: AbortController | undefined;
  let pauseWakeable = false;
  /** The highest block announced since the loop last looked (undefined: none); the loop then polls at once. */
  let announced: number | undefined;

  function onAnnouncedHead(number: number) {
    if (head && number <= head.number) return;
    announced = Math.max(announced ?? 0, number);
    wake();
  }

  function wake() {
    if (pauseWakeable) pauseEnd?.abort();
  }

  /** Sleeps `ms`, or less if the tracker stops or (when `wakeable`) a block is announced. */
  async function pause(ms: number, wakeable: boolean): Promise<void> {
    if (stopping || (wakeable && announced !== undefined)) return;
    pauseEnd = new AbortController();
    pauseWakeable = wakeable;
    await sleep(ms, pauseEnd.signal);
    pauseEnd = undefined;
  }

  function notifyBlock() {
    // A poll may re-read the head a caller already knows (its own `current()`): that wait is not over yet.
    const due: (() => void)[] = [];
    blockListeners = blockListeners.filter((l) => {
      const passed = stopping || l.after === undefined || (head !== undefined && head.number > l.after);
      if (passed) due.push(l.done);
      return !passed;
    });
    for (const done of due) done();
  }

  function settle(hash: string, receipt: MinedReceipt | null) {
    const list = waiters.get(hash);
    if (!list) return;
    waiters.delete(hash);
    for (const w of list) w.resolve(receipt);
  }

  async function fetchReceipt(hash: string): Promise<void> {
    const receipt = await getReceipt(provider, hash);
    if (receipt) settle(hash, receipt);
  }

  /** Reads the blocks up to the head: `known` (announced by newHeads, saving the head-number call), or the node's. */
  async function poll(known?: number): Promise<void> {
    const number = known ?? (await getBlockNumber(provider));
    if (known === undefined) answeredAt = Date.now();
    if (head && number === head.number) return;
    // Every new block is read (its transaction hashes tell which receipts to fetch); far behind, or after a reorg to a
    // lower height, only the head (waiters then fall back to a direct receipt check).
    const from = head && number > head.number && number - head.number <= MAX_BLOCKS_PER_POLL ? head.number + 1 : number;
    const found: string[] = [];
    let newest: Head | undefined;
    if (head && number < head.number) reorgs++;
    for (let n = from; n <= number; n++) {
      const block = await getBlockHeader(provider, n);
      if (!block?.hash) break;
      answeredAt = Date.now();
      if (head && n === head.number + 1 && block.parentHash !== head.hash) reorgs++;
      newest = { number: block.number, hash: block.hash, timestamp: block.timestamp };
      for (const tx of block.transactions) {
        if (waiters.has(tx)) found.push(tx);
        recentTxs.add(tx);
      }
    }
    for (const tx of recentTxs) {
      if (recentTxs.size <= RECENT_TXS) break;
      recentTxs.delete(tx);
    }
    if (!newest) return;
    if (newest.number !== head?.number) pacer.onNewHead(Date.now());
    head = newest;
    metrics.chainHeadBlock.set(head.number);
    await Promise.all(found.map(fetchReceipt));
    notifyBlock();
  }

  /**
   * Gives null to waits past their deadline. Runs after every poll, failed ones too: with the RPC down (the chain
   * stopped with a transaction in flight) a wait must still end, or a step holding it keeps the node from stopping.
   */
  function expireOverdue(): void {
    const now = Date.now();
    for (const [hash, all] of waiters) {
      const list = all.filter((w) => now <= w.deadline);
      for (const w of all) if (now > w.deadline) w.resolve(null);
      if (list.length === 0) waiters.delete(hash);
      else waiters.set(hash, list);
    }
  }

  /** Waiters the blocks did not answer (a block skipped while behind, or mined before the tracker started). */
  async function checkStale(): Promise<void> {
    const now = Date.now();
    const due: string[] = [];
    for (const [hash, list] of waiters) {
      const first = list[0];
      if (now - first.checkedAt > DIRECT_CHECK_MS) {
        first.checkedAt = now;
        due.push(hash);
      }
    }
    await Promise.all(due.map(fetchReceipt));
  }

  async function run() {
    let failures = 0;
    /** An announced block the RPC did not have yet (a provider's HTTP backends may lag its WebSocket ones). */
    let behindAnnounced = false;
    while (!stopping) {
      // An announced head is read without asking for the head number; the check polls and retries ask.
      const target = failures === 0 ? announced : undefined;
      announced = undefined;
      try {
        await poll(target);
        behindAnnounced = target !== undefined && (head?.number ?? -1) < target;
        await checkStale();
        if (failures > 0) log.info({ failures }, "rpc reachable again");
        failures = 0;
      } catch (error) {
        failures++;
        classifyRpcError(error, "chain head", metrics);
        if (failures === 1 || failures % 20 === 0) log.warn({ err: error, failures }, "head poll failed");
      }
      expireOverdue();
      const wait = failures > 0
        ? pollRetryDelayMs(config.pollIntervalMs, failures)
        : feed?.live() && !behindAnnounced
          ? Math.max(SUBSCRIBED_POLL_MS, config.pollIntervalMs)
          : pacer.delay(Date.now(), config.pollIntervalMs);
      // After a failed poll the back-off holds, and after an announced block the RPC did not have the interval does:
      // announcements (any number, as often as the socket sends them) must not make the RPC busier.
      await pause(wait, failures === 0 && !behindAnnounced);
    }
  }

  const tracker: HeadTracker & HeadHealth = {
    lastAnswerAt: () => answeredAt,
    latest: () => head,
    reorgs: () => reorgs,
    async current() {
      if (!head) {
        try {
          await poll();
        } catch (error) {
          throw classifyRpcError(error, "chain head", metrics);
        }
      }
      if (!head) throw classifyRpcError(new Error("no block yet"), "chain head", metrics);
      return head;
    },
    nextBlock(after, timeoutMs) {
      if (stopping || (head && after !== undefined && head.number > after)) return Promise.resolve();
      return new Promise((resolve) => {
        const listener = { after, done };
        const timer = setTimeout(() => {
          blockListeners = blockListeners.filter((l) => l !== listener);
          done();
        }, timeoutMs);
        function done() {
          clearTimeout(timer);
          resolve();
        }
        blockListeners.push(listener);
      });
    },
    receipt(hash, timeoutMs) {
      if (stopping) return Promise.resolve(null);
      // Blocks list their transactions' hashes in lowercase.
      const txHash = hash.toLowerCase();
      return new Promise((resolve) => {
        const now = Date.now();
        const list = waiters.get(txHash) ?? [];
        list.push({ resolve, deadline: now + timeoutMs, checkedAt: now });
        waiters.set(txHash, list);
        // Mined in a block already read (an automining node answers the broadcast after mining it): ask now.
        if (recentTxs.has(txHash)) fetchReceipt(txHash).catch(() => undefined);
      });
    },
    start() {
      if (loop) return;
      if (config.wsUrl) {
        feed = subscribeNewHeads({
          url: config.wsUrl,
          logger: log,
          onHead: onAnnouncedHead,
          // A new subscription may have missed blocks while it was down, and a lost one leaves polling to the pacer: look now.
          onLiveChange: wake,
        });
      }
      loop = run();
    },
    async stop() {
      stopping = true;
      pauseEnd?.abort();
      notifyBlock();
      for (const hash of [...waiters.keys()]) settle(hash, null);
      await Promise.all([loop, feed?.close()]);
    },
  };
  return tracker;
}

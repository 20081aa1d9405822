import { type ChatRegistryClient, RequestStatus } from "../chain/chatRegistry";
import type { Common } from "../common";
import { addCommitteeJobs } from "./events";
import type { Journal } from "./journal";

export interface SeatFinderOptions {
  journal: Journal;
  registry: ChatRegistryClient;
  /** Addresses (any case) of the validator keys this process runs. */
  validators: readonly string[];
  /** Jobs were added: the pipeline should look at them now. */
  onSeated?: () => void;
  /** The chain head's number (to notice a seed block that fell out of the 256-block blockhash window). */
  headNumber?: () => Promise<number>;
  /** Sends `draw(requestId)`, which renews a lost seed (or draws the committee when the seed is there after all). */
  renewSeed?: (requestId: bigint) => Promise<void>;
  /**
   * Most attempts looked up per pass (each costs one or two RPC calls): after a restart with many open requests the
   * first pass does not flood the RPC; the rest follow in later passes, round robin.
   */
  lookupsPerPass?: number;
}

/** An attempt whose committee this node has not learnt yet. */
interface PendingAttempt {
  requestId: bigint;
  /** The block the attempt began in. */
  block: number;
  /** Known from its event; read from the chain after a restart. */
  attempt?: number;
  /** Its seed was not ready at the last look: not looked at again before this head. */
  waitForHead?: number;
}

/** The EVM keeps the hashes of the last 256 blocks: a seed block further back is lost until `draw` renews it. */
export const BLOCKHASH_WINDOW = 256;
/** Blocks between looks at an attempt whose seed is lost (its renewal's event brings it back at once). */
const LOST_SEED_RECHECK_BLOCKS = 32;

export interface SeatFinder {
  /** Attempt `attempt` of `requestId` began in `block` (its committee is not drawn yet). */
  track(requestId: bigint, block: number, attempt?: number): void;
  /** Looks at every tracked attempt once; returns how many jobs were added. */
  find(): Promise<number>;
  /** Something happened on-chain (a new block): look again now. */
  wake(): void;
  start(): void;
  stop(): Promise<void>;
}

/**
 * Learns whether this node's validators sit on a request's committee before anyone drew it, and is the one place that
 * keeps a seated committee's seed: it draws it by half the blockhash window (see `undrawn`) or renews a lost one. The committee is drawn
 * lazily (by the first commit, respond, decline, `draw` or `timeout`), from the hash of the request's seed block,
 * which exists only once the next block does: `previewCommittee` at the pending block shows it ahead of the draw,
 * and a seated validator's own commit (or respond, or decline) then draws it. Once drawn, the `CommitteeDrawn`
 * event (events.ts) is authoritative and this finder lets the attempt go. A preview can differ from the draw only if
 * stakes change in between; the pipeline then finds the validator off the committee and closes its job.
 */
export function createSeatFinder(common: Common, options: SeatFinderOptions): SeatFinder {
  const { config, logger, metrics } = common;
  const { journal, registry } = options;
  const log = logger.child({ component: "seats" });
  const ours = new Set(options.validators.map((v) => v.toLowerCase()));
  /**
   * Attempts whose committee is not known yet, by request id: the block their attempt began in, and the attempt when
   * an event told it (after a restart it is read from the chain).
   */
  const pending = new Map<string, PendingAttempt>();
  /**
   * Attempts this node is seated on whose committee nobody had drawn when it was found, by request id, with the block
   * the attempt's seed is bound to: if their seats wait (an inference backlog) until half the blockhash window has
   * passed, `draw` fixes the committee while the seed still exists instead of letting it be lost.
   */
  const undrawn = new Map<string, { requestId: bigint; seedBlock: number }>();
  /** Head at the last `draw` sent for a request (a renewed seed is the draw's block: the window starts again). */
  const renewedAt = new Map<string, number>();
  // A final record has no seat left to take (only its settlement, the sweeper's): after a restart a busy node has
  // hundreds of those, and looking them up first would hold back the requests still waiting for a commit.
  for (const request of journal.openRequests(undefined, { unfinalized: true })) {
    pending.set(request.requestId.toString(), { requestId: request.requestId, block: request.seenBlock });
  }
  let stopping = false;
  let wakeUp: (() => void) | undefined;
  let loop: Promise<void> | undefined;

  const lookupsPerPass = options.lookupsPerPass ?? 64;
  const isSeated = (committee: readonly string[]) => committee.some((member) => ours.has(member.toLowerCase()));

  /** `seatedUndrawn`: one of ours sits on a committee that may not be drawn yet (its seed must be kept). */
  async function findOne(requestId: bigint, block: number, attempt?: number): Promise<{ done: boolean; added: number; seatedUndrawn: boolean }> {
    // Known attempt (from its event): one call, previewCommittee returns the drawn committee too. The pipeline finds
    // a request whose commits closed meanwhile and closes the job.
    if (attempt !== undefined) {
      const preview = await registry.previewCommittee(requestId);
      if (!preview.ready) return { done: false, added: 0, seatedUndrawn: false };
      const added = addCommitteeJobs(journal, ours, log, { requestId, committee: preview.committee, round: attempt, block });
      return { done: true, added, seatedUndrawn: isSeated(preview.committee) };
    }
    const record = await registry.getRecord(requestId);
    // Commits and declines are only open while Requested or Committed; later there is no seat left to take.
    if (record.status !== RequestStatus.Requested && record.status !== RequestStatus.Committed) return { done: true, added: 0, seatedUndrawn: false };
    let committee = record.committee;
    const drawn = committee.length > 0;
    if (!drawn) {
      const preview = await registry.previewCommittee(requestId);
      if (!preview.ready) return { done: false, added: 0, seatedUndrawn: false };
      committee = preview.committee;
    }
    const added = addCommitteeJobs(journal, ours, log, { requestId, committee, round: record.attempt, block });
    return { done: true, added, seatedUndrawn: !drawn && isSeated(committee) };
  }

  /**
   * Nobody drew the attempt's committee while its seed block's hash existed (the nodes were offline or behind): no
   * seat can commit now, so `draw` renews the seed instead of leaving the request to its timeout. Once per window.
   */
  async function renewIfLost(key: string, requestId: bigint, block: number, attempt?: number) {
    if (!options.headNumber || !options.renewSeed) return;
    const head = await options.headNumber();
    if (head - Math.max(block, renewedAt.get(key) ?? 0) < BLOCKHASH_WINDOW) return;
    renewedAt.set(key, head);
    if (renewedAt.size > 4_096) renewedAt.delete(renewedAt.keys().next().value as string);
    try {
      await options.renewSeed(requestId);
      log.info({ requestId: requestId.toString(), attempt, since: block, head }, "renewed a lost seed");
    } catch (error) {
      log.debug({ requestId: requestId.toString(), err: error }, "draw not sent");
    }
  }

  /** One attempt's lookup, and the seed's renewal when it is lost. */
  async function lookUp(key: string, entry: PendingAttempt) {
    const result = await findOne(entry.requestId, entry.block, entry.attempt);
    if (!result.done) await renewIfLost(key, entry.requestId, entry.block, entry.attempt);
    return result;
  }

  async function find(): Promise<number> {
    const head = options.headNumber ? await options.headNumber() : undefined;
    const batch: [string, PendingAttempt][] = [];
    for (const [key, entry] of pending) {
      if (stopping || batch.length >= lookupsPerPass) break;
      // Its seed block's hash did not exist at the last look: not before the next block (every node polling every
      // request until then was a dozen eth_calls per request and node at 250 ms blocks).
      if (head !== undefined && entry.waitForHead !== undefined && head < entry.waitForHead) continue;
      const tracked = journal.getRequest(entry.requestId);
      if (tracked?.open === false || tracked?.finalizedBlock !== undefined) {
        pending.delete(key);
        continue;
      }
      batch.push([key, entry]);
    }
    // A pass's lookups go out together: the provider sends calls made in one tick as one JSON-RPC batch, so a pass
    // costs one round trip instead of one per request (which left seats found late once requests queued).
    const results = await Promise.allSettled(batch.map(([key, entry]) => lookUp(key, entry)));
    let added = 0;
    let failure: unknown;
    results.forEach((settled, i) => {
      const [key, entry] = batch[i];
      if (settled.status === "rejected") {
        failure ??= settled.reason; // stays where it is: first in line at the next block
        entry.waitForHead = head === undefined ? undefined : head + 1;
        return;
      }
      const result = settled.value;
      added += result.added;
      if (result.seatedUndrawn) undrawn.set(key, { requestId: entry.requestId, seedBlock: entry.block });
      // A newer attempt may have been tracked while we read the chain: keep that one.
      if (pending.get(key) !== entry) return;
      pending.delete(key);
      if (!result.done) {
        // A lost seed comes back only through a `draw`, whose SeedRenewed tracks the attempt again: looking at it
        // every block (every transaction under automine) was most of the chain's work once seeds were being lost.
        const lost = head !== undefined && head - entry.block >= BLOCKHASH_WINDOW;
        entry.waitForHead = head === undefined ? undefined : head + (lost ? LOST_SEED_RECHECK_BLOCKS : 1);
        pending.set(key, entry); // to the back: the next pass starts with those not looked at
      }
    });
    if (added > 0) options.onSeated?.();
    if (failure !== undefined) throw failure;
    await drawAgingCommittees();
    return added;
  }

  /** Draws the committees of seated attempts that nobody drew by half the blockhash window (see `undrawn`). */
  async function drawAgingCommittees() {
    if (!options.headNumber || !options.renewSeed || undrawn.size === 0) return;
    const head = await options.headNumber();
    for (const [key, { requestId, seedBlock }] of [...undrawn]) {
      if (stopping) break;
      if (head - seedBlock < BLOCKHASH_WINDOW / 2) continue;
      const record = await registry.getRecord(requestId);
      const open = record.status === RequestStatus.Requested || record.status === RequestStatus.Committed;
      if (!open || record.committee.length > 0) {
        undrawn.delete(key);
        continue;
      }
      try {
        await options.renewSeed(requestId);
        undrawn.delete(key);
        log.info({ requestId: requestId.toString(), seedBlock, head }, "drew the committee before its seed left the blockhash window");
      } catch (error) {
        // Kept: the next pass tries again (the pipeline's commit does not draw near the window's end).
        log.debug({ requestId: requestId.toString(), err: error }, "draw not sent");
      }
    }
    if (undrawn.size > 4_096) undrawn.delete(undrawn.keys().next().value as string);
  }

  async function run() {
    let failures = 0;
    while (!stopping) {
      try {
        await find();
        failures = 0;
      } catch (error) {
        failures++;
        metrics.unhandledErrorsTotal.inc();
        const level = failures === 1 || failures % 20 === 0 ? "warn" : "debug";
        log[level]({ err: error, failures }, "seat lookup failed");
      }
      if (stopping) break;
      const wait = pending.size > 0 || failures > 0 ? config.pollIntervalMs : Math.max(config.pollIntervalMs, 1_000);
      await new Promise<void>((resolve) => {
        const done = () => {
          wakeUp = undefined;
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(done, wait);
        wakeUp = done;
      });
    }
  }

  return {
    track(requestId, block, attempt) {
      pending.set(requestId.toString(), { requestId, block, attempt });
    },
    find,
    wake: () => wakeUp?.(),
    start() {
      loop ??= run();
    },
    async stop() {
      stopping = true;
      wakeUp?.();
      await loop;
    },
  };
}

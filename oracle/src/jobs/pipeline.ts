import { hexlify, randomBytes } from "ethers";
import type { ChatRegistryClient, MemberState, OnChainRecord } from "../chain/chatRegistry";
import { RequestStatus, computeCommitment } from "../chain/chatRegistry";
import type { HeadTracker } from "../chain/heads";
import { type Submitter, TxRevertedError } from "../chain/submitter";
import { backoffDelayMs } from "../backoff";
import type { Common } from "../common";
import { NonRetryableError, RetryableError } from "../inference/errors";
import type { GenerateResult, InferenceEngine } from "../inference";
import { type ContentStore, hashText } from "../store/contentStore";
import type { Job, JobKey, Journal } from "./journal";
import { InvalidJobTransitionError, isTerminal, type JobState } from "./states";

export interface PipelineOptions {
  journal: Journal;
  engine: InferenceEngine;
  registry: ChatRegistryClient;
  /** Chain time and the block the shared seat reads belong to. */
  heads: HeadTracker;
  /** One submitter per validator key this process runs, by lower-case address. */
  submitters: ReadonlyMap<string, Submitter>;
  contentStore?: ContentStore;
  /**
   * Test hook: changes the text a validator commits and reveals (a dishonest or broken node). Never set in production
   * code paths; the e2e test uses it to check that a dissenting reveal is slashed.
   */
  alterResponse?: (validator: string, text: string) => string;
  /** Test hook: milliseconds a validator waits before revealing (orders reveals in the e2e tests). */
  revealDelayMs?: (validator: string) => number;
  /** Most jobs worked on at once. */
  concurrency?: number;
}

export interface Pipeline {
  start(): void;
  /** Something changed (new events): look at due jobs now instead of at the next poll. */
  wake(): void;
  stop(): Promise<void>;
  /** Jobs currently being worked on. */
  inFlight(): number;
  /** Stops taking up jobs (those in flight finish); the admin API's pause. */
  pause(): void;
  resume(): void;
  isPaused(): boolean;
}

/** Finished with this step; the loop looks at the job again once `notBefore` passes (or an event nudges it). */
class Deferred extends Error {
  /** `untilEvent`: the wait ends early when an event nudges the job (`delayMs` is then only the fallback). */
  constructor(
    readonly delayMs: number,
    readonly untilEvent = false,
  ) {
    super("deferred");
  }
}

const MAX_REVERTED_TX = 5;
/** After a wake-up, the pipeline loop waits this long for more before scanning the journal for due jobs. */
const WAKE_COALESCE_MS = 3;

/**
 * Gas limits of the two transactions every job sends, so they go out without an `eth_estimateGas` each (which costs
 * a Hardhat node ~3× the transaction's own execution). Measured (bench:gas `lifecycleSteps`, committee 3): commit
 * 53–58 k, reveal 46 k, finalizing reveal 74 k. A finalizing reveal may also slash dissenters (a stake-tree update
 * each, ≤ 95 k) and call the consumer, which the contract insists gets its full cap; the response text is calldata and
 * event data. Unused gas is not charged, so the margins are wide. A job whose earlier transaction reverted (or never
 * reached the node) estimates instead.
 */
export const COMMIT_GAS_LIMIT = 150_000n;
export function revealGasLimit(committeeSize: number, responseBytes: number, callbackGasLimit: number): bigint {
  const callback = callbackGasLimit > 0 ? callbackGasLimit + Math.ceil(callbackGasLimit / 63) + 60_000 : 0;
  return BigInt(250_000 + 100_000 * committeeSize + 64 * responseBytes + callback);
}

/** What a commit or reveal reads from the chain about its request, shared by the node's members within one block. */
interface SeatRead {
  record: OnChainRecord;
  members: MemberState[];
  /** block.timestamp of the head the read was made at (deadlines compare with it). */
  now: number;
}

/**
 * The validator pipeline: for every active job of the journal, the next step toward finalization —
 * seen → (inference) inferred → (commit tx) committed → (reveal tx) revealed → (RecordFinalized event) finalized.
 *
 * Exactly-once: the salt and response are journaled before the commit is signed, and each transaction's hash before
 * it is broadcast. Before signing anything, a step first asks the chain (receipt of the journaled hash, then the
 * member's commit/reveal state), so a node restarted at any point never sends a second commit or reveal.
 */
export function createPipeline(common: Common, options: PipelineOptions): Pipeline {
  const { config, logger, metrics } = common;
  const { journal, engine, registry, submitters, heads } = options;
  const log = logger.child({ component: "pipeline" });
  const concurrency = options.concurrency ?? 64;
  const running = new Map<string, Promise<void>>();
  const generations = new Map<string, Promise<GenerateResult>>();
  const modelChecks = new Map<string, Promise<void>>();
  const seatReads = new Map<string, { head: number; read: Promise<SeatRead> }>();
  /**
   * Reveals this process has under way, by job key: decided on (maybe still waiting for their key's turn to sign),
   * broadcast, or found pending in the pool after a restart, until mined or failed. Deliberately in memory only: a
   * reveal journaled by an earlier run counts once its own job has found it pending, never on the journal's word
   * alone (a hash journaled just before a `kill -9` may never have reached the node).
   */
  const revealsUnderway = new Set<string>();
  const revealReadyAt = new Map<string, number>();
  let wakeUp: (() => void) | undefined;
  /**
   * Counts nudges (the listener applied events, or one of our transactions was mined): a job deferring to wait for an
   * event checks whether one came while its step ran.
   */
  let nudges = 0;
  let loop: Promise<void> | undefined;
  let stopping = false;
  let paused = false;
  const shortWait = Math.max(20, Math.min(config.pollIntervalMs, 1_000));
  const revealStaggerMs = Math.max(250, 5 * shortWait);
  /** Retries of a failing step: from two short waits, doubling per failure of the step, at most 10 s. */
  const jobRetry = { baseMs: shortWait * 2, capMs: 10_000 };
  /**
   * How long a job waits for something an event will announce (all members committed, a reveal mined, the record
   * final): the listener nudges it as soon as the event arrives, so this is only the fallback re-check, and a job does
   * not re-read the chain every block meanwhile.
   */
  const eventWait = Math.max(1_000, 50 * shortWait);
  /** Each request's quorum (fixed at request time), from the chain reads. */
  const quorums = new Map<string, number>();

  const keyOf = (job: JobKey) => `${job.requestId}:${job.validator}:${job.round}`;

  function move(job: Job, to: JobState, update: Parameters<Journal["move"]>[2] = {}): Job {
    const moved = journal.move(job, to, update);
    refreshDepth();
    return moved;
  }

  function wake() {
    nudges++;
    wakeUp?.();
  }

  /**
   * A move after our own transaction was mined: the request's shared chain read is stale, and this node's other
   * members of the request may be waiting on exactly this (reveals wait for local commits; a local reveal counts
   * toward the quorum). The chain's event for it can be applied before the receipt arrives, so its nudge may have
   * come too early: nudge them again now.
   */
  function moveAndNudge(job: Job, to: "committed" | "revealed", update: Parameters<Journal["move"]>[2]): Job {
    seatReads.delete(job.requestId.toString());
    const moved = move(job, to, update);
    journal.nudge(job.requestId);
    wake();
    return moved;
  }

  let depthAt = 0;
  /** The journal-depth gauge, refreshed at most once a second (counting scans the state index). */
  function refreshDepth(force = false) {
    if (!force && Date.now() - depthAt < 1_000) return;
    depthAt = Date.now();
    for (const [state, n] of Object.entries(journal.countByState())) metrics.journalDepth.set({ state }, n);
  }

  /** The registered hash of the request's model must be this engine's, or every answer would be unverifiable. */
  function checkModel(modelId: string): Promise<void> {
    let check = modelChecks.get(modelId);
    if (!check) {
      check = registry.getModelHash(Number(modelId)).then(({ modelHash }) => {
        if (modelHash.toLowerCase() !== engine.modelHash.toLowerCase()) {
          throw new NonRetryableError(`model ${modelId} is registered with hash ${modelHash}, this node runs ${engine.modelHash}`);
        }
      });
      check.catch(() => modelChecks.delete(modelId));
      modelChecks.set(modelId, check);
    }
    return check;
  }

  /** One inference per request even when several local validators sit on its committee (greedy decoding is deterministic). */
  function generate(job: Job): Promise<GenerateResult> {
    // Keyed by the prompt too: after a reorg the same request id may carry another prompt.
    const key = `${job.requestId}:${job.promptHash}:${job.maxNewTokens}`;
    let pending = generations.get(key);
    if (!pending) {
      const started = process.hrtime.bigint();
      pending = engine.generate({ prompt: job.prompt, maxNewTokens: job.maxNewTokens }).then((result) => {
        metrics.inferenceSeconds.observe(Number(process.hrtime.bigint() - started) / 1e9);
        metrics.inferenceTokensPerSecond.set(result.tokensPerSecond);
        return result;
      });
      generations.set(key, pending);
      pending.catch(() => generations.delete(key));
      if (generations.size > 1_000) generations.delete(generations.keys().next().value as string);
    }
    return pending;
  }

  async function infer(job: Job): Promise<Job> {
    await checkModel(job.modelId);
    const result = await generate(job);
    const text = options.alterResponse ? options.alterResponse(job.validator, result.text) : result.text;
    const responseHash = options.contentStore ? options.contentStore.put(text) : hashText(text);
    const salt = hexlify(randomBytes(32));
    log.debug({ requestId: job.requestId.toString(), validator: job.validator, tokens: result.tokenIds.length }, "inferred response");
    return move(job, "inferred", {
      salt,
      responseText: text,
      responseHash,
    });
  }

  function submitterOf(job: Job): Submitter {
    const submitter = submitters.get(job.validator.toLowerCase());
    if (!submitter) throw new NonRetryableError(`no key for validator ${job.validator}`);
    return submitter;
  }

  /** Journaled transaction of this step: mined → its block; pending → wait for it; otherwise nothing was sent. */
  async function settleJournaledTx(job: Job, kind: "commit" | "reveal"): Promise<number | undefined> {
    const hash = kind === "commit" ? job.commitTx : job.revealTx;
    if (!hash) return undefined;
    const submitter = submitterOf(job);
    const found = await submitter.lookup(hash);
    if (found.status === "mined") return found.tx.blockNumber;
    if (found.status !== "pending") return undefined;
    if (kind === "commit") return (await submitter.waitMined(hash, kind)).blockNumber;
    revealsUnderway.add(keyOf(job));
    try {
      return (await submitter.waitMined(hash, kind)).blockNumber;
    } finally {
      revealsUnderway.delete(keyOf(job));
    }
  }

  /**
   * The request and its members as of the latest head, read once per block for all of this node's members of the
   * request (their commits or reveals usually fall due together): two `eth_call`s per request and block instead of
   * three calls per member and attempt. A new head, or our own transaction mined, makes the next read fresh.
   */
  async function sharedSeatRead(requestId: bigint): Promise<SeatRead> {
    const head = await heads.current();
    const key = requestId.toString();
    const cached = seatReads.get(key);
    if (cached && cached.head === head.number) return cached.read;
    const read = Promise.all([registry.getRecord(requestId), registry.getMembers(requestId)]).then(([record, members]) => ({
      record,
      members,
      now: head.timestamp,
    }));
    seatReads.set(key, { head: head.number, read });
    void read.then(
      ({ record }) => {
        quorums.set(key, record.quorum);
        if (quorums.size > 4_096) quorums.delete(quorums.keys().next().value as string);
      },
      () => {
        if (seatReads.get(key)?.read === read) seatReads.delete(key);
      },
    );
    if (seatReads.size > 4_096) seatReads.delete(seatReads.keys().next().value as string);
    return read;
  }

  /**
   * Reads the request, its committee and chain time for a commit or reveal. A job whose request moved to another
   * attempt, or whose validator is no longer on the committee, is settled as timed out here; a finalized request
   * waits for its event (quorum reached, with or without us) to close the job.
   */
  async function readSeat(
    job: Job,
  ): Promise<{ settled: Job } | { record: OnChainRecord; members: MemberState[]; me: MemberState; now: number }> {
    const { record, members, now } = await sharedSeatRead(job.requestId);
    assertSameRequest(job, record.promptHash);
    if (record.attempt !== job.round) {
      return { settled: move(job, "timed_out", { lastError: `request moved to attempt ${record.attempt}` }) };
    }
    if (record.status >= RequestStatus.Finalized) throw new Deferred(eventWait, true);
    const me = members.find((m) => m.validator.toLowerCase() === job.validator.toLowerCase());
    if (!me) return { settled: move(job, "timed_out", { lastError: "not on the current committee" }) };
    return { record, members, me, now };
  }

  async function commit(job: Job): Promise<Job> {
    const minedIn = await settleJournaledTx(job, "commit");
    if (minedIn !== undefined) return moveAndNudge(job, "committed", { commitBlock: minedIn });

    const seat = await readSeat(job);
    if ("settled" in seat) return seat.settled;
    const { record, me, now } = seat;
    const commitment = computeCommitment(job.requestId, job.validator, job.responseHash as string, job.salt as string);
    if (me.revealed) return move(job, "committed", { commitBlock: job.seenBlock });
    if (me.committed) {
      if (me.commitment.toLowerCase() !== commitment.toLowerCase()) {
        throw new NonRetryableError(`on-chain commitment ${me.commitment} is not the journaled one ${commitment}`);
      }
      return move(job, "committed", { commitBlock: job.seenBlock });
    }
    if (now > record.commitDeadline) return move(job, "timed_out", { lastError: "commit phase closed before the commit" });

    const mined = await submitterOf(job).send(
      {
        kind: "commit",
        to: registry.address,
        data: registry.encodeCommit(job.requestId, commitment),
        // A second commit of this job (the first reverted or never reached the node) estimates its gas instead.
        gasLimit: job.commitTx ? undefined : COMMIT_GAS_LIMIT,
      },
      { beforeBroadcast: (hash) => journal.recordTx(job, "commit", hash) },
    );
    log.info({ requestId: job.requestId.toString(), validator: job.validator, tx: mined.hash, gasUsed: mined.gasUsed.toString() }, "committed response");
    return moveAndNudge(job, "committed", { commitBlock: mined.blockNumber });
  }

  /**
   * After a reorg a request id can name another request (ids are sequential): never commit or reveal an answer to a
   * prompt the chain no longer has under this id. The listener rolls such a job back; until then it waits.
   */
  function assertSameRequest(job: Job, onChainPromptHash: string) {
    if (onChainPromptHash.toLowerCase() !== job.promptHash.toLowerCase()) {
      log.warn({ requestId: job.requestId.toString(), validator: job.validator }, "request changed on-chain (reorg?), waiting");
      throw new Deferred(shortWait * 5);
    }
  }

  /** This node's jobs for the request's other members in the same round. */
  function siblingsOf(job: Job): Job[] {
    const validator = job.validator.toLowerCase();
    return journal.jobsOfRequest(job.requestId).filter((j) => j.round === job.round && j.validator.toLowerCase() !== validator);
  }

  /**
   * This node's other members of the request whose agreeing reveal is under way in this process or mined (the chain
   * read at hand may predate its block): they count toward the quorum already, so no further local member reveals into
   * a record about to close.
   */
  function localRevealsInFlight(job: Job, siblings: readonly Job[], onChainRevealed: ReadonlySet<string> = new Set()): Set<string> {
    const inFlight = new Set<string>();
    for (const other of siblings) {
      const validator = other.validator.toLowerCase();
      if (onChainRevealed.has(validator)) continue;
      // "revealed" too: the chain read may predate the block that mined it (the read was in flight meanwhile).
      const sent = other.state === "revealed" || (other.state === "committed" && revealsUnderway.has(keyOf(other)));
      if (sent && other.responseHash?.toLowerCase() === job.responseHash?.toLowerCase()) {
        inFlight.add(validator);
      }
    }
    return inFlight;
  }

  /**
   * Once the quorum is reached, further reveals revert (reveals after finalization are rejected). So the members still
   * to reveal go in committee order: as many as the quorum still needs reveal at once (in one block), each further one
   * a stagger later, by when it usually sees the record final and sends nothing. This node's own reveals in flight
   * count as done; across processes only the order and the stagger keep reveals apart. Only a member whose
   * predecessors stay silent (or dissent) pays the wait.
   */
  function staggerQuorumReveal(job: Job, quorum: number, members: readonly MemberState[]) {
    const agreeing = members.filter((m) => m.revealed && m.responseHash.toLowerCase() === (job.responseHash as string).toLowerCase());
    const revealed = new Set(members.filter((m) => m.revealed).map((m) => m.validator.toLowerCase()));
    const inFlight = localRevealsInFlight(job, siblingsOf(job), revealed);
    const needed = quorum - agreeing.length - inFlight.size;
    // A local reveal in flight completes the quorum: look again when it is mined (its events nudge the job).
    if (needed <= 0 && inFlight.size > 0) throw new Deferred(eventWait, true);
    const waiting = members.filter((m) => m.committed && !m.revealed && !inFlight.has(m.validator.toLowerCase()));
    const rank = waiting.findIndex((m) => m.validator.toLowerCase() === job.validator.toLowerCase());
    if (needed <= 0 || rank < needed) return;
    const key = keyOf(job);
    const since = revealReadyAt.get(key) ?? Date.now();
    revealReadyAt.set(key, since);
    if (revealReadyAt.size > 10_000) revealReadyAt.delete(revealReadyAt.keys().next().value as string);
    const waitMs = since + (rank - needed + 1) * revealStaggerMs - Date.now();
    if (waitMs > 0) throw new Deferred(waitMs);
  }

  async function reveal(job: Job): Promise<Job> {
    const minedIn = await settleJournaledTx(job, "reveal");
    if (minedIn !== undefined) return moveAndNudge(job, "revealed", { revealBlock: minedIn });
    // Decided without a chain read where the journal already knows: while another of this node's members of the
    // request has no mined commit, reveals are not open yet (its ResponseCommitted event nudges this job); once this
    // node's own agreeing reveals make the quorum, the RecordFinalized event (or the fallback re-check) closes the job.
    const siblings = siblingsOf(job);
    if (siblings.some((j) => j.state === "seen" || j.state === "inferred")) throw new Deferred(eventWait, true);
    const quorum = quorums.get(job.requestId.toString());
    if (quorum !== undefined && localRevealsInFlight(job, siblings).size >= quorum) throw new Deferred(eventWait, true);

    const seat = await readSeat(job);
    if ("settled" in seat) return seat.settled;
    const { record, members, me, now } = seat;
    if (me.revealed) return move(job, "revealed", { revealBlock: job.commitBlock ?? job.seenBlock });
    const allCommitted = members.every((m) => m.committed);
    // The contract opens reveals once every member committed, or strictly after the commit deadline.
    if (!allCommitted && now <= record.commitDeadline) {
      throw new Deferred(Math.min(eventWait, Math.max(shortWait, (record.commitDeadline - now + 1) * 1000)), true);
    }
    if (now > record.revealDeadline) return move(job, "timed_out", { lastError: "reveal phase closed before the reveal" });
    const delay = options.revealDelayMs?.(job.validator) ?? 0;
    if (delay > 0 && Date.now() - job.updatedAt < delay) throw new Deferred(delay);
    staggerQuorumReveal(job, record.quorum, members);

    const text = job.responseText as string;
    // Claimed before the first await: another local member deciding meanwhile must count this reveal as sent.
    const claim = keyOf(job);
    revealsUnderway.add(claim);
    const mined = await submitterOf(job).send(
      {
        kind: "reveal",
        to: registry.address,
        data: registry.encodeReveal(job.requestId, text, job.salt as string),
        // A second reveal of this job (the first reverted or never reached the node) estimates its gas instead.
        gasLimit: job.revealTx ? undefined : revealGasLimit(members.length, Buffer.byteLength(text, "utf8"), record.callbackGasLimit),
      },
      { beforeBroadcast: (hash) => journal.recordTx(job, "reveal", hash) },
    ).finally(() => revealsUnderway.delete(claim));
    log.info({ requestId: job.requestId.toString(), validator: job.validator, tx: mined.hash, gasUsed: mined.gasUsed.toString() }, "revealed response");
    return moveAndNudge(job, "revealed", { revealBlock: mined.blockNumber });
  }

  async function advance(start: Job): Promise<void> {
    let job: Job | undefined = start;
    while (job && !isTerminal(job.state) && !stopping) {
      switch (job.state) {
        case "seen":
          job = await infer(job);
          break;
        case "inferred":
          job = await commit(job);
          break;
        case "committed":
          job = await reveal(job);
          break;
        case "revealed":
          // Done on our side; RecordFinalized / RequestTimedOut close it. Look again later in case a reorg dropped it.
          throw new Deferred(Math.max(shortWait * 20, 2_000));
        default:
          return;
      }
      // An event may have closed the job meanwhile; continue from what the journal says.
      job = journal.get(job);
    }
  }

  async function processJob(job: Job): Promise<void> {
    const nudgesAtStart = nudges;
    try {
      await advance(job);
    } catch (error) {
      if (error instanceof Deferred) {
        // Events applied while this step ran may have nudged the job before it deferred (a lost wake-up): look again
        // soon instead of after the whole fallback wait.
        const nudgedMeanwhile = error.untilEvent && nudges !== nudgesAtStart;
        journal.defer(job, Date.now() + (nudgedMeanwhile ? shortWait : error.delayMs));
        return;
      }
      if (error instanceof InvalidJobTransitionError) return; // an event closed the job while we worked on it
      const current = journal.get(job) ?? job;
      if (isTerminal(current.state)) return;
      const message = (error as Error).message;
      if (error instanceof TxRevertedError && current.txAttempts < MAX_REVERTED_TX) {
        // Lost a race with the chain (e.g. a phase just ended): re-read the chain before deciding again.
        journal.recordFailure(job, message, Date.now() + backoffDelayMs(jobRetry, current.txAttempts));
        return;
      }
      if (error instanceof RetryableError) {
        journal.recordFailure(job, message, Date.now() + backoffDelayMs(jobRetry, current.failures + 1));
        log.warn({ requestId: job.requestId.toString(), validator: job.validator, state: current.state, err: message }, "job step failed, will retry");
        return;
      }
      metrics.requestsTotal.inc({ status: "failed" });
      log.error({ requestId: job.requestId.toString(), validator: job.validator, state: current.state, err: message }, "job failed");
      try {
        move(current, "failed", { lastError: message });
      } catch {
        // closed by an event meanwhile
      }
    }
  }

  async function run() {
    refreshDepth(true);
    while (!stopping) {
      try {
        const due = paused ? [] : journal.dueJobs(Date.now(), concurrency * 2);
        for (const job of due) {
          const key = keyOf(job);
          if (running.has(key) || running.size >= concurrency) continue;
          const work = processJob(job).finally(() => {
            running.delete(key);
            wakeUp?.();
          });
          running.set(key, work);
        }
        refreshDepth();
      } catch (error) {
        metrics.unhandledErrorsTotal.inc();
        log.error({ err: (error as Error).message }, "pipeline loop failed");
      }
      await new Promise<void>((resolve) => {
        let timer = setTimeout(done, config.pollIntervalMs);
        function done() {
          clearTimeout(timer);
          wakeUp = undefined;
          resolve();
        }
        // A burst of wake-ups (jobs finishing, a block's events) makes one journal scan, not one each.
        wakeUp = () => {
          wakeUp = () => undefined;
          clearTimeout(timer);
          timer = setTimeout(done, WAKE_COALESCE_MS);
        };
      });
    }
    await Promise.allSettled(running.values());
  }

  return {
    start() {
      loop ??= run();
    },
    wake,
    async stop() {
      stopping = true;
      wakeUp?.();
      await loop;
    },
    inFlight: () => running.size,
    pause() {
      paused = true;
      log.warn("pipeline paused");
    },
    resume() {
      paused = false;
      log.info("pipeline resumed");
      wakeUp?.();
    },
    isPaused: () => paused,
  };
}

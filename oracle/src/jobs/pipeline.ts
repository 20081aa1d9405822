import { ZeroHash, hexlify, randomBytes } from "ethers";
import type { ChatRegistryClient, MemberState, OnChainRecord, RegisteredModel } from "../chain/chatRegistry";
import { DECLINE_REASON_NAMES, DeclineReason, RequestStatus, computeCommitment } from "../chain/chatRegistry";
import type { HeadTracker } from "../chain/heads";
import { type ThreadReader, renderWith } from "../chain/threads";
import { type Submitter, TxRevertedError } from "../chain/submitter";
import { backoffDelayMs } from "../backoff";
import type { Common } from "../common";
import { NonRetryableError, RetryableError } from "../inference/errors";
import type { GenerateResult, InferenceEngine } from "../inference";
import { type ContentStore, hashText } from "../store/contentStore";
import type { Job, JobKey, Journal } from "./journal";
import { BLOCKHASH_WINDOW } from "./seats";
import { InvalidJobTransitionError, isTerminal, type JobState } from "./states";

/** Blocks before the end of the blockhash window at which a still undrawn committee is drawn rather than raced. */
const SEED_MARGIN_BLOCKS = 32;

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
   * Reads conversation threads: a turn that extends one (`requestChatFollowUp`) is answered from the chat rendering of
   * the whole thread. Without it every prompt is read as it is.
   */
  threads?: ThreadReader;
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
 * 53–58 k, reveal 46 k, finalizing reveal 74 k. The attempt's first commit (or respond) also draws the committee and
 * seats each member (`npm run demo`: 248 k for a first commit of 3 members seated for the first time, 60 k after):
 * `DRAW_GAS_PER_SEAT` more per member while undrawn. A finalizing reveal may also slash dissenters (a stake-tree update
 * each, ≤ 95 k) and call the consumer, which the contract insists gets its full cap; the response text is calldata and
 * event data. Unused gas is not charged, so the margins are wide. A job whose earlier transaction reverted (or never
 * reached the node) estimates instead.
 */
export const COMMIT_GAS_LIMIT = 150_000n;
export const DRAW_GAS_PER_SEAT = 100_000n;
export function commitGasLimit(committeeSize: number, draws: boolean): bigint {
  return COMMIT_GAS_LIMIT + (draws ? DRAW_GAS_PER_SEAT * BigInt(committeeSize) : 0n);
}
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
 * A committee of one sends `respond` instead of commit and reveal; a request the node cannot serve is declined
 * (`declineRequest`) instead of answered. Committed members reveal after the quorum too, until the reveal deadline.
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
  const models = new Map<string, Promise<RegisteredModel>>();
  const seatReads = new Map<string, { head: number; read: Promise<SeatRead> }>();
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
  /** Retries of a failing step: from two short waits, doubling per failure of the step, at most 10 s. */
  const jobRetry = { baseMs: shortWait * 2, capMs: 10_000 };
  /**
   * How long a job waits for something an event will announce (all members committed, a reveal mined, the record
   * final): the listener nudges it as soon as the event arrives, so this is only the fallback re-check, and a job does
   * not re-read the chain every block meanwhile.
   */
  const eventWait = Math.max(1_000, 50 * shortWait);

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
  function moveAndNudge(job: Job, to: "committed" | "revealed" | "declined", update: Parameters<Journal["move"]>[2]): Job {
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

  /** The request's registered model (hash and limits never change for a model id). */
  function modelOf(modelId: string): Promise<RegisteredModel> {
    let model = models.get(modelId);
    if (!model) {
      model = registry.getModel(Number(modelId));
      model.catch(() => models.delete(modelId));
      models.set(modelId, model);
    }
    return model;
  }

  /**
   * Why this node cannot serve the request, if it cannot — decided from the request and the chain alone, so every
   * honest node running this model decides the same and a quorum of declines ends the request without slashing
   * anyone: the prompt is not valid UTF-8 (its decoded text does not hash back to the on-chain promptHash), the
   * registered model is not the one this engine runs, or the tokenized prompt plus maxNewTokens exceeds the context.
   */
  async function declineReasonOf(job: Job, modelPrompt: string): Promise<{ reason: number; detail: string } | undefined> {
    if (hashText(job.prompt).toLowerCase() !== job.promptHash.toLowerCase()) {
      return { reason: DeclineReason.InvalidPrompt, detail: "prompt is not valid UTF-8" };
    }
    const model = await modelOf(job.modelId);
    if (model.modelHash.toLowerCase() !== engine.modelHash.toLowerCase()) {
      return { reason: DeclineReason.ModelUnavailable, detail: `model ${job.modelId} is registered with hash ${model.modelHash}, this node runs ${engine.modelHash}` };
    }
    const tokens = engine.countPromptTokens(modelPrompt);
    if (tokens === 0) return { reason: DeclineReason.InvalidPrompt, detail: "prompt encodes to no tokens" };
    const context = Math.min(model.limits.contextLength, engine.maxContext);
    if (tokens + job.maxNewTokens > context) {
      return { reason: DeclineReason.PromptTooLong, detail: `${tokens} prompt tokens + ${job.maxNewTokens} new tokens > context ${context}` };
    }
    return undefined;
  }

  /** One inference per request even when several local validators sit on its committee (greedy decoding is deterministic). */
  function generate(job: Job, modelPrompt: string): Promise<GenerateResult> {
    // Keyed by the prompt too: after a reorg the same request id may carry another prompt.
    const key = `${job.requestId}:${hashText(modelPrompt)}:${job.maxNewTokens}`;
    let pending = generations.get(key);
    if (!pending) {
      // inference_seconds is observed by the node's instrumented engine (metrics/instrument.ts).
      pending = engine.generate({ prompt: modelPrompt, maxNewTokens: job.maxNewTokens }).then((result) => {
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
    // A journaled decline (the only transaction a job sends before inferring): mined → done; pending → wait for it.
    const declinedIn = await settleJournaledTx(job, "commit");
    if (declinedIn !== undefined) return moveAndNudge(job, "declined", { commitBlock: declinedIn });
    let modelPrompt = job.prompt;
    try {
      // A thread turn reads the whole conversation; the texts of finalized turns are the same for every node.
      if (options.threads) modelPrompt = await options.threads.modelPrompt(job.requestId, job.prompt, renderWith(engine));
    } catch (error) {
      // The model's template rejects the conversation: every node renders the same and declines alike.
      if (error instanceof NonRetryableError) return decline(job, DeclineReason.InvalidPrompt, error.message);
      throw error;
    }
    const refusal = await declineReasonOf(job, modelPrompt);
    if (refusal) return decline(job, refusal.reason, refusal.detail);
    let result: GenerateResult;
    try {
      result = await generate(job, modelPrompt);
    } catch (error) {
      // The model cannot answer this prompt here: declining costs nothing, failing the job would be slashed.
      if (error instanceof NonRetryableError) return decline(job, DeclineReason.ModelUnavailable, error.message);
      throw error;
    }
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
    return (await submitter.waitMined(hash, kind)).blockNumber;
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
    void read.catch(() => {
      if (seatReads.get(key)?.read === read) seatReads.delete(key);
    });
    if (seatReads.size > 4_096) seatReads.delete(seatReads.keys().next().value as string);
    return read;
  }

  /**
   * Reads the request, its committee and chain time for a commit, respond, decline or reveal. Before anyone drew the
   * committee, `previewCommittee` stands in for it (our first transaction will draw it). A job whose request moved to
   * another attempt, or whose validator is not on the committee, is settled as timed out here.
   */
  async function readSeat(
    job: Job,
  ): Promise<{ settled: Job } | { record: OnChainRecord; members: MemberState[]; me: MemberState; now: number }> {
    const read = await sharedSeatRead(job.requestId);
    const { record, now } = read;
    let { members } = read;
    assertSameRequest(job, record.promptHash);
    if (record.attempt !== job.round) {
      return { settled: move(job, "timed_out", { lastError: `request moved to attempt ${record.attempt}` }) };
    }
    if (members.length === 0 && record.status === RequestStatus.Requested) {
      const head = await heads.current();
      if (head.number - record.seedBlock >= BLOCKHASH_WINDOW - SEED_MARGIN_BLOCKS) {
        // The seed block is about to leave (or left) the blockhash window: a commit sent now could be mined after it
        // and revert. `draw` fixes the committee while the hash is there, or renews a lost seed.
        await submitterOf(job).send(
          { kind: "draw", to: registry.address, data: registry.encodeDraw(job.requestId) },
          { revertExpected: true },
        );
        seatReads.delete(job.requestId.toString());
        throw new Deferred(shortWait);
      }
      const preview = await registry.previewCommittee(job.requestId);
      if (!preview.ready) throw new Deferred(shortWait);
      members = preview.committee.map((validator) => ({
        validator,
        committed: false,
        revealed: false,
        declined: false,
        commitment: ZeroHash,
        responseHash: ZeroHash,
      }));
    }
    const me = members.find((m) => m.validator.toLowerCase() === job.validator.toLowerCase());
    if (!me) {
      if (record.status === RequestStatus.Declined || record.status === RequestStatus.TimedOut) throw new Deferred(eventWait, true);
      return { settled: move(job, "timed_out", { lastError: "not on the current committee" }) };
    }
    return { record, members, me, now };
  }

  /** Commits (and declines, and a committee of one's respond) are open while the request is Requested or Committed. */
  function commitsOpen(record: OnChainRecord): boolean {
    return record.status === RequestStatus.Requested || record.status === RequestStatus.Committed;
  }

  /** Where a seat that did not take part ends when commits closed: the chain's outcome, as far as this job goes. */
  function closedWithoutUs(job: Job, record: OnChainRecord): Job {
    if (record.status === RequestStatus.Declined) return move(job, "declined", { lastError: "a quorum declined before this member" });
    if (record.status === RequestStatus.Finalized) return move(job, "finalized", { lastError: "finalized without this member" });
    return move(job, "timed_out", { lastError: "commit phase closed before this member acted" });
  }

  /** Declines the request the node cannot serve (see `declineReasonOf`); the decline is journaled as `commit_tx`. */
  async function decline(job: Job, reason: number, detail: string): Promise<Job> {
    const seat = await readSeat(job);
    if ("settled" in seat) return seat.settled;
    const { record, me, now } = seat;
    if (me.declined) return move(job, "declined", { commitBlock: job.seenBlock });
    if (me.committed) throw new NonRetryableError(`cannot decline request ${job.requestId}: already committed`);
    // A Declined request still takes the declines of seats that had not acted, until the commit deadline.
    const open = commitsOpen(record) || record.status === RequestStatus.Declined;
    if (!open || now > record.commitDeadline) return closedWithoutUs(job, record);
    const mined = await submitterOf(job).send(
      { kind: "decline", to: registry.address, data: registry.encodeDecline(job.requestId, reason) },
      { beforeBroadcast: (hash) => journal.recordTx(job, "commit", hash) },
    );
    log.info({ requestId: job.requestId.toString(), validator: job.validator, reason: DECLINE_REASON_NAMES[reason], detail, tx: mined.hash }, "declined request");
    metrics.unservableRequestsTotal.inc({ reason: DECLINE_REASON_NAMES[reason] });
    return moveAndNudge(job, "declined", { commitBlock: mined.blockNumber, lastError: `declined: ${DECLINE_REASON_NAMES[reason]} (${detail})` });
  }

  async function commit(job: Job): Promise<Job> {
    const minedIn = await settleJournaledTx(job, "commit");
    if (minedIn !== undefined) return moveAndNudge(job, "committed", { commitBlock: minedIn });

    const seat = await readSeat(job);
    if ("settled" in seat) return seat.settled;
    const { record, members, me, now } = seat;
    const commitment = computeCommitment(job.requestId, job.validator, job.responseHash as string, job.salt as string);
    if (me.revealed) return move(job, "committed", { commitBlock: job.seenBlock });
    if (me.declined) return move(job, "declined", { commitBlock: job.seenBlock });
    if (me.committed) {
      if (me.commitment.toLowerCase() !== commitment.toLowerCase()) {
        throw new NonRetryableError(`on-chain commitment ${me.commitment} is not the journaled one ${commitment}`);
      }
      return move(job, "committed", { commitBlock: job.seenBlock });
    }
    if (!commitsOpen(record)) return closedWithoutUs(job, record);
    if (now > record.commitDeadline) return move(job, "timed_out", { lastError: "commit phase closed before the commit" });
    if (members.length === 1) return respond(job, record);

    const mined = await submitterOf(job).send(
      {
        kind: "commit",
        to: registry.address,
        data: registry.encodeCommit(job.requestId, commitment),
        // A second commit of this job (the first reverted or never reached the node) estimates its gas instead.
        gasLimit: job.commitTx ? undefined : commitGasLimit(members.length, record.committee.length === 0),
      },
      { beforeBroadcast: (hash) => journal.recordTx(job, "commit", hash) },
    );
    log.info({ requestId: job.requestId.toString(), validator: job.validator, tx: mined.hash, gasUsed: mined.gasUsed.toString() }, "committed response");
    return moveAndNudge(job, "committed", { commitBlock: mined.blockNumber });
  }

  /**
   * A committee of one: commit–reveal hides nothing, so the answer goes out in one `respond` that finalizes the record
   * (request + respond is the whole lifecycle). Journaled as the job's commit; the reveal step then finds the seat
   * revealed and the record final.
   */
  async function respond(job: Job, record: OnChainRecord): Promise<Job> {
    const text = job.responseText as string;
    const mined = await submitterOf(job).send(
      {
        kind: "respond",
        to: registry.address,
        data: registry.encodeRespond(job.requestId, text),
        gasLimit: job.commitTx
          ? undefined
          : revealGasLimit(1, Buffer.byteLength(text, "utf8"), record.callbackGasLimit) + (record.committee.length === 0 ? DRAW_GAS_PER_SEAT : 0n),
      },
      { beforeBroadcast: (hash) => journal.recordTx(job, "commit", hash) },
    );
    log.info({ requestId: job.requestId.toString(), validator: job.validator, tx: mined.hash, gasUsed: mined.gasUsed.toString() }, "responded");
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

  async function reveal(job: Job): Promise<Job> {
    const minedIn = await settleJournaledTx(job, "reveal");
    if (minedIn !== undefined) return moveAndNudge(job, "revealed", { revealBlock: minedIn });
    // Decided without a chain read where the journal already knows: while another of this node's members of the
    // request has no mined commit (or decline), reveals are not open yet (its event nudges this job).
    if (siblingsOf(job).some((j) => j.state === "seen" || j.state === "inferred")) throw new Deferred(eventWait, true);

    const seat = await readSeat(job);
    if ("settled" in seat) return seat.settled;
    const { record, members, me, now } = seat;
    if (me.revealed) {
      const at = { revealBlock: job.commitBlock ?? job.seenBlock };
      // Revealed into (or, responding, as) the final record: its RecordFinalized may be applied already.
      return move(job, record.status === RequestStatus.Finalized ? "finalized" : "revealed", at);
    }
    // A quorum declined: this commit contradicts the outcome whatever it reveals; RequestDeclined closes the job.
    if (record.status === RequestStatus.Declined || record.status === RequestStatus.TimedOut) throw new Deferred(eventWait, true);
    const allCommitted = members.every((m) => m.committed || m.declined);
    // The contract opens reveals once every member committed, or strictly after the commit deadline.
    if (!allCommitted && now <= record.commitDeadline) {
      throw new Deferred(Math.min(eventWait, Math.max(shortWait, (record.commitDeadline - now + 1) * 1000)), true);
    }
    if (now > record.revealDeadline) return move(job, "timed_out", { lastError: "reveal phase closed before the reveal" });
    const delay = options.revealDelayMs?.(job.validator) ?? 0;
    if (delay > 0 && Date.now() - job.updatedAt < delay) throw new Deferred(delay);
    // Every committed member reveals, after the quorum too: reveals stay open until the reveal deadline and an
    // agreeing late reveal is paid its share (not revealing would be slashed at `settle`).
    const late = record.status === RequestStatus.Finalized;

    const text = job.responseText as string;
    const mined = await submitterOf(job).send(
      {
        kind: "reveal",
        to: registry.address,
        data: registry.encodeReveal(job.requestId, text, job.salt as string),
        // A second reveal of this job (the first reverted or never reached the node) estimates its gas instead.
        gasLimit: job.revealTx ? undefined : revealGasLimit(members.length, Buffer.byteLength(text, "utf8"), record.callbackGasLimit),
      },
      { beforeBroadcast: (hash) => journal.recordTx(job, "reveal", hash) },
    );
    log.info({ requestId: job.requestId.toString(), validator: job.validator, tx: mined.hash, gasUsed: mined.gasUsed.toString(), late }, "revealed response");
    const revealed = moveAndNudge(job, "revealed", { revealBlock: mined.blockNumber });
    return late ? move(revealed, "finalized", { revealBlock: mined.blockNumber }) : revealed;
  }

  /**
   * Done on our side; RecordFinalized / RequestTimedOut close the job. RecordFinalized leaves committed jobs open (they
   * may still reveal), so when our own reveal finalized the record its event may have been applied before the job got
   * here: the chain says so then. Looked at again later in case a reorg dropped the reveal.
   */
  async function awaitOutcome(job: Job): Promise<Job> {
    const { record } = await sharedSeatRead(job.requestId);
    if (record.attempt === job.round && record.status === RequestStatus.Finalized) return move(job, "finalized");
    throw new Deferred(Math.max(shortWait * 20, 2_000), true);
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
          job = await awaitOutcome(job);
          break;
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

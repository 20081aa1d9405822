import { hexlify, randomBytes } from "ethers";
import type pino from "pino";
import type { MemberState, OnChainRecord, RegisteredModel } from "../chain/chatRegistry";
import { DECLINE_REASON_NAMES, DeclineReason, RequestStatus, computeCommitment, idleMember } from "../chain/chatRegistry";
import type { TxKind } from "../chain/submitter";
import { NonRetryableError } from "../errors";
import type { GenerateResult, InferenceEngine } from "../inference";
import type { Metrics } from "../metrics";
import { type ContentStore, hashText } from "../store/contentStore";
import type { Job, Journal } from "./journal";
import type { JobState } from "./states";

/**
 * What one step did to a job: moved it (the loop goes on from the journal's row), or put it off — for a while, or
 * until an event about its request nudges it (`fallbackMs` is then only the re-check if none comes).
 */
export type StepResult =
  | { kind: "moved"; job: Job }
  | { kind: "deferred"; delayMs: number }
  | { kind: "awaiting_event"; fallbackMs: number };

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

/** What a commit or reveal reads from the chain about its request. */
export interface SeatRead {
  record: OnChainRecord;
  members: MemberState[];
  /** block.timestamp of the head the read was made at (deadlines compare with it). */
  now: number;
}

/** A transaction one of the steps sends from the job's validator key. */
export type JobTransaction =
  | { kind: "decline"; requestId: bigint; reason: number }
  | { kind: "commit"; requestId: bigint; commitment: string; gasLimit?: bigint }
  | { kind: "respond"; requestId: bigint; text: string; gasLimit?: bigint }
  | { kind: "reveal"; requestId: bigint; text: string; salt: string; gasLimit?: bigint };

export interface MinedJobTransaction {
  hash: string;
  blockNumber: number;
  gasUsed: bigint;
}

/**
 * The chain as the steps see it (jobs/stepChain.ts implements it over the registry, the head tracker and the
 * submitters; unit tests use a small in-memory one). Failures throw the node's classified errors.
 */
export interface StepChain {
  /** The request, its members and chain time at the latest head. */
  readSeat(requestId: bigint): Promise<SeatRead>;
  /** Our transaction changed the request: the next `readSeat` reads again. */
  forgetSeat(requestId: bigint): void;
  /** The committee the pending block would draw, and whether its seed exists yet. */
  previewCommittee(requestId: bigint): Promise<{ committee: string[]; ready: boolean }>;
  getModel(modelId: string): Promise<RegisteredModel>;
  /** Sends from `validator`'s key; `beforeBroadcast` gets the hash before it leaves (to journal it). */
  send(
    validator: string,
    tx: JobTransaction,
    options?: { beforeBroadcast?: (hash: string) => void | Promise<void> },
  ): Promise<MinedJobTransaction>;
  /** A journaled transaction: mined (in which block), still pending, or unknown to the chain (nothing was sent). */
  lookupTx(validator: string, hash: string): Promise<{ status: "mined"; blockNumber: number } | { status: "pending" } | { status: "unknown" }>;
  waitMined(validator: string, hash: string, kind: TxKind): Promise<{ blockNumber: number }>;
}

/** Everything a step uses, passed in (the pipeline's loop builds one). */
export interface StepContext {
  journal: Journal;
  chain: StepChain;
  engine: Pick<InferenceEngine, "modelHash" | "maxContext" | "countPromptTokens">;
  /** The response for the model prompt (one inference per request when several local members share it). */
  generate(job: Job, modelPrompt: string): Promise<GenerateResult>;
  /**
   * The text the model answers for the job: a conversation turn (`requestChatFollowUp`) is the chat rendering of its
   * whole thread; without a thread reader every prompt is read as it is.
   */
  modelPrompt?: (job: Job) => Promise<string>;
  contentStore?: ContentStore;
  log: pino.Logger;
  metrics: Pick<Metrics, "unservableRequestsTotal">;
  /** A short re-check (a seed not ready, a request that changed under a reorg). */
  shortWaitMs: number;
  /** Fallback re-check of a job waiting for an event (the listener nudges it when the event comes). */
  eventWaitMs: number;
  /** Our own transaction was mined: wake the loop (this node's other members of the request may wait on it). */
  wake(): void;
  /** See PipelineOptions. */
  alterResponse?: (validator: string, text: string) => string;
  revealDelayMs?: (validator: string) => number;
  now?: () => number;
}

const moved = (job: Job): StepResult => ({ kind: "moved", job });
const deferred = (delayMs: number): StepResult => ({ kind: "deferred", delayMs });
const awaitingEvent = (fallbackMs: number): StepResult => ({ kind: "awaiting_event", fallbackMs });

function move(ctx: StepContext, job: Job, to: JobState, update: Parameters<Journal["move"]>[2] = {}): StepResult {
  return moved(ctx.journal.move(job, to, update));
}

/**
 * A move after our own transaction was mined: the request's shared chain read is stale, and this node's other
 * members of the request may be waiting on exactly this (reveals wait for local commits; a local reveal counts toward
 * the quorum). The chain's event for it can be applied before the receipt arrives, so its nudge may have come too
 * early: nudge them again now.
 */
function moveAndNudge(ctx: StepContext, job: Job, to: "committed" | "revealed" | "declined", update: Parameters<Journal["move"]>[2]): Job {
  ctx.chain.forgetSeat(job.requestId);
  const next = ctx.journal.move(job, to, update);
  ctx.journal.nudge(job.requestId);
  ctx.wake();
  return next;
}

/**
 * Why this node cannot serve the request, if it cannot — decided from the request and the chain alone, so every
 * honest node running this model decides the same and a quorum of declines ends the request without slashing anyone:
 * the prompt is not valid UTF-8 (its decoded text does not hash back to the on-chain promptHash), the registered model
 * is not the one this engine runs, or the tokenized prompt plus maxNewTokens exceeds the context.
 */
export async function declineReasonOf(ctx: StepContext, job: Job, modelPrompt = job.prompt): Promise<{ reason: number; detail: string } | undefined> {
  const { engine } = ctx;
  if (hashText(job.prompt).toLowerCase() !== job.promptHash.toLowerCase()) {
    return { reason: DeclineReason.InvalidPrompt, detail: "prompt is not valid UTF-8" };
  }
  const model = await ctx.chain.getModel(job.modelId);
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

/** Journaled transaction of this step: mined → its block; pending → wait for it; otherwise nothing was sent. */
async function settleJournaledTx(ctx: StepContext, job: Job, kind: "commit" | "reveal"): Promise<number | undefined> {
  const hash = kind === "commit" ? job.commitTx : job.revealTx;
  if (!hash) return undefined;
  const found = await ctx.chain.lookupTx(job.validator, hash);
  if (found.status === "mined") return found.blockNumber;
  if (found.status !== "pending") return undefined;
  return (await ctx.chain.waitMined(job.validator, hash, kind)).blockNumber;
}

/** seen → inferred (the response journaled with its salt), or declined when the node cannot serve the request. */
export async function inferStep(ctx: StepContext, job: Job): Promise<StepResult> {
  // A journaled decline (the only transaction a job sends before inferring): mined → done; pending → wait for it.
  const declinedIn = await settleJournaledTx(ctx, job, "commit");
  if (declinedIn !== undefined) return moved(moveAndNudge(ctx, job, "declined", { commitBlock: declinedIn }));
  let modelPrompt = job.prompt;
  try {
    // A thread turn reads the whole conversation; the texts of finalized turns are the same for every node.
    if (ctx.modelPrompt) modelPrompt = await ctx.modelPrompt(job);
  } catch (error) {
    // The model's template rejects the conversation: every node renders the same and declines alike.
    if (error instanceof NonRetryableError) return declineStep(ctx, job, DeclineReason.InvalidPrompt, error.message);
    throw error;
  }
  const refusal = await declineReasonOf(ctx, job, modelPrompt);
  if (refusal) return declineStep(ctx, job, refusal.reason, refusal.detail);
  let result: GenerateResult;
  try {
    result = await ctx.generate(job, modelPrompt);
  } catch (error) {
    // The model cannot answer this prompt here: declining costs nothing, failing the job would be slashed.
    if (error instanceof NonRetryableError) return declineStep(ctx, job, DeclineReason.ModelUnavailable, error.message);
    throw error;
  }
  const text = ctx.alterResponse ? ctx.alterResponse(job.validator, result.text) : result.text;
  const responseHash = ctx.contentStore ? ctx.contentStore.put(text) : hashText(text);
  const salt = hexlify(randomBytes(32));
  ctx.log.debug({ requestId: job.requestId.toString(), validator: job.validator, tokens: result.tokenIds.length }, "inferred response");
  return move(ctx, job, "inferred", { salt, responseText: text, responseHash });
}

type Seat = { record: OnChainRecord; members: MemberState[]; me: MemberState; now: number };

/**
 * Reads the request, its committee and chain time for a commit, respond, decline or reveal. Before anyone drew the
 * committee, `previewCommittee` stands in for it (our first transaction will draw it; near the end of the seed's
 * blockhash window the seat finder, jobs/seats.ts, draws it instead). A job whose request moved to
 * another attempt, or whose validator is not on the committee, is settled as timed out here; anything else that is not
 * a seat to act on comes back as the step's result.
 */
export async function readSeat(ctx: StepContext, job: Job): Promise<{ seat: Seat } | { result: StepResult }> {
  const read = await ctx.chain.readSeat(job.requestId);
  const { record, now } = read;
  let { members } = read;
  // After a reorg a request id can name another request (ids are sequential): never commit or reveal an answer to a
  // prompt the chain no longer has under this id. The listener rolls such a job back; until then it waits.
  if (record.promptHash.toLowerCase() !== job.promptHash.toLowerCase()) {
    ctx.log.warn({ requestId: job.requestId.toString(), validator: job.validator }, "request changed on-chain (reorg?), waiting");
    return { result: deferred(ctx.shortWaitMs * 5) };
  }
  if (record.attempt !== job.round) {
    return { result: move(ctx, job, "timed_out", { lastError: `request moved to attempt ${record.attempt}` }) };
  }
  const drawn = members.length > 0;
  if (!drawn && record.status === RequestStatus.Requested) {
    const preview = await ctx.chain.previewCommittee(job.requestId);
    if (!preview.ready) return { result: deferred(ctx.shortWaitMs) };
    members = preview.committee.map((validator) => idleMember(validator));
  }
  const me = members.find((m) => m.validator.toLowerCase() === job.validator.toLowerCase());
  if (!me) {
    if (record.status === RequestStatus.Declined || record.status === RequestStatus.TimedOut) return { result: awaitingEvent(ctx.eventWaitMs) };
    // Only the draw decides: a lost seed is renewed and the new seed previews another committee, which the draw may
    // still seat this job in (its CommitteeDrawn adds no second job for the seat, it nudges this one). Closing the job
    // on a preview would leave that seat a no-show, slashed.
    if (!drawn) return { result: awaitingEvent(ctx.eventWaitMs) };
    return { result: move(ctx, job, "timed_out", { lastError: "not on the current committee" }) };
  }
  return { seat: { record, members, me, now } };
}

/** Commits (and declines, and a committee of one's respond) are open while the request is Requested or Committed. */
function commitsOpen(record: OnChainRecord): boolean {
  return record.status === RequestStatus.Requested || record.status === RequestStatus.Committed;
}

/** Where a seat that did not take part ends when commits closed: the chain's outcome, as far as this job goes. */
function closedWithoutUs(ctx: StepContext, job: Job, record: OnChainRecord): StepResult {
  if (record.status === RequestStatus.Declined) return move(ctx, job, "declined", { lastError: "a quorum declined before this member" });
  if (record.status === RequestStatus.Finalized) return move(ctx, job, "finalized", { lastError: "finalized without this member" });
  return move(ctx, job, "timed_out", { lastError: "commit phase closed before this member acted" });
}

/** Declines the request the node cannot serve (see `declineReasonOf`); the decline is journaled as `commit_tx`. */
export async function declineStep(ctx: StepContext, job: Job, reason: number, detail: string): Promise<StepResult> {
  const read = await readSeat(ctx, job);
  if ("result" in read) return read.result;
  const { record, me, now } = read.seat;
  if (me.declined) return move(ctx, job, "declined", { commitBlock: job.seenBlock });
  if (me.committed) throw new NonRetryableError(`cannot decline request ${job.requestId}: already committed`);
  // A Declined request still takes the declines of seats that had not acted, until the commit deadline.
  const open = commitsOpen(record) || record.status === RequestStatus.Declined;
  if (!open || now > record.commitDeadline) return closedWithoutUs(ctx, job, record);
  const mined = await ctx.chain.send(
    job.validator,
    { kind: "decline", requestId: job.requestId, reason },
    { beforeBroadcast: (hash) => ctx.journal.recordTx(job, "commit", hash) },
  );
  const reasonName = DECLINE_REASON_NAMES[reason];
  ctx.log.info({ requestId: job.requestId.toString(), validator: job.validator, reason: reasonName, detail, tx: mined.hash }, "declined request");
  ctx.metrics.unservableRequestsTotal.inc({ reason: reasonName });
  return moved(moveAndNudge(ctx, job, "declined", { commitBlock: mined.blockNumber, lastError: `declined: ${reasonName} (${detail})` }));
}

/** inferred → committed: the commitment (or a committee of one's whole answer, see `respondStep`) is mined. */
export async function commitStep(ctx: StepContext, job: Job): Promise<StepResult> {
  const minedIn = await settleJournaledTx(ctx, job, "commit");
  if (minedIn !== undefined) return moved(moveAndNudge(ctx, job, "committed", { commitBlock: minedIn }));

  const read = await readSeat(ctx, job);
  if ("result" in read) return read.result;
  const { record, members, me, now } = read.seat;
  const commitment = computeCommitment(job.requestId, job.validator, job.responseHash as string, job.salt as string);
  if (me.revealed) return move(ctx, job, "committed", { commitBlock: job.seenBlock });
  if (me.declined) return move(ctx, job, "declined", { commitBlock: job.seenBlock });
  if (me.committed) {
    if (me.commitment.toLowerCase() !== commitment.toLowerCase()) {
      throw new NonRetryableError(`on-chain commitment ${me.commitment} is not the journaled one ${commitment}`);
    }
    return move(ctx, job, "committed", { commitBlock: job.seenBlock });
  }
  if (!commitsOpen(record)) return closedWithoutUs(ctx, job, record);
  if (now > record.commitDeadline) return move(ctx, job, "timed_out", { lastError: "commit phase closed before the commit" });
  if (members.length === 1) return respondStep(ctx, job, record);

  const mined = await ctx.chain.send(
    job.validator,
    {
      kind: "commit",
      requestId: job.requestId,
      commitment,
      // A second commit of this job (the first reverted or never reached the node) estimates its gas instead.
      gasLimit: job.commitTx ? undefined : commitGasLimit(members.length, record.committee.length === 0),
    },
    { beforeBroadcast: (hash) => ctx.journal.recordTx(job, "commit", hash) },
  );
  ctx.log.info({ requestId: job.requestId.toString(), validator: job.validator, tx: mined.hash, gasUsed: mined.gasUsed.toString() }, "committed response");
  return moved(moveAndNudge(ctx, job, "committed", { commitBlock: mined.blockNumber }));
}

/**
 * A committee of one: commit–reveal hides nothing, so the answer goes out in one `respond` that finalizes the record
 * (request + respond is the whole lifecycle). Journaled as the job's commit; the reveal step then finds the seat
 * revealed and the record final.
 */
export async function respondStep(ctx: StepContext, job: Job, record: OnChainRecord): Promise<StepResult> {
  const text = job.responseText as string;
  const mined = await ctx.chain.send(
    job.validator,
    {
      kind: "respond",
      requestId: job.requestId,
      text,
      gasLimit: job.commitTx
        ? undefined
        : revealGasLimit(1, Buffer.byteLength(text, "utf8"), record.callbackGasLimit) + (record.committee.length === 0 ? DRAW_GAS_PER_SEAT : 0n),
    },
    { beforeBroadcast: (hash) => ctx.journal.recordTx(job, "commit", hash) },
  );
  ctx.log.info({ requestId: job.requestId.toString(), validator: job.validator, tx: mined.hash, gasUsed: mined.gasUsed.toString() }, "responded");
  return moved(moveAndNudge(ctx, job, "committed", { commitBlock: mined.blockNumber }));
}

/** This node's jobs for the request's other members in the same round. */
function siblingsOf(ctx: StepContext, job: Job): Job[] {
  const validator = job.validator.toLowerCase();
  return ctx.journal.jobsOfRequest(job.requestId).filter((j) => j.round === job.round && j.validator.toLowerCase() !== validator);
}

/** committed → revealed once reveals open (every member committed, or the commit deadline passed). */
export async function revealStep(ctx: StepContext, job: Job): Promise<StepResult> {
  const minedIn = await settleJournaledTx(ctx, job, "reveal");
  if (minedIn !== undefined) return moved(moveAndNudge(ctx, job, "revealed", { revealBlock: minedIn }));
  // Decided without a chain read where the journal already knows: while another of this node's members of the
  // request has no mined commit (or decline), reveals are not open yet (its event nudges this job).
  if (siblingsOf(ctx, job).some((j) => j.state === "seen" || j.state === "inferred")) return awaitingEvent(ctx.eventWaitMs);

  const read = await readSeat(ctx, job);
  if ("result" in read) return read.result;
  const { record, members, me, now } = read.seat;
  if (me.revealed) {
    const at = { revealBlock: job.commitBlock ?? job.seenBlock };
    // Revealed into (or, responding, as) the final record: its RecordFinalized may be applied already.
    return move(ctx, job, record.status === RequestStatus.Finalized ? "finalized" : "revealed", at);
  }
  // A quorum declined: this commit contradicts the outcome whatever it reveals; RequestDeclined closes the job.
  if (record.status === RequestStatus.Declined || record.status === RequestStatus.TimedOut) return awaitingEvent(ctx.eventWaitMs);
  const allCommitted = members.every((m) => m.committed || m.declined);
  // The contract opens reveals once every member committed, or strictly after the commit deadline.
  if (!allCommitted && now <= record.commitDeadline) {
    return awaitingEvent(Math.min(ctx.eventWaitMs, Math.max(ctx.shortWaitMs, (record.commitDeadline - now + 1) * 1000)));
  }
  if (now > record.revealDeadline) return move(ctx, job, "timed_out", { lastError: "reveal phase closed before the reveal" });
  const delay = ctx.revealDelayMs?.(job.validator) ?? 0;
  if (delay > 0 && (ctx.now ?? Date.now)() - job.updatedAt < delay) return deferred(delay);
  // Every committed member reveals, after the quorum too: reveals stay open until the reveal deadline and an agreeing
  // late reveal is paid its share (not revealing would be slashed at `settle`).
  const late = record.status === RequestStatus.Finalized;

  const text = job.responseText as string;
  const mined = await ctx.chain.send(
    job.validator,
    {
      kind: "reveal",
      requestId: job.requestId,
      text,
      salt: job.salt as string,
      // A second reveal of this job (the first reverted or never reached the node) estimates its gas instead.
      gasLimit: job.revealTx ? undefined : revealGasLimit(members.length, Buffer.byteLength(text, "utf8"), record.callbackGasLimit),
    },
    { beforeBroadcast: (hash) => ctx.journal.recordTx(job, "reveal", hash) },
  );
  ctx.log.info({ requestId: job.requestId.toString(), validator: job.validator, tx: mined.hash, gasUsed: mined.gasUsed.toString(), late }, "revealed response");
  const revealed = moveAndNudge(ctx, job, "revealed", { revealBlock: mined.blockNumber });
  return late ? move(ctx, revealed, "finalized", { revealBlock: mined.blockNumber }) : moved(revealed);
}

/**
 * Done on our side; RecordFinalized / RequestTimedOut close the job. RecordFinalized leaves committed jobs open (they
 * may still reveal), so when our own reveal finalized the record its event may have been applied before the job got
 * here: the chain says so then. Looked at again later in case a reorg dropped the reveal.
 */
export async function awaitOutcomeStep(ctx: StepContext, job: Job): Promise<StepResult> {
  const { record } = await ctx.chain.readSeat(job.requestId);
  if (record.attempt === job.round && record.status === RequestStatus.Finalized) return move(ctx, job, "finalized");
  return awaitingEvent(Math.max(ctx.shortWaitMs * 20, 2_000));
}

/** The step for the job's state; undefined for a state no step moves (terminal). */
export function stepFor(state: JobState): ((ctx: StepContext, job: Job) => Promise<StepResult>) | undefined {
  switch (state) {
    case "seen":
      return inferStep;
    case "inferred":
      return commitStep;
    case "committed":
      return revealStep;
    case "revealed":
      return awaitOutcomeStep;
    default:
      return undefined;
  }
}

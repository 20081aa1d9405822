import type { ChatRegistryClient } from "../chain/chatRegistry";
import type { HeadTracker } from "../chain/heads";
import type { Submitter } from "../chain/submitter";
import { type ThreadReader, renderWith } from "../chain/threads";
import { backoffDelayMs } from "../backoff";
import type { Common } from "../common";
import { NonRetryableError, stepRetryOf } from "../errors";
import type { GenerateResult, InferenceEngine } from "../inference";
import { type ContentStore, hashText } from "../store/contentStore";
import type { Job, JobKey, Journal } from "./journal";
import { InvalidJobTransitionError, isTerminal } from "./states";
import { createStepChain } from "./stepChain";
import { type StepChain, type StepContext, type StepResult, stepFor } from "./steps";

export { COMMIT_GAS_LIMIT, DRAW_GAS_PER_SEAT, commitGasLimit, revealGasLimit } from "./steps";

export interface PipelineOptions {
  journal: Journal;
  engine: InferenceEngine;
  registry: ChatRegistryClient;
  /** Chain time and the block the shared seat reads belong to. */
  heads: Pick<HeadTracker, "current">;
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
  /** The chain as the steps see it; built from `registry`, `heads` and `submitters` when not given. */
  chain?: StepChain;
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

/** After a wake-up, the pipeline loop waits this long for more before scanning the journal for due jobs. */
const WAKE_COALESCE_MS = 3;
/** The longest the loop sleeps without a wake-up or a due job. */
const MAX_IDLE_WAIT_MS = 1_000;

/**
 * The validator pipeline: for every active job of the journal, the next step toward finalization —
 * seen → (inference) inferred → (commit tx) committed → (reveal tx) revealed → (RecordFinalized event) finalized.
 * A committee of one sends `respond` instead of commit and reveal; a request the node cannot serve is declined
 * (`declineRequest`) instead of answered. Committed members reveal after the quorum too, until the reveal deadline.
 * The steps are in steps.ts; this is the loop: it scans the journal for due jobs (at once when woken, else every
 * poll), runs each job's steps until one puts it off, and turns failures into back-off or a failed job.
 *
 * Exactly-once: the salt and response are journaled before the commit is signed, and each transaction's hash before
 * it is broadcast. Before signing anything, a step first asks the chain (receipt of the journaled hash, then the
 * member's commit/reveal state), so a node restarted at any point never sends a second commit or reveal.
 */
export function createPipeline(common: Common, options: PipelineOptions): Pipeline {
  const { config, logger, metrics } = common;
  const { journal, engine } = options;
  const log = logger.child({ component: "pipeline" });
  // A running job mostly waits for its transaction's block; at 64, three jobs a request capped the node near 40 req/s.
  const concurrency = options.concurrency ?? 256;
  const running = new Map<string, Promise<void>>();
  const generations = new Map<string, Promise<GenerateResult>>();
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

  const keyOf = (job: JobKey) => `${job.requestId}:${job.validator}:${job.round}`;

  function wake() {
    nudges++;
    wakeUp?.();
  }

  let depthAt = 0;
  /** The journal-depth gauge, refreshed at most once a second (counting scans the state index). */
  function refreshDepth(force = false) {
    if (!force && Date.now() - depthAt < 1_000) return;
    depthAt = Date.now();
    for (const [state, n] of Object.entries(journal.countByState())) metrics.journalDepth.set({ state }, n);
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

  const steps: StepContext = {
    journal,
    chain: options.chain ?? createStepChain({ registry: options.registry, heads: options.heads, submitters: options.submitters }),
    engine,
    generate,
    modelPrompt: options.threads ? (job) => options.threads!.modelPrompt(job.requestId, job.prompt, renderWith(engine)) : undefined,
    contentStore: options.contentStore,
    log,
    metrics,
    shortWaitMs: shortWait,
    /**
     * How long a job waits for something an event will announce (all members committed, a reveal mined, the record
     * final): the listener nudges it as soon as the event arrives, so this is only the fallback re-check, and a job
     * does not re-read the chain every block meanwhile.
     */
    eventWaitMs: Math.max(1_000, 50 * shortWait),
    wake,
    alterResponse: options.alterResponse,
    revealDelayMs: options.revealDelayMs,
  };

  /** Runs the job's steps until it is done or a step puts it off; returns how it was put off. */
  async function advance(start: Job): Promise<Exclude<StepResult, { kind: "moved" }> | undefined> {
    let job: Job | undefined = start;
    while (job && !isTerminal(job.state) && !stopping) {
      const step = stepFor(job.state);
      if (!step) return undefined;
      const result = await step(steps, job);
      refreshDepth();
      if (result.kind !== "moved") return result;
      // An event may have closed the job meanwhile; continue from what the journal says.
      job = journal.get(result.job);
    }
    return undefined;
  }

  async function processJob(job: Job): Promise<void> {
    const nudgesAtStart = nudges;
    try {
      const putOff = await advance(job);
      if (putOff?.kind === "deferred") journal.defer(job, Date.now() + putOff.delayMs);
      else if (putOff?.kind === "awaiting_event") {
        // Events applied while this step ran may have nudged the job before it deferred (a lost wake-up): look again
        // soon instead of after the whole fallback wait.
        journal.defer(job, Date.now() + (nudges !== nudgesAtStart ? shortWait : putOff.fallbackMs));
      }
    } catch (error) {
      if (error instanceof InvalidJobTransitionError) return; // an event closed the job while we worked on it
      const current = journal.get(job) ?? job;
      if (isTerminal(current.state)) return;
      const message = (error as Error).message;
      const retry = stepRetryOf(error, current.txAttempts);
      if (retry === "decide_again") {
        // Lost a race with the chain (e.g. a phase just ended): re-read the chain before deciding again.
        journal.recordFailure(job, message, Date.now() + backoffDelayMs(jobRetry, current.txAttempts));
        return;
      }
      if (retry === "retry") {
        journal.recordFailure(job, message, Date.now() + backoffDelayMs(jobRetry, current.failures + 1));
        log.warn({ requestId: job.requestId.toString(), validator: job.validator, state: current.state, err: error }, "job step failed, will retry");
        return;
      }
      metrics.requestsTotal.inc({ status: "failed" });
      log.error({ requestId: job.requestId.toString(), validator: job.validator, state: current.state, err: error }, "job failed");
      try {
        journal.move(current, "failed", { lastError: message });
        refreshDepth();
      } catch {
        // closed by an event meanwhile
      }
    }
  }

  /**
   * How long the loop may sleep when nothing wakes it: until the earliest put-off job is due. Everything else that
   * makes a job due wakes the loop (events, seats found, jobs finishing, resume); the cap only bounds what a missed
   * wake-up could cost. Scanning the journal every poll interval instead cost each node a query every 20 ms.
   */
  function idleWaitMs(): number {
    const now = Date.now();
    const next = journal.nextDueAt(now);
    return Math.max(1, Math.min(next === undefined ? MAX_IDLE_WAIT_MS : next - now + 1, MAX_IDLE_WAIT_MS));
  }

  async function run() {
    refreshDepth(true);
    while (!stopping) {
      try {
        const due = paused ? [] : journal.dueJobKeys(Date.now(), concurrency * 2);
        for (const dueKey of due) {
          const key = keyOf(dueKey);
          if (running.has(key) || running.size >= concurrency) continue;
          const job = journal.get(dueKey);
          if (!job) continue;
          const work = processJob(job).finally(() => {
            running.delete(key);
            wakeUp?.();
          });
          running.set(key, work);
        }
        refreshDepth();
      } catch (error) {
        metrics.unhandledErrorsTotal.inc();
        log.error({ err: error }, "pipeline loop failed");
      }
      await new Promise<void>((resolve) => {
        let timer = setTimeout(done, idleWaitMs());
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

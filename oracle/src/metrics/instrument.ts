import type { Database } from "../store/database";
import type { InferenceEngine } from "../inference";
import type { Journal, JobKey } from "../jobs/journal";
import { ACTIVE_STATES } from "../jobs/states";
import type { Metrics } from ".";

/**
 * The engine with every call counted: failures by priority, and the wall time of on-chain runs (POST /v1/chat
 * observes its own runs in `inference_seconds`, also where no node wraps the engine, e.g. the API tests).
 */
export function instrumentEngine(engine: InferenceEngine, metrics: Metrics): InferenceEngine {
  return {
    get modelDir() {
      return engine.modelDir;
    },
    get modelHash() {
      return engine.modelHash;
    },
    get provider() {
      return engine.provider;
    },
    get maxContext() {
      return engine.maxContext;
    },
    countPromptTokens: (prompt) => engine.countPromptTokens(prompt),
    async generate(options) {
      const priority = options.priority ?? "chain";
      const timer = priority === "chain" ? metrics.inferenceSeconds.startTimer() : undefined;
      try {
        return await engine.generate(options);
      } catch (error) {
        metrics.inferenceFailuresTotal.inc({ priority });
        throw error;
      } finally {
        timer?.();
      }
    },
    ...(engine.health ? { health: () => engine.health!() } : {}),
    ...(engine.onDeadlineMissed ? { onDeadlineMissed: (listener: (deadlineMs: number) => void) => engine.onDeadlineMissed!(listener) } : {}),
    close: () => engine.close(),
  };
}

/** Jobs whose first sight this process remembers for the timing histograms, at most (oldest dropped first). */
const MAX_TIMED_JOBS = 100_000;

/**
 * The journal with job timings observed: `time_to_commit_seconds` when a job moves to `committed`,
 * `time_to_finalize_seconds` when it reaches `finalized`, both from when this process added it (jobs added before a
 * restart are not timed).
 */
export function instrumentJournal(journal: Journal, metrics: Metrics, now: () => number = Date.now): Journal {
  const seenAt = new Map<string, number>();
  const keyOf = (k: JobKey) => `${k.requestId}/${k.validator.toLowerCase()}/${k.round}`;
  function observe(key: JobKey, state: string) {
    const id = keyOf(key);
    const at = seenAt.get(id);
    if (at === undefined) return;
    const seconds = (now() - at) / 1000;
    if (state === "committed") metrics.timeToCommitSeconds.observe(seconds);
    if (state === "finalized") metrics.timeToFinalizeSeconds.observe(seconds);
    if (!ACTIVE_STATES.includes(state as (typeof ACTIVE_STATES)[number])) seenAt.delete(id);
  }
  return {
    ...journal,
    addJob(job) {
      const added = journal.addJob(job);
      if (added) {
        if (seenAt.size >= MAX_TIMED_JOBS) seenAt.delete(seenAt.keys().next().value as string);
        seenAt.set(keyOf(job), now());
      }
      return added;
    },
    move(key, to, update) {
      const before = journal.get(key)?.state;
      const moved = journal.move(key, to, update);
      if (before !== to) observe(key, to);
      return moved;
    },
    // Every argument passed on as given, so a parameter the journal adds is never dropped here.
    closeRequest(...args: Parameters<Journal["closeRequest"]>) {
      const closed = journal.closeRequest(...args);
      for (const job of closed) observe(job, args[1]);
      return closed;
    },
  };
}

/**
 * Brings the job gauges up to date before a scrape: depth per state and the oldest active job's age (read from the
 * journal's table, which keeps when each job was added).
 */
export function jobGaugeRefresher(db: Database, journal: Journal, metrics: Metrics, now: () => number = Date.now): () => void {
  const placeholders = ACTIVE_STATES.map(() => "?").join(", ");
  const oldest = db.prepare(`SELECT MIN(created_at) AS at FROM journal_jobs WHERE state IN (${placeholders})`);
  return () => {
    for (const [state, count] of Object.entries(journal.countByState())) metrics.journalDepth.set({ state }, count);
    const row = oldest.get(...ACTIVE_STATES) as { at: number | null };
    metrics.oldestJobAgeSeconds.set(row.at === null ? 0 : Math.max(0, (now() - row.at) / 1000));
  };
}

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/** Every metric name starts with this, so one scrape config can select the whole service. */
export const METRIC_PREFIX = "chat_oracle_";

/** The node's Prometheus metrics; one instance per process (or per test), never a global. */
export interface Metrics {
  readonly registry: Registry;
  /** Chat requests handled by this node, by final status (finalized, timed_out, failed, ...). */
  readonly requestsTotal: Counter<"status">;
  /** Wall time of one inference call. */
  readonly inferenceSeconds: Histogram<string>;
  /** Decoding speed of the last inference call. */
  readonly inferenceTokensPerSecond: Gauge<string>;
  /** Time from sending a transaction to its receipt, by kind (commit, reveal, timeout, anchor, ...). */
  readonly txSeconds: Histogram<"kind">;
  /** Transactions that failed for good, by kind and a short reason code. */
  readonly txFailuresTotal: Counter<"kind" | "reason">;
  /** Sending attempts that failed and were tried again, by kind (the transaction may still go through). */
  readonly txRetriesTotal: Counter<"kind">;
  /** Journal rows per state (seen, inferred, committed, revealed, ...). */
  readonly journalDepth: Gauge<"state">;
  /** JSON-RPC calls that threw. */
  readonly rpcErrorsTotal: Counter<string>;
  /** Errors no handler expected (HTTP error handler, main loop). */
  readonly unhandledErrorsTotal: Counter<string>;
  /** Latest block number the RPC reported. */
  readonly chainHeadBlock: Gauge<string>;
  /** Latest block the chain listener has fully processed. */
  readonly processedBlock: Gauge<string>;
  /** HTTP responses by route pattern and status code. */
  readonly httpRequestsTotal: Counter<"route" | "code">;
  /** Off-chain chat records stored through POST /v1/chat. */
  readonly recordsTotal: Counter<string>;
  /** Merkle batches sent for anchoring, by outcome (BATCH_OUTCOMES). */
  readonly batchesTotal: Counter<"outcome">;
  /** Records waiting for the next anchor. */
  readonly pendingBatchRecords: Gauge<string>;
  /** Chain events the listener recorded and skipped, by reason (undecodable, apply_failed). */
  readonly listenerSkippedEventsTotal: Counter<"reason">;
  /** Requests the node cannot serve and leaves to the decline path, by reason (invalid_utf8, ...). */
  readonly unservableRequestsTotal: Counter<"reason">;
  /** Balance of each of the node's keys, in ether. */
  readonly walletBalanceEther: Gauge<"address">;
  /** Inference runs that missed their watchdog deadline (the worker was replaced each time). */
  readonly inferenceDeadlinesMissedTotal: Counter<string>;
  /** Times another process was found sending from one of the node's keys. */
  readonly foreignNoncesTotal: Counter<"address">;
  /** 1 while a key's sending is paused because another process sends from it. */
  readonly sendingPaused: Gauge<"address">;
  /** Seconds from a job being seen to its commit (jobs seen by this process). */
  readonly timeToCommitSeconds: Histogram<string>;
  /** Seconds from a job being seen to its request's finalization (jobs seen by this process). */
  readonly timeToFinalizeSeconds: Histogram<string>;
  /** Age of the oldest job not yet in a terminal state. */
  readonly oldestJobAgeSeconds: Gauge<string>;
  /** Open GET /v1/events streams. */
  readonly sseSubscribers: Gauge<string>;
  /** Chain listener polls that failed (RPC errors; the listener backs off and retries). */
  readonly listenerFailuresTotal: Counter<string>;
  /** Inference calls that threw, by priority (chain, http). */
  readonly inferenceFailuresTotal: Counter<"priority">;
  /** Run before each scrape to bring gauges read from elsewhere (database, HTTP hub) up to date. */
  readonly beforeScrape: Set<() => void>;
}

export interface CreateMetricsOptions {
  /** Also collect Node.js process metrics (CPU, heap, event loop); off in tests to keep scrapes small. */
  collectProcessMetrics?: boolean;
}

/** Builds a fresh registry with every metric of the node registered on it. */
export function createMetrics(options: CreateMetricsOptions = {}): Metrics {
  const registry = new Registry();
  if (options.collectProcessMetrics) collectDefaultMetrics({ register: registry, prefix: METRIC_PREFIX });
  const registers = [registry];
  const name = (suffix: string) => METRIC_PREFIX + suffix;

  return {
    registry,
    requestsTotal: new Counter({
      name: name("requests_total"),
      help: "Chat requests handled by this node, by final status",
      labelNames: ["status"] as const,
      registers,
    }),
    inferenceSeconds: new Histogram({
      name: name("inference_seconds"),
      help: "Wall time of one inference call in seconds",
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    inferenceTokensPerSecond: new Gauge({
      name: name("inference_tokens_per_second"),
      help: "Generated tokens per second of the last inference call",
      registers,
    }),
    txSeconds: new Histogram({
      name: name("tx_seconds"),
      help: "Seconds from sending a transaction to its receipt, by kind",
      labelNames: ["kind"] as const,
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120],
      registers,
    }),
    txFailuresTotal: new Counter({
      name: name("tx_failures_total"),
      help: "Transactions that failed for good, by kind and reason",
      labelNames: ["kind", "reason"] as const,
      registers,
    }),
    txRetriesTotal: new Counter({
      name: name("tx_retries_total"),
      help: "Sending attempts that failed and were tried again, by kind (the transaction may still go through)",
      labelNames: ["kind"] as const,
      registers,
    }),
    journalDepth: new Gauge({
      name: name("journal_depth"),
      help: "Journal rows per job state",
      labelNames: ["state"] as const,
      registers,
    }),
    rpcErrorsTotal: new Counter({ name: name("rpc_errors_total"), help: "JSON-RPC calls that threw", registers }),
    unhandledErrorsTotal: new Counter({
      name: name("unhandled_errors_total"),
      help: "Errors that reached a last-resort handler",
      registers,
    }),
    chainHeadBlock: new Gauge({ name: name("chain_head_block"), help: "Latest block number seen on the RPC", registers }),
    processedBlock: new Gauge({
      name: name("processed_block"),
      help: "Latest block fully processed by the chain listener",
      registers,
    }),
    httpRequestsTotal: new Counter({
      name: name("http_requests_total"),
      help: "HTTP responses by route pattern and status code",
      labelNames: ["route", "code"] as const,
      registers,
    }),
    recordsTotal: new Counter({ name: name("records_total"), help: "Off-chain chat records stored", registers }),
    batchesTotal: new Counter({
      name: name("batches_total"),
      help: "Merkle batches of records sent for anchoring, by outcome",
      labelNames: ["outcome"] as const,
      registers,
    }),
    pendingBatchRecords: new Gauge({
      name: name("pending_batch_records"),
      help: "Records waiting for the next Merkle batch anchor",
      registers,
    }),
    listenerSkippedEventsTotal: new Counter({
      name: name("listener_skipped_events_total"),
      help: "Chain events the listener could not decode or apply, recorded and skipped, by reason",
      labelNames: ["reason"] as const,
      registers,
    }),
    unservableRequestsTotal: new Counter({
      name: name("unservable_requests_total"),
      help: "Chat requests this node declined on-chain because it cannot serve them, by reason",
      labelNames: ["reason"] as const,
      registers,
    }),
    walletBalanceEther: new Gauge({
      name: name("wallet_balance_ether"),
      help: "Balance of each of the node's keys in ether (read every 15 s and before each anchor)",
      labelNames: ["address"] as const,
      registers,
    }),
    inferenceDeadlinesMissedTotal: new Counter({
      name: name("inference_deadlines_missed_total"),
      help: "Inference runs that missed their watchdog deadline; each replaced the inference worker",
      labelNames: [],
      registers,
    }),
    foreignNoncesTotal: new Counter({
      name: name("foreign_nonces_total"),
      help: "Times another process was found sending from one of the node's keys (sending then pauses)",
      labelNames: ["address"] as const,
      registers,
    }),
    sendingPaused: new Gauge({
      name: name("sending_paused"),
      help: "1 while a key's sending is paused because another process sends from it",
      labelNames: ["address"] as const,
      registers,
    }),
    timeToCommitSeconds: new Histogram({
      name: name("time_to_commit_seconds"),
      help: "Seconds from a job being seen by this node to its commit",
      buckets: [0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600],
      registers,
    }),
    timeToFinalizeSeconds: new Histogram({
      name: name("time_to_finalize_seconds"),
      help: "Seconds from a job being seen by this node to its request's finalization",
      buckets: [1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800, 3600],
      registers,
    }),
    oldestJobAgeSeconds: new Gauge({
      name: name("oldest_job_age_seconds"),
      help: "Age of the oldest job not in a terminal state (0 when none)",
      registers,
    }),
    sseSubscribers: new Gauge({ name: name("sse_subscribers"), help: "Open GET /v1/events streams", registers }),
    listenerFailuresTotal: new Counter({
      name: name("listener_failures_total"),
      help: "Chain listener polls that failed (the listener backs off and retries)",
      registers,
    }),
    inferenceFailuresTotal: new Counter({
      name: name("inference_failures_total"),
      help: "Inference calls that threw, by priority (chain, http)",
      labelNames: ["priority"] as const,
      registers,
    }),
    beforeScrape: new Set(),
  };
}

/** Every outcome `batchesTotal` counts, so views can show zeros for those that have not happened yet. */
export const BATCH_OUTCOMES = ["anchored", "failed", "unconfirmed", "held_budget", "held_reserve"] as const;

/** Reads the current value of an unlabelled gauge or counter (or the sum over its labels), for the JSON views. */
export async function readMetricValue(metric: Counter<string> | Gauge<string>): Promise<number> {
  const { values } = await metric.get();
  return values.reduce((sum, v) => sum + v.value, 0);
}

/** Reads a labelled gauge or counter as `{labelValue: value}` keyed by one label. */
export async function readMetricByLabel(
  metric: Counter<string> | Gauge<string>,
  label: string,
): Promise<Record<string, number>> {
  const { values } = await metric.get();
  const out: Record<string, number> = {};
  for (const v of values) {
    const key = String(v.labels[label] ?? "");
    out[key] = (out[key] ?? 0) + v.value;
  }
  return out;
}

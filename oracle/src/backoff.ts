/** How a retried step backs off: `baseMs` before the first retry, doubling each time up to `capMs`. */
export interface BackoffPolicy {
  baseMs: number;
  capMs: number;
  /** Spread retries over [50 %, 100 %] of the delay, so many callers failing together do not retry together. */
  jitter?: boolean;
}

/**
 * The node's one back-off rule (chain polls, transaction retries, job retries, anchors): the delay before retry
 * number `attempt` (1 = the first) is baseMs · 2^(attempt − 1), never above capMs.
 */
export function backoffDelayMs(policy: BackoffPolicy, attempt: number, random: () => number = Math.random): number {
  const exponent = Math.min(Math.max(Math.floor(attempt), 1) - 1, 30);
  const delay = Math.min(policy.capMs, policy.baseMs * 2 ** exponent);
  return policy.jitter ? delay * (0.5 + random() / 2) : delay;
}

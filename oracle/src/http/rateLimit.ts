import type { RequestHandler } from "express";
import { HttpError } from "./errors";

export interface RateLimitOptions {
  /** Sustained requests per client per minute; also the burst size (a full bucket). */
  perMinute: number;
  /** Clock in ms; tests pass a fake one to refill without waiting. */
  now?: () => number;
  /** Buckets kept before idle full ones are dropped, so many clients cannot grow memory without bound. */
  maxClients?: number;
}

export interface TokenBucketLimiter {
  /** Takes one token for `client`; returns 0 when allowed, else the seconds until a token is back. */
  take(client: string): number;
  readonly size: number;
}

/**
 * One token bucket per client: capacity `perMinute`, refilled continuously at `perMinute / 60` tokens per second.
 * A bucket is just (tokens, last refill time), refilled lazily when the client comes back.
 */
export function createTokenBucketLimiter(options: RateLimitOptions): TokenBucketLimiter {
  const capacity = options.perMinute;
  const refillPerMs = options.perMinute / 60_000;
  const now = options.now ?? Date.now;
  const maxClients = options.maxClients ?? 10_000;
  const buckets = new Map<string, { tokens: number; at: number }>();

  function evictFullBuckets(at: number) {
    for (const [client, bucket] of buckets) {
      if (bucket.tokens + (at - bucket.at) * refillPerMs >= capacity) buckets.delete(client);
    }
    // Still too many active clients: drop the oldest (Map keeps insertion order), which can only favour them.
    for (const client of buckets.keys()) {
      if (buckets.size < maxClients) break;
      buckets.delete(client);
    }
  }

  return {
    take(client) {
      const at = now();
      let bucket = buckets.get(client);
      if (!bucket) {
        if (buckets.size >= maxClients) evictFullBuckets(at);
        bucket = { tokens: capacity, at };
        buckets.set(client, bucket);
      }
      bucket.tokens = Math.min(capacity, bucket.tokens + (at - bucket.at) * refillPerMs);
      bucket.at = at;
      if (bucket.tokens >= 1) {
        bucket.tokens -= 1;
        return 0;
      }
      return Math.ceil((1 - bucket.tokens) / refillPerMs / 1000);
    },
    get size() {
      return buckets.size;
    },
  };
}

/** Express middleware: 429 `rate_limited` with Retry-After once a client's bucket is empty. Clients are keyed by IP. */
export function rateLimitMiddleware(limiter: TokenBucketLimiter): RequestHandler {
  return (req, _res, next) => {
    const client = req.ip ?? req.socket.remoteAddress ?? "unknown";
    const retryAfterSeconds = limiter.take(client);
    if (retryAfterSeconds === 0) return next();
    next(
      new HttpError(429, "rate_limited", `too many requests; retry in ${retryAfterSeconds} s`, {
        "Retry-After": String(retryAfterSeconds),
      }),
    );
  };
}

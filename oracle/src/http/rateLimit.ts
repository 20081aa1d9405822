import type { Request, RequestHandler } from "express";
import { isIPv6 } from "node:net";
import { HttpError } from "./errors";

export interface RateLimitOptions {
  /** Sustained units (requests, or tokens requested) per client per minute; also the burst size (a full bucket). */
  perMinute: number;
  /** Clock in ms; tests pass a fake one to refill without waiting. */
  now?: () => number;
  /** Buckets kept before idle full ones are dropped, so many clients cannot grow memory without bound. */
  maxClients?: number;
}

export interface TokenBucketLimiter {
  /**
   * Takes `cost` units (default 1; more than a full bucket counts as a full bucket) for `client`; returns 0 when
   * allowed, else the seconds until that many are back (nothing is taken then).
   */
  take(client: string, cost?: number): number;
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
    take(client, cost = 1) {
      const units = Math.min(Math.max(cost, 0), capacity);
      const at = now();
      let bucket = buckets.get(client);
      if (!bucket) {
        if (buckets.size >= maxClients) evictFullBuckets(at);
        bucket = { tokens: capacity, at };
        buckets.set(client, bucket);
      }
      bucket.tokens = Math.min(capacity, bucket.tokens + (at - bucket.at) * refillPerMs);
      bucket.at = at;
      if (bucket.tokens >= units) {
        bucket.tokens -= units;
        return 0;
      }
      return Math.ceil((units - bucket.tokens) / refillPerMs / 1000);
    },
    get size() {
      return buckets.size;
    },
  };
}

/**
 * The rate-limit key of an address: an IPv4 address itself (also when IPv4-mapped, `::ffff:1.2.3.4`), an IPv6
 * address by its /64 prefix (one subscriber usually holds a whole /64, so per-address keys would give them 2^64
 * buckets).
 */
export function clientKey(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1];
  if (!isIPv6(address)) return address;
  const [head, tail = ""] = address.split("%")[0].split("::");
  const left = head ? head.split(":") : [];
  const right = address.includes("::") && tail ? tail.split(":") : [];
  // An embedded IPv4 tail takes two groups; only the first four groups matter here, so it needs no decoding.
  const groups = address.includes("::") ? [...left, ...new Array<string>(8 - left.length - right.length).fill("0"), ...right] : left;
  return `${groups
    .slice(0, 4)
    .map((g) => parseInt(g, 16).toString(16))
    .join(":")}::/64`;
}

function clientOf(req: Request): string {
  return clientKey(req.ip ?? req.socket.remoteAddress ?? "unknown");
}

function rateLimited(retryAfterSeconds: number, what: string): HttpError {
  return new HttpError(429, "rate_limited", `${what}; retry in ${retryAfterSeconds} s`, { "Retry-After": String(retryAfterSeconds) });
}

/** Express middleware: 429 `rate_limited` with Retry-After once a client's bucket is empty (one unit per request). */
export function rateLimitMiddleware(limiter: TokenBucketLimiter): RequestHandler {
  return (req, _res, next) => {
    const retryAfterSeconds = limiter.take(clientOf(req));
    if (retryAfterSeconds === 0) return next();
    next(rateLimited(retryAfterSeconds, "too many requests"));
  };
}

/**
 * Charges a chat call the tokens it asks to generate (its cost is inference time, which grows with them) from the
 * client's token bucket; throws 429 `rate_limited` with Retry-After when they are not there.
 */
export function chargeTokens(limiter: TokenBucketLimiter, req: Request, tokens: number): void {
  const retryAfterSeconds = limiter.take(clientOf(req), tokens);
  if (retryAfterSeconds > 0) throw rateLimited(retryAfterSeconds, `${tokens} tokens requested exceed this client's token budget`);
}

/**
 * Per-client rate limits of the API: express-rate-limit runs the middleware (client key, headers, trust-proxy checks)
 * over a token bucket store, so a client's allowance refills continuously instead of all at once at a window's end.
 * The token budget of chat calls charges the tokens requested from a bucket under the same client key (the
 * library's stores count one hit per request, not a cost).
 */
import type { Request, RequestHandler } from "express";
import { type ClientRateLimitInfo, type Store, ipKeyGenerator, rateLimit } from "express-rate-limit";
import { HttpError } from "./errors";

/** IPv6 clients are keyed by their /64: one subscriber usually holds a whole /64 (2^64 addresses to rotate through). */
const IPV6_SUBNET = 64;

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
  /** Gives `cost` units back (a request the limiter should not have counted). */
  refund(client: string, cost?: number): void;
  /** Units a client has left now. */
  tokensOf(client: string): number;
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
    refund(client, cost = 1) {
      const bucket = buckets.get(client);
      if (bucket) bucket.tokens = Math.min(capacity, bucket.tokens + cost);
    },
    tokensOf(client) {
      const bucket = buckets.get(client);
      return bucket ? Math.min(capacity, bucket.tokens + (now() - bucket.at) * refillPerMs) : capacity;
    },
    get size() {
      return buckets.size;
    },
  };
}

/**
 * The rate-limit key of an address: an IPv4 address itself (also when IPv4-mapped, `::ffff:1.2.3.4`), an IPv6
 * address by its /64 prefix.
 */
export function clientKey(address: string): string {
  return ipKeyGenerator(address, IPV6_SUBNET);
}

function clientOf(req: Request): string {
  return clientKey(req.ip ?? req.socket.remoteAddress ?? "unknown");
}

function rateLimited(retryAfterSeconds: number, what: string): HttpError {
  return new HttpError(429, "rate_limited", `${what}; retry in ${retryAfterSeconds} s`, { "Retry-After": String(retryAfterSeconds) });
}

/** An express-rate-limit store over a token bucket: a hit takes one unit; a refused hit reports when one is back. */
export function tokenBucketStore(limiter: TokenBucketLimiter, capacity: number): Store {
  const infoOf = (key: string, waitSeconds: number): ClientRateLimitInfo => ({
    totalHits: waitSeconds === 0 ? Math.ceil(capacity - limiter.tokensOf(key)) : capacity + 1,
    resetTime: new Date(Date.now() + waitSeconds * 1000),
  });
  return {
    increment: (key) => infoOf(key, limiter.take(key)),
    decrement: (key) => limiter.refund(key),
    resetKey: (key) => limiter.refund(key, capacity),
    get: (key) => infoOf(key, 0),
  };
}

/** Express middleware: 429 `rate_limited` with Retry-After once a client's bucket is empty (one unit per request). */
export function rateLimitMiddleware(limiter: TokenBucketLimiter, perMinute: number): RequestHandler {
  return rateLimit({
    windowMs: 60_000,
    limit: perMinute,
    store: tokenBucketStore(limiter, perMinute),
    // The library's own key: ipKeyGenerator(req.ip, 64), as clientKey.
    ipv6Subnet: IPV6_SUBNET,
    standardHeaders: false,
    legacyHeaders: false,
    handler: (req, _res, next) => {
      const resetTime = (req as Request & { rateLimit?: { resetTime?: Date } }).rateLimit?.resetTime;
      const retryAfterSeconds = Math.max(1, Math.ceil(((resetTime?.getTime() ?? Date.now()) - Date.now()) / 1000));
      next(rateLimited(retryAfterSeconds, "too many requests"));
    },
  });
}

/**
 * Charges a chat call the tokens it asks to generate (its cost is inference time, which grows with them) from the
 * client's token bucket; throws 429 `rate_limited` with Retry-After when they are not there.
 */
export function chargeTokens(limiter: TokenBucketLimiter, req: Request, tokens: number): void {
  const retryAfterSeconds = limiter.take(clientOf(req), tokens);
  if (retryAfterSeconds > 0) throw rateLimited(retryAfterSeconds, `${tokens} tokens requested exceed this client's token budget`);
}

import { createHash, timingSafeEqual } from "node:crypto";
import type { RequestHandler } from "express";
import { ConfigError, readEntryLines } from "../config";
import { HttpError } from "./errors";

const digest = (text: string) => createHash("sha256").update(text, "utf8").digest();
const HASHED_LINE = /^sha256:([0-9a-f]{64})$/i;
/** Shortest raw key accepted: a guessable key would make the check pointless. */
export const MIN_API_KEY_CHARS = 16;

/** API keys as SHA-256 digests only: the raw keys are never kept in memory after loading. */
export interface ApiKeySet {
  readonly size: number;
  /** True when `presented` is one of the keys; compares every stored digest in constant time. */
  matches(presented: string): boolean;
}

/** The digest of one key entry: a raw key, or `sha256:<hex>` of one. Throws with the reason when it is neither. */
function entryDigest(entry: string): Buffer {
  const hashed = HASHED_LINE.exec(entry);
  if (hashed) return Buffer.from(hashed[1], "hex");
  if (entry.length < MIN_API_KEY_CHARS || /\s/.test(entry)) {
    throw new Error(`must be sha256:<64 hex> or a raw key of at least ${MIN_API_KEY_CHARS} characters without spaces`);
  }
  return digest(entry);
}

/** Builds the set from raw keys and `sha256:<hex>` entries; throws on a bad entry. */
export function createApiKeySet(entries: readonly string[]): ApiKeySet {
  const digests = entries.map(entryDigest);
  return {
    size: digests.length,
    matches(presented) {
      const candidate = digest(presented);
      let found = false;
      // No early exit: the time taken does not say which key (or how many) matched.
      for (const d of digests) found = timingSafeEqual(candidate, d) || found;
      return found;
    },
  };
}

/**
 * Reads `--api-keys`: one key per line, raw or `sha256:<hex>` (so the file need not hold the keys themselves); blank
 * lines and `#` comments are skipped. A missing file or bad line is a ConfigError naming the line.
 */
export function loadApiKeysFile(file: string): ApiKeySet {
  const entries = readEntryLines("api-keys", file).map(({ line, entry }) => {
    try {
      entryDigest(entry);
    } catch (error) {
      throw new ConfigError("api-keys", `${file} line ${line}: ${(error as Error).message}`, { cause: error });
    }
    return entry;
  });
  if (entries.length === 0) throw new ConfigError("api-keys", `${file} holds no keys`);
  return createApiKeySet(entries);
}

/**
 * Guards a route that spends the node's resources (POST /v1/chat: inference, then an anchor paid from a validator
 * key): without configured keys the route is off (403); otherwise the caller sends `X-API-Key: <key>` or
 * `Authorization: Bearer <key>`.
 */
export function requireApiKey(keys: ApiKeySet | undefined): RequestHandler {
  return (req, _res, next) => {
    if (!keys || keys.size === 0) {
      return next(new HttpError(403, "offchain_chat_disabled", "off-chain chat is off on this node (it has no API keys)"));
    }
    const bearer = /^Bearer\s+(\S+)$/i.exec(req.get("authorization") ?? "")?.[1];
    const presented = req.get("x-api-key") || bearer;
    if (!presented) return next(new HttpError(401, "unauthorized", "missing API key", { "WWW-Authenticate": 'Bearer realm="chat"' }));
    if (!keys.matches(presented)) return next(new HttpError(401, "unauthorized", "invalid API key", { "WWW-Authenticate": 'Bearer error="invalid_token"' }));
    next();
  };
}

import http from "node:http";
import https from "node:https";
import { type JsonRpcApiProviderOptions, JsonRpcProvider, type JsonRpcPayload, type JsonRpcResult, Network, isError } from "ethers";
import { NonRetryableError, OracleError, RetryableError } from "../errors";
import type { Metrics } from "../metrics";
import { backoffDelayMs } from "../backoff";

/**
 * A provider that never probes the network by itself: the chain id comes from the deployments file, so a node that
 * starts while the RPC is down does not spin in ethers' network detection, and every call fails fast instead
 * (the listener and submitter own the retrying). Calls made in the same tick of the event loop (a chain read's two
 * `eth_call`s, the receipts found in one block, several keys' broadcasts) go out as one JSON-RPC batch, with no stall
 * delay: one HTTP round trip instead of several, which on a local node costs as much CPU as the calls themselves.
 */
/**
 * The RPC URL as logs may show it: scheme, host and port only. Hosted endpoints carry their API key in the path, the
 * query or the user info (`https://eth.example/v3/KEY`, `wss://user:pass@…`), so all three become `[redacted]`.
 */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    const hidden = parsed.username || parsed.password || (parsed.pathname !== "/" && parsed.pathname !== "") || parsed.search || parsed.hash;
    return `${parsed.protocol}//${parsed.host}${hidden ? "/[redacted]" : ""}`;
  } catch {
    return "[redacted]";
  }
}

export function createProvider(rpcUrl: string, chainId: number): JsonRpcProvider {
  const network = Network.from(chainId);
  // cacheTimeout -1: ethers otherwise answers an identical call made within 250 ms from a cache, which hands out the
  // same "pending" nonce twice and hides new blocks.
  return new LeanJsonRpcProvider(rpcUrl, network, {
    staticNetwork: network,
    batchMaxCount: 32,
    batchStallTime: 0,
    polling: false,
    cacheTimeout: -1,
  });
}

/** Longest wait for one JSON-RPC answer. */
const RPC_REQUEST_TIMEOUT_MS = 120_000;

/**
 * ethers' JsonRpcProvider with a leaner transport: Node's own http client on a keep-alive agent, and the answer
 * decoded by `Buffer.toString` + `JSON.parse`. ethers' `FetchRequest` encodes and decodes bodies with its JavaScript
 * UTF-8 coder, which showed up as a tenth of the node's CPU under load (blocks, logs and receipts are long answers).
 * Failures keep the codes the rest of the service classifies (`SERVER_ERROR`, `TIMEOUT`, `BAD_DATA`, socket errors).
 */
class LeanJsonRpcProvider extends JsonRpcProvider {
  readonly #url: URL;
  readonly #agent: http.Agent;

  constructor(url: string, network: Network, options: JsonRpcApiProviderOptions) {
    super(url, network, options);
    this.#url = new URL(url);
    const secure = this.#url.protocol === "https:";
    this.#agent = secure ? new https.Agent({ keepAlive: true, maxSockets: 32 }) : new http.Agent({ keepAlive: true, maxSockets: 32 });
  }

  override async _send(payload: JsonRpcPayload | JsonRpcPayload[]): Promise<JsonRpcResult[]> {
    const body = JSON.stringify(payload);
    const client = this.#url.protocol === "https:" ? https : http;
    const text = await new Promise<string>((resolve, reject) => {
      const request = client.request(
        this.#url,
        {
          method: "POST",
          agent: this.#agent,
          headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
          timeout: RPC_REQUEST_TIMEOUT_MS,
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on("data", (chunk: Buffer) => chunks.push(chunk));
          response.on("error", reject);
          response.on("end", () => {
            if (response.statusCode !== 200) {
              reject(Object.assign(new Error(`rpc answered HTTP ${response.statusCode}`), { code: "SERVER_ERROR" }));
            } else resolve(Buffer.concat(chunks).toString("utf8"));
          });
        },
      );
      request.on("timeout", () => request.destroy(Object.assign(new Error("rpc request timeout"), { code: "TIMEOUT" })));
      request.on("error", reject);
      request.end(body);
    });
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw Object.assign(new Error(`rpc answered invalid JSON: ${text.slice(0, 80)}`), { code: "BAD_DATA", cause: error });
    }
    // Error answers ({ id, error }) come back in the same list; ethers tells them apart (its own type says results).
    return (Array.isArray(parsed) ? parsed : [parsed]) as JsonRpcResult[];
  }

  override destroy(): void {
    this.#agent.destroy();
    super.destroy();
  }
}

const RETRYABLE_CODES = new Set(["NETWORK_ERROR", "TIMEOUT", "SERVER_ERROR", "UNKNOWN_ERROR", "BAD_DATA"]);
const RETRYABLE_MESSAGES = /ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|socket hang up|fetch failed|network|timeout|503|502/i;

/** True for errors worth trying again (the RPC is down or overloaded); false for reverts, bad keys, bad input. */
export function isRetryableRpcError(error: unknown): boolean {
  if (error instanceof OracleError) return error instanceof RetryableError;
  if (isError(error, "CALL_EXCEPTION") || isError(error, "INSUFFICIENT_FUNDS") || isError(error, "INVALID_ARGUMENT")) {
    return false;
  }
  const code = (error as { code?: unknown })?.code;
  if (typeof code === "string" && RETRYABLE_CODES.has(code)) return true;
  const message = String((error as { message?: unknown })?.message ?? error);
  return RETRYABLE_MESSAGES.test(message) || RETRYABLE_MESSAGES.test(String((error as { cause?: unknown })?.cause ?? ""));
}

/**
 * Wraps an RPC failure into a RetryableError or NonRetryableError (cause kept), counting it as an RPC error; the
 * node's own errors pass through as they are.
 */
export function classifyRpcError(error: unknown, what: string, metrics?: Metrics): OracleError {
  if (error instanceof OracleError) return error;
  const message = shortMessage(error);
  if (isRetryableRpcError(error)) {
    metrics?.rpcErrorsTotal.inc();
    return new RetryableError(`${what}: ${message}`, { cause: error });
  }
  return new NonRetryableError(`${what}: ${message}`, { cause: error });
}

export function shortMessage(error: unknown): string {
  const e = error as { shortMessage?: string; message?: string };
  return (e?.shortMessage ?? e?.message ?? String(error)).split("\n")[0].slice(0, 300);
}

export interface BackoffOptions {
  attempts: number;
  baseMs?: number;
  maxMs?: number;
  onRetry?: (error: RetryableError, attempt: number, delayMs: number) => void;
  /** Stops waiting early (shutdown). */
  signal?: AbortSignal;
}

/** Exponential back-off with jitter; retries only `RetryableError`s (after classification), up to `attempts` tries. */
export async function withBackoff<T>(what: string, fn: () => Promise<T>, options: BackoffOptions): Promise<T> {
  const base = options.baseMs ?? 100;
  const max = options.maxMs ?? 5_000;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      const classified = classifyRpcError(error, what);
      if (!(classified instanceof RetryableError) || attempt >= options.attempts || options.signal?.aborted) {
        throw classified;
      }
      const delay = backoffDelayMs({ baseMs: base, capMs: max, jitter: true }, attempt);
      options.onRetry?.(classified, attempt, delay);
      await sleep(delay, options.signal);
    }
  }
}

/** Wait before the next poll after `failures` failed ones in a row: doubling from the poll interval, at most 5 s. */
export function pollRetryDelayMs(pollIntervalMs: number, failures: number): number {
  return backoffDelayMs({ baseMs: pollIntervalMs * 2, capMs: Math.min(5_000, pollIntervalMs * 64) }, failures);
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}

import { type Interface, type JsonRpcProvider, type Wallet, getBytes, isError } from "ethers";
import { type MinedReceipt, getReceipt } from "./jsonRpc";
import { type TokenUnits, describeCustomError } from "./errorText";
import type { Common } from "../common";
import { ChainRaceError, NonRetryableError, RetryableError } from "../errors";
import type { HeadTracker } from "./heads";
import { classifyRpcError, shortMessage, withBackoff } from "./rpc";
import { keccak256 } from "./keccak";
import { signDynamicFeeTx } from "./signing";

export type TxKind = "commit" | "reveal" | "respond" | "decline" | "draw" | "timeout" | "settle" | "anchor" | "other";

/** What to call; the submitter chooses nonce, gas and fees. */
export interface TxIntent {
  kind: TxKind;
  to: string;
  data: string;
  value?: bigint;
  /**
   * A known upper bound of the call's gas (see `gasLimitFor` in the pipeline): sent without `eth_estimateGas`, which
   * costs the chain node more than the transaction itself. Without it the submitter estimates (and a revert found
   * there is reported without sending anything).
   */
  gasLimit?: bigint;
}

export interface SendOptions {
  /**
   * Called with the hash of the signed transaction before it is broadcast; the journal writes it here, so after a
   * crash the node can tell whether this exact transaction reached the chain before signing another one.
   */
  beforeBroadcast?: (txHash: string) => void | Promise<void>;
  /** A revert is an expected outcome (e.g. racing other nodes to `timeout`): log it at debug, not as an error. */
  revertExpected?: boolean;
}

export interface MinedTx {
  hash: string;
  blockNumber: number;
  gasUsed: bigint;
  receipt: MinedReceipt;
}

export type TxLookup =
  | { status: "mined"; tx: MinedTx }
  | { status: "reverted"; blockNumber: number }
  | { status: "pending" }
  | { status: "unknown" };

/**
 * Sends one validator key's transactions: signed and broadcast one at a time in nonce order, with up to
 * `maxInFlight` of them broadcast and waiting for their blocks at once; retries for retryable failures.
 */
export interface Submitter {
  readonly address: string;
  send(intent: TxIntent, options?: SendOptions): Promise<MinedTx>;
  /** Where a transaction the journal recorded stands: mined (with its receipt), still pending, or unknown. */
  lookup(txHash: string): Promise<TxLookup>;
  /** Waits for a known-pending transaction's receipt. */
  waitMined(txHash: string, kind: TxKind): Promise<MinedTx>;
}

/** Whether the key sends; not while another process is found sending from it (see `ForeignNonceError`). */
export interface SubmitterHealth {
  health(): { ok: boolean; message?: string };
}

export interface SubmitterOptions {
  /** How long sending stays paused after a foreign transaction from this key is found (default 5 minutes). */
  foreignNoncePauseMs?: number;
  /** Decodes custom errors of reverts for the log line (the contracts' ABIs). */
  errorInterfaces?: readonly Interface[];
  /** The stake token's symbol and decimals for amounts in decoded errors (read when the error is written). */
  stakeUnits?: TokenUnits;
  /** Extra gas above the estimate, in percent (state can move between estimate and inclusion). */
  gasHeadroomPercent?: number;
  /** Longest wait for a receipt before the transaction counts as stuck (a retryable error). */
  receiptTimeoutMs?: number;
  /** Transactions of this key broadcast and not yet mined, at most (further sends wait for a slot). */
  maxInFlight?: number;
}

/**
 * A transaction reverted, or gas estimation showed it would: the revert is in the message (decoded custom error when
 * possible). Sending it again would revert again; the job re-reads the chain and decides again (a `ChainRaceError`).
 */
export class TxRevertedError extends ChainRaceError {
  constructor(
    readonly kind: TxKind,
    readonly reason: string,
    options?: { cause?: unknown },
    /** False when gas estimation showed the revert, so nothing was signed or sent. */
    readonly sent = true,
  ) {
    super(`${kind} transaction ${sent ? "reverted" : "not sent, it would revert"}: ${reason}`, options);
  }
}

/**
 * Another process sends from this key (its transactions took nonces this process did not sign). Sending is paused
 * for a while instead of racing it for nonces (each lost race is a reverted or replaced commit or reveal); retryable,
 * so the job tries again after the pause.
 */
export class ForeignNonceError extends RetryableError {
  constructor(
    readonly address: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Gas added to every estimate of a kind. A reveal's cost depends on whether it completes the quorum (finalization,
 * fee split, slashing and the consumer callback happen inside it), which another member's reveal can change between
 * estimate and inclusion; unused gas is not charged.
 */
function extraGas(kind: TxKind): bigint {
  return kind === "reveal" || kind === "respond" ? 250_000n : kind === "timeout" ? 100_000n : 20_000n;
}

/** A counting semaphore: the bounded window of one key's transactions in flight. */
function createWindow(size: number) {
  let free = size;
  const waiting: (() => void)[] = [];
  return {
    async acquire(): Promise<void> {
      if (free > 0) {
        free--;
        return;
      }
      await new Promise<void>((resolve) => waiting.push(resolve));
    },
    release(): void {
      const next = waiting.shift();
      if (next) next();
      else free++;
    },
  };
}

export function createSubmitter(
  common: Common,
  provider: JsonRpcProvider,
  heads: HeadTracker,
  wallet: Wallet,
  options: SubmitterOptions = {},
): Submitter & SubmitterHealth {
  const { config, logger, metrics } = common;
  const address = wallet.address;
  const privateKey = getBytes(wallet.signingKey.privateKey);
  /** The provider's network is fixed (`staticNetwork`): read once, at the first transaction. */
  let chainId: bigint | undefined;
  const log = logger.child({ validator: address });
  const headroom = BigInt(100 + (options.gasHeadroomPercent ?? 20));
  const receiptTimeout = options.receiptTimeoutMs ?? 120_000;
  const window = createWindow(options.maxInFlight ?? 64);
  let queue: Promise<unknown> = Promise.resolve();
  let fees: { at: number; maxFeePerGas: bigint; maxPriorityFeePerGas: bigint } | undefined;
  /**
   * Next nonce of this key, known after the first transaction; forgotten after any broadcast failure (and read again
   * as the node's pending count), so a restart, a reorg or a transaction sent elsewhere never leaves it wrong for long.
   */
  let nextNonce: number | undefined;
  /**
   * `heads.reorgs()` when `nextNonce` was counted. A reorg takes this key's mined transactions off the chain, and a
   * node that queues nonce gaps (anvil; Hardhat's automine rejects them) would hold the next one unmined for ever.
   */
  let nonceReorgs = 0;
  /** Highest nonce this process signed: a pending count above it + 1 means someone else used the key. */
  let highestSigned: number | undefined;
  const pauseMs = options.foreignNoncePauseMs ?? 5 * 60_000;
  let paused: { until: number; message: string } | undefined;
  /** Aborted while paused, so a send's retries stop at once instead of backing off into the pause. */
  let pauseSignal = new AbortController();

  function pauseFor(message: string): ForeignNonceError {
    if (paused) return new ForeignNonceError(address, `sending paused: ${paused.message}`);
    paused = { until: Date.now() + pauseMs, message };
    pauseSignal.abort();
    metrics.foreignNoncesTotal.inc({ address });
    metrics.sendingPaused.set({ address }, 1);
    log.error({ pauseMs, reason: message }, "another process is sending from this key; sending paused");
    return new ForeignNonceError(address, message);
  }

  /** Throws while paused; after the pause the nonce is read afresh from the node (a new baseline). */
  function checkPaused(): void {
    if (!paused) return;
    if (Date.now() < paused.until) throw new ForeignNonceError(address, `sending paused: ${paused.message}`);
    paused = undefined;
    pauseSignal = new AbortController();
    nextNonce = undefined;
    highestSigned = undefined;
    metrics.sendingPaused.set({ address }, 0);
    log.warn("sending resumed after the foreign-nonce pause");
  }

  /** The node's pending count for this key, checked against what this process signed. */
  async function pendingNonce(): Promise<number> {
    const count = await provider.getTransactionCount(address, "pending");
    if (highestSigned !== undefined && count > highestSigned + 1) {
      throw pauseFor(`the node counts ${count} transactions from ${address}, this process signed up to nonce ${highestSigned}`);
    }
    return count;
  }

  /** Runs `fn` after every earlier call has finished: one signing per key at a time keeps nonces in order. */
  function serialized<T>(fn: () => Promise<T>): Promise<T> {
    const run = queue.then(fn, fn);
    queue = run.catch(() => undefined);
    return run;
  }

  async function currentFees() {
    if (!fees || Date.now() - fees.at > 5_000) {
      const data = await provider.getFeeData();
      const priority = data.maxPriorityFeePerGas ?? 1_000_000_000n;
      const max = data.maxFeePerGas ?? (data.gasPrice ?? 1_000_000_000n) * 2n;
      fees = { at: Date.now(), maxFeePerGas: max, maxPriorityFeePerGas: priority };
    }
    return fees;
  }

  function decodeRevert(error: unknown): string {
    const data = (error as { data?: string })?.data ?? (error as { info?: { error?: { data?: string } } })?.info?.error?.data;
    if (typeof data === "string" && data.length >= 10) {
      for (const iface of options.errorInterfaces ?? []) {
        try {
          const parsed = iface.parseError(data);
          if (parsed) return describeCustomError(parsed.name, [...parsed.args], options.stakeUnits);
        } catch {
          // not this contract's error
        }
      }
    }
    return shortMessage(error);
  }

  async function gasLimitOf(intent: TxIntent): Promise<bigint> {
    if (intent.gasLimit !== undefined) return intent.gasLimit;
    try {
      const estimate = await provider.estimateGas({ from: address, to: intent.to, data: intent.data, value: intent.value });
      return (estimate * headroom) / 100n + extraGas(intent.kind);
    } catch (error) {
      if (isError(error, "CALL_EXCEPTION") || !(classifyRpcError(error, "estimate") instanceof RetryableError)) {
        throw new TxRevertedError(intent.kind, decodeRevert(error), { cause: error }, false);
      }
      throw classifyRpcError(error, `${intent.kind}: estimate gas`, metrics);
    }
  }

  /**
   * Tail of this key's broadcasts (never rejects). Signing is serialized per key and broadcasts go out one after the
   * other in nonce order, but a signing does not wait for the broadcasts before it: with the journal's sync and the
   * RPC round trip in the serialized section, one key sent at most ~70 transactions a second (14 ms each).
   */
  let broadcasts: Promise<void> = Promise.resolve();
  /** Broadcasts that failed; a transaction signed before a failure is not broadcast after it (its nonce may be a gap). */
  let broadcastFailures = 0;

  /**
   * Signs once and queues the broadcast; resolves when signed, with `sent` resolving when the node accepted it. The
   * nonce is counted locally after the first transaction; the first one, and the first after any failed broadcast,
   * takes the node's pending count (which includes what an earlier run of this node left in the pool before a
   * `kill -9`) once this key's queued broadcasts are out, so a restart or a reorg never leaves a gap or reuses a
   * nonce for long.
   */
  async function sign(intent: TxIntent, sendOptions: SendOptions): Promise<{ hash: string; sent: Promise<void> }> {
    const gasLimit = await gasLimitOf(intent);
    const fee = await currentFees();
    chainId ??= (await provider.getNetwork()).chainId;
    if (heads.reorgs() !== nonceReorgs) nextNonce = undefined;
    nonceReorgs = heads.reorgs();
    if (nextNonce === undefined) {
      // The pending count must include every nonce this key signed; nothing is queued meanwhile (signing is serialized).
      await broadcasts;
      nextNonce = await pendingNonce();
    }
    // From here to `nextNonce = nonce + 1` nothing awaits, so no broadcast can fail in between: a failure from now on
    // may leave this nonce a gap, and then this transaction is not broadcast either.
    const nonce = nextNonce;
    const failuresAtNonce = broadcastFailures;
    const signed = signDynamicFeeTx(privateKey, {
      chainId,
      to: intent.to,
      data: intent.data,
      value: intent.value ?? 0n,
      nonce,
      gasLimit,
      maxFeePerGas: fee.maxFeePerGas,
      maxPriorityFeePerGas: fee.maxPriorityFeePerGas,
    });
    const hash = keccak256(signed); // a signed transaction's hash is the hash of its serialized bytes
    highestSigned = Math.max(highestSigned ?? nonce, nonce);
    nextNonce = nonce + 1;
    // The journal syncs the hash while earlier broadcasts go out; nothing leaves before it is durable.
    const durable = (async () => sendOptions.beforeBroadcast?.(hash))();
    durable.catch(() => undefined); // awaited below, after the broadcasts before it
    const sent = broadcasts.then(async () => {
      if (broadcastFailures !== failuresAtNonce) {
        throw new RetryableError(`${intent.kind}: not broadcast, an earlier transaction of ${address} failed to broadcast`);
      }
      try {
        await durable;
        await broadcast(intent, signed, hash, nonce);
      } catch (error) {
        broadcastFailures++;
        nextNonce = undefined;
        throw error;
      }
    });
    broadcasts = sent.catch(() => undefined);
    return { hash, sent };
  }

  async function broadcast(intent: TxIntent, signed: string, hash: string, nonce: number): Promise<void> {
    await withBackoff(
      `${intent.kind}: broadcast`,
      async () => {
        try {
          // The raw call, not `broadcastTransaction`: ethers would recover the sender from the signature to build a
          // response object nobody reads (an ecrecover in JavaScript, the costliest step of sending).
          await provider.send("eth_sendRawTransaction", [signed]);
        } catch (error) {
          // Mined anyway (an automining node reports a transaction that reverted while mining as an error): the
          // receipt decides. The same signed bytes again after a lost reply: already in the pool is success too.
          if (await getReceipt(provider, hash).catch(() => null)) return;
          const text = shortMessage(error);
          if (/already known|known transaction|already imported/i.test(text)) return;
          if (isError(error, "NONCE_EXPIRED") || /nonce too low/i.test(text)) {
            if (await getReceipt(provider, hash)) return;
            // This process never signs a nonce twice once one got through (see `pendingNonce`): someone else did.
            throw pauseFor(`${intent.kind}: nonce ${nonce} was used by a transaction this process did not sign`);
          }
          if (/revert/i.test(text)) throw new TxRevertedError(intent.kind, decodeRevert(error), { cause: error });
          throw error;
        }
      },
      { attempts: 3, baseMs: 50, signal: pauseSignal.signal, onRetry: (e) => log.warn({ kind: intent.kind, err: e }, "broadcast failed, retrying") },
    );
  }

  /** The receipt comes from the shared head tracker (one block read per block for all keys, not a poll per transaction). */
  async function waitMined(hash: string, kind: TxKind, started = Date.now()): Promise<MinedTx> {
    const receipt = await heads.receipt(hash, Math.max(0, receiptTimeout - (Date.now() - started)));
    if (!receipt) throw new RetryableError(`${kind}: no receipt for ${hash} yet`);
    metrics.txSeconds.observe({ kind }, (Date.now() - started) / 1000);
    if (receipt.status !== 1) throw new TxRevertedError(kind, `reverted in block ${receipt.blockNumber} (${hash}): ${await revertReason(hash, receipt)}`);
    return { hash, blockNumber: receipt.blockNumber, gasUsed: receipt.gasUsed, receipt };
  }

  /**
   * Why a mined transaction reverted, for the log line: the same call replayed on the state after its block (close
   * enough for the usual causes, e.g. a phase that closed or a record already final), decoded to the custom error.
   */
  async function revertReason(hash: string, receipt: MinedReceipt): Promise<string> {
    try {
      const tx = await provider.getTransaction(hash);
      if (!tx) return "unknown";
      if (receipt.gasUsed === tx.gasLimit) return `out of gas (limit ${tx.gasLimit})`;
      await provider.call({ from: tx.from, to: tx.to, data: tx.data, value: tx.value, blockTag: receipt.blockNumber });
      return "not reproducible after its block";
    } catch (error) {
      return decodeRevert(error);
    }
  }

  async function lookup(hash: string): Promise<TxLookup> {
    try {
      const receipt = await getReceipt(provider, hash);
      if (receipt) {
        if (receipt.status !== 1) return { status: "reverted", blockNumber: receipt.blockNumber };
        return { status: "mined", tx: { hash, blockNumber: receipt.blockNumber, gasUsed: receipt.gasUsed, receipt } };
      }
      const pending = await provider.getTransaction(hash);
      return pending ? { status: "pending" } : { status: "unknown" };
    } catch (error) {
      throw classifyRpcError(error, "lookup transaction", metrics);
    }
  }

  return {
    address,
    health() {
      if (paused && Date.now() < paused.until) return { ok: false, message: `sending paused until ${new Date(paused.until).toISOString()}: ${paused.message}` };
      return { ok: true };
    },
    async send(intent, sendOptions = {}) {
      checkPaused();
      await window.acquire();
      const started = Date.now();
      let lastHash: string | undefined;
      try {
        const hash = await withBackoff(
          intent.kind,
          async () => {
            // A retry after the RPC failed mid-broadcast must not sign a second transaction if the first got through.
            if (lastHash) {
              const seen = await lookup(lastHash);
              if (seen.status === "mined" || seen.status === "pending") return lastHash;
            }
            checkPaused();
            const { hash, sent } = await serialized(() =>
              sign(intent, {
                beforeBroadcast: (h) => {
                  lastHash = h;
                  return sendOptions.beforeBroadcast?.(h);
                },
              }),
            );
            await sent;
            return hash;
          },
          {
            attempts: config.txRetries,
            signal: pauseSignal.signal,
            onRetry: (error, attempt, delayMs) => {
              metrics.txRetriesTotal.inc({ kind: intent.kind });
              log.warn({ kind: intent.kind, attempt, delayMs: Math.round(delayMs), err: error }, "transaction failed, retrying");
            },
          },
        );
        return await waitMined(hash, intent.kind, started);
      } catch (error) {
        const reason =
          error instanceof TxRevertedError
            ? error.sent
              ? "reverted"
              : "would_revert"
            : error instanceof RetryableError
              ? "retries_exhausted"
              : "rejected";
        const expected = error instanceof TxRevertedError && sendOptions.revertExpected;
        if (!expected) metrics.txFailuresTotal.inc({ kind: intent.kind, reason });
        // A revert found by gas estimation cost nothing (the chain moved on, e.g. the quorum closed the record first).
        const level = expected ? "debug" : reason === "would_revert" ? "warn" : "error";
        log[level]({ kind: intent.kind, reason, err: error }, "transaction failed");
        throw error;
      } finally {
        window.release();
      }
    },
    lookup,
    waitMined: (hash, kind) => waitMined(hash, kind),
  };
}

import { Transaction, type Interface, type JsonRpcProvider, type TransactionReceipt, type Wallet, isError } from "ethers";
import type { Common } from "../common";
import { NonRetryableError, RetryableError } from "../inference/errors";
import { classifyRpcError, shortMessage, sleep, withBackoff } from "./rpc";

export type TxKind = "commit" | "reveal" | "timeout" | "anchor" | "other";

/** What to call; the submitter chooses nonce, gas and fees. */
export interface TxIntent {
  kind: TxKind;
  to: string;
  data: string;
  value?: bigint;
}

export interface SendOptions {
  /**
   * Called with the hash of the signed transaction before it is broadcast; the journal writes it here, so after a
   * crash the node can tell whether this exact transaction reached the chain before signing another one.
   */
  beforeBroadcast?: (txHash: string) => void;
  /** A revert is an expected outcome (e.g. racing other nodes to `timeout`): log it at debug, not as an error. */
  revertExpected?: boolean;
}

export interface MinedTx {
  hash: string;
  blockNumber: number;
  gasUsed: bigint;
  receipt: TransactionReceipt;
}

export type TxLookup =
  | { status: "mined"; tx: MinedTx }
  | { status: "reverted"; blockNumber: number }
  | { status: "pending" }
  | { status: "unknown" };

/** Sends one validator key's transactions: one at a time per key (nonces), with gas estimation and retries. */
export interface Submitter {
  readonly address: string;
  send(intent: TxIntent, options?: SendOptions): Promise<MinedTx>;
  /** Where a transaction the journal recorded stands: mined (with its receipt), still pending, or unknown. */
  lookup(txHash: string): Promise<TxLookup>;
  /** Waits for a known-pending transaction's receipt. */
  waitMined(txHash: string, kind: TxKind): Promise<MinedTx>;
}

export interface SubmitterOptions {
  /** Decodes custom errors of reverts for the log line (the contracts' ABIs). */
  errorInterfaces?: readonly Interface[];
  /** Extra gas above the estimate, in percent (state can move between estimate and inclusion). */
  gasHeadroomPercent?: number;
  /** Longest wait for a receipt before the transaction counts as stuck (a retryable error). */
  receiptTimeoutMs?: number;
}

/** Transaction failed for good: the revert or rejection is in the message (decoded custom error when possible). */
export class TxRevertedError extends NonRetryableError {
  constructor(
    readonly kind: TxKind,
    readonly reason: string,
    options?: { cause?: unknown },
    /** False when gas estimation showed the revert, so nothing was signed or sent. */
    readonly sent = true,
  ) {
    super(`${kind} transaction ${sent ? "reverted" : "not sent, it would revert"}: ${reason}`, options);
    this.name = "TxRevertedError";
  }
}

/**
 * Gas added to every estimate of a kind. A reveal's cost depends on whether it completes the quorum (finalization,
 * fee split, slashing and the consumer callback happen inside it), which another member's reveal can change between
 * estimate and inclusion; unused gas is not charged.
 */
function extraGas(kind: TxKind): bigint {
  return kind === "reveal" ? 250_000n : kind === "timeout" ? 100_000n : 20_000n;
}

export function createSubmitter(
  common: Common,
  provider: JsonRpcProvider,
  wallet: Wallet,
  options: SubmitterOptions = {},
): Submitter {
  const { config, logger, metrics } = common;
  const signer = wallet.connect(provider);
  const address = wallet.address;
  const log = logger.child({ validator: address });
  const headroom = BigInt(100 + (options.gasHeadroomPercent ?? 20));
  const receiptTimeout = options.receiptTimeoutMs ?? 120_000;
  const receiptPoll = Math.max(5, Math.min(50, config.pollIntervalMs));
  let queue: Promise<unknown> = Promise.resolve();
  let fees: { at: number; maxFeePerGas: bigint; maxPriorityFeePerGas: bigint } | undefined;
  /**
   * Next nonce of this key, known after the first transaction; forgotten after any broadcast failure (and read again
   * as the node's pending count), so a restart, a reorg or a transaction sent elsewhere never leaves it wrong for long.
   */
  let nextNonce: number | undefined;

  /** Runs `fn` after every earlier call has finished: one signing + broadcast per key at a time keeps nonces in order. */
  function serialized<T>(fn: () => Promise<T>): Promise<T> {
    const run = queue.then(fn, fn);
    queue = run.catch(() => undefined);
    return run;
  }

  async function currentFees() {
    if (!fees || Date.now() - fees.at > 2_000) {
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
          if (parsed) return `${parsed.name}(${parsed.args.map(String).join(", ")})`;
        } catch {
          // not this contract's error
        }
      }
    }
    return shortMessage(error);
  }

  /** Signs and broadcasts once; the nonce comes from the node's pending count, so a restart or a reorg never leaves a gap. */
  async function signAndBroadcast(intent: TxIntent, sendOptions: SendOptions): Promise<string> {
    let gasLimit: bigint;
    try {
      gasLimit = (await provider.estimateGas({ from: address, to: intent.to, data: intent.data, value: intent.value }));
    } catch (error) {
      if (isError(error, "CALL_EXCEPTION") || (!classifyRpcError(error, "estimate").name.startsWith("Retryable"))) {
        throw new TxRevertedError(intent.kind, decodeRevert(error), { cause: error }, false);
      }
      throw classifyRpcError(error, `${intent.kind}: estimate gas`, metrics);
    }
    const [nonce, fee] = await Promise.all([
      nextNonce !== undefined ? Promise.resolve(nextNonce) : provider.getTransactionCount(address, "pending"),
      currentFees(),
    ]);
    const tx = Transaction.from({
      type: 2,
      chainId: (await provider.getNetwork()).chainId,
      to: intent.to,
      data: intent.data,
      value: intent.value ?? 0n,
      nonce,
      gasLimit: (gasLimit * headroom) / 100n + extraGas(intent.kind),
      maxFeePerGas: fee.maxFeePerGas,
      maxPriorityFeePerGas: fee.maxPriorityFeePerGas,
    });
    const signed = await signer.signTransaction(tx);
    const hash = Transaction.from(signed).hash as string;
    sendOptions.beforeBroadcast?.(hash);
    nextNonce = undefined;
    await withBackoff(
      `${intent.kind}: broadcast`,
      async () => {
        try {
          await provider.broadcastTransaction(signed);
        } catch (error) {
          // Mined anyway (an automining node reports a transaction that reverted while mining as an error): the
          // receipt decides. The same signed bytes again after a lost reply: already in the pool is success too.
          if (await provider.getTransactionReceipt(hash).catch(() => null)) return;
          const text = shortMessage(error);
          if (/already known|known transaction|already imported/i.test(text)) return;
          if (isError(error, "NONCE_EXPIRED") || /nonce too low/i.test(text)) {
            if (await provider.getTransactionReceipt(hash)) return;
            throw new RetryableError(`${intent.kind}: nonce ${nonce} was used by another transaction`, { cause: error });
          }
          if (/revert/i.test(text)) throw new TxRevertedError(intent.kind, decodeRevert(error), { cause: error });
          throw error;
        }
      },
      { attempts: 3, baseMs: 50, onRetry: (e) => log.warn({ kind: intent.kind, err: e.message }, "broadcast failed, retrying") },
    );
    nextNonce = nonce + 1;
    return hash;
  }

  async function waitMined(hash: string, kind: TxKind, started = Date.now()): Promise<MinedTx> {
    for (;;) {
      let receipt: TransactionReceipt | null;
      try {
        receipt = await provider.getTransactionReceipt(hash);
      } catch (error) {
        const classified = classifyRpcError(error, `${kind}: receipt`, metrics);
        if (classified instanceof NonRetryableError || Date.now() - started > receiptTimeout) throw classified;
        await sleep(Math.max(receiptPoll, 200));
        continue;
      }
      if (receipt) {
        metrics.txSeconds.observe({ kind }, (Date.now() - started) / 1000);
        if (receipt.status !== 1) throw new TxRevertedError(kind, `reverted in block ${receipt.blockNumber} (${hash})`);
        return { hash, blockNumber: receipt.blockNumber, gasUsed: receipt.gasUsed, receipt };
      }
      if (Date.now() - started > receiptTimeout) throw new RetryableError(`${kind}: no receipt for ${hash} yet`);
      await sleep(receiptPoll);
    }
  }

  async function lookup(hash: string): Promise<TxLookup> {
    try {
      const receipt = await provider.getTransactionReceipt(hash);
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
    async send(intent, sendOptions = {}) {
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
            return serialized(() =>
              signAndBroadcast(intent, {
                beforeBroadcast: (h) => {
                  lastHash = h;
                  sendOptions.beforeBroadcast?.(h);
                },
              }),
            );
          },
          {
            attempts: config.txRetries,
            onRetry: (error, attempt, delayMs) => {
              metrics.txFailuresTotal.inc({ kind: intent.kind, reason: "retryable" });
              log.warn({ kind: intent.kind, attempt, delayMs: Math.round(delayMs), err: error.message }, "transaction failed, retrying");
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
        log[level]({ kind: intent.kind, reason, err: (error as Error).message }, "transaction failed");
        throw error;
      }
    },
    lookup,
    waitMined: (hash, kind) => waitMined(hash, kind),
  };
}

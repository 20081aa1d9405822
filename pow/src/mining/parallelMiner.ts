/**
 * A pool of worker threads searching the 32-bit nonce space of one 80-byte header together. Worker w scans chunks
 * w, w + W, w + 2W, … so no two threads try the same nonce and the pool needs no coordination except a shared
 * "current job" word that cancels everyone as soon as one thread finds a solution.
 */
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { KERNEL_LAYOUT, kernelInputs } from "../crypto/sha256dScanKernel";
import { HEADER_BYTES } from "../header/bitcoinHeader";
import { targetToHex } from "../chain/target";
import { scanKernelModule } from "./nonceScanner";
import { MINING_WORKER_SOURCE } from "./workerSource";

export const NONCE_SPACE = 2 ** 32;

export interface MiningProgress {
  hashes: number;
  elapsedMs: number;
  hashesPerSec: number;
}

export interface MiningResult extends MiningProgress {
  /** The winning nonce, or undefined when the range was exhausted or the search was stopped. */
  nonce?: number;
}

export interface SearchOptions {
  /** Nonces per work unit; progress is reported once per unit. */
  chunkSize?: number;
  /** Search nonces [0, endNonce). Default: the whole 32-bit space. */
  endNonce?: number;
  /** Stop after this many milliseconds (benchmarks use an unreachable target and a time limit). */
  timeLimitMs?: number;
  onProgress?: (progress: MiningProgress) => void;
}

type WorkerMessage =
  | { type: "progress"; jobId: number; hashes: number }
  | { type: "found"; jobId: number; nonce: number; hashes: number }
  | { type: "done"; jobId: number; hashes: number };

export class MiningPool {
  readonly size: number;
  private readonly workers: Worker[];
  private readonly control = new Int32Array(new SharedArrayBuffer(4));
  private jobId = 0;
  private busy = false;

  /** `workers` defaults to one per core. */
  constructor(workers: number = availableParallelism()) {
    if (!Number.isInteger(workers) || workers < 1) throw new RangeError(`workers must be a positive integer, got ${workers}`);
    this.size = workers;
    const kernel = scanKernelModule();
    this.workers = Array.from({ length: workers }, () =>
      new Worker(MINING_WORKER_SOURCE, {
        eval: true,
        workerData: { kernel, control: this.control.buffer, layout: KERNEL_LAYOUT },
      }),
    );
  }

  /** Searches for a nonce whose header hash is at or below `target`. */
  search(header: Uint8Array, target: bigint, options: SearchOptions = {}): Promise<MiningResult> {
    if (header.length !== HEADER_BYTES) throw new RangeError(`header must be ${HEADER_BYTES} bytes, got ${header.length}`);
    if (this.busy) throw new Error("this pool is already searching; wait for the current search");
    this.busy = true;
    const chunkSize = options.chunkSize ?? 1 << 18;
    const endNonce = options.endNonce ?? NONCE_SPACE;
    const jobId = ++this.jobId;
    Atomics.store(this.control, 0, jobId);
    const job = {
      type: "job", jobId, header: Uint8Array.from(header), targetHex: targetToHex(target), inputs: kernelInputs(header, target),
      stride: this.size, chunkSize, endNonce,
    };
    const started = performance.now();
    let hashes = 0;
    let finished = 0;
    let winner: number | undefined;
    const snapshot = (): MiningProgress => {
      const elapsedMs = performance.now() - started;
      return { hashes, elapsedMs, hashesPerSec: elapsedMs > 0 ? (hashes / elapsedMs) * 1000 : 0 };
    };
    return new Promise<MiningResult>((resolve, reject) => {
      const timer = options.timeLimitMs === undefined ? undefined : setTimeout(() => this.cancel(), options.timeLimitMs);
      const cleanup = () => {
        if (timer) clearTimeout(timer);
        for (const worker of this.workers) {
          worker.off("message", onMessage);
          worker.off("error", onError);
        }
        this.busy = false;
      };
      const onError = (error: Error) => {
        this.cancel();
        cleanup();
        reject(error);
      };
      const onMessage = (message: WorkerMessage) => {
        if (message.jobId !== jobId) return;
        if (message.type === "progress") {
          hashes += message.hashes;
          options.onProgress?.(snapshot());
          return;
        }
        if (message.type === "found") {
          hashes += message.hashes;
          if (winner === undefined) winner = message.nonce;
          this.cancel();
        } else {
          hashes += message.hashes;
        }
        if (++finished === this.size) {
          cleanup();
          resolve({ ...snapshot(), ...(winner === undefined ? {} : { nonce: winner }) });
        }
      };
      this.workers.forEach((worker, index) => {
        worker.on("message", onMessage);
        worker.on("error", onError);
        worker.postMessage({ ...job, firstChunk: index });
      });
    });
  }

  /** Stops the current search; its promise resolves with what was done so far. */
  cancel(): void {
    Atomics.store(this.control, 0, ++this.jobId);
  }

  async close(): Promise<void> {
    this.cancel();
    await Promise.all(this.workers.map((worker) => worker.terminate()));
  }
}

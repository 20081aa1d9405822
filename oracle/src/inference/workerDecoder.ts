import { existsSync } from "node:fs";
import * as path from "node:path";
import { Worker } from "node:worker_threads";
import type { BatchOptions, DecoderFolder, SequenceRequest, SequenceResult } from "./decoderModel";
import { NonRetryableError, RetryableError } from "./errors";
import type { OpenedSession, SessionSettings } from "./providers";

/** What the worker needs to open the model (structured-cloneable; no logger, no tokenizer). */
export interface WorkerInit {
  folder: DecoderFolder;
  providers: string[];
  settings: Omit<SessionSettings, "logger">;
  tokenizerVocabSize: number;
}

/** The graph facts DecoderModel read from the session. */
export interface DecoderShape {
  numLayers: number;
  kvHeads: number;
  headDim: number;
  kvType: "float32" | "float16";
  hasPositionIds: boolean;
  hasUseCacheBranch: boolean;
  vocabSize: number;
  kvLocation: "cpu" | "gpu-buffer";
}

export interface WireError {
  name: string;
  message: string;
}

export type WorkerRequest =
  | { type: "generate"; id: number; requests: SequenceRequest[]; useCache?: boolean; collectLogits?: boolean; reportSteps: boolean }
  | { type: "close" };

export type WorkerReply =
  | { type: "ready"; provider: string; failures: OpenedSession["failures"]; shape: DecoderShape }
  | { type: "failed"; error: WireError }
  | { type: "step"; id: number; endedAt: number }
  | { type: "done"; id: number; results: SequenceResult[] }
  | { type: "error"; id: number; error: WireError };

/** Errors cross the thread boundary as name + message; the engine's two classes come back as themselves. */
export function serializeError(err: unknown): WireError {
  if (err instanceof Error) {
    const cause = err.cause instanceof Error ? `: ${err.cause.message.split("\n")[0]}` : "";
    return { name: err.name, message: err.name === "RetryableError" ? err.message + cause : err.message };
  }
  return { name: "Error", message: String(err) };
}

export function deserializeError(e: WireError): Error {
  if (e.name === "NonRetryableError") return new NonRetryableError(e.message);
  if (e.name === "RetryableError") return new RetryableError(e.message);
  const err = new Error(e.message);
  err.name = e.name;
  return err;
}

interface Pending {
  resolve: (results: SequenceResult[]) => void;
  reject: (err: Error) => void;
  onStep?: (endedAt: number) => void;
}

/**
 * Starts the worker. Under tsx / ts-node (this file is .ts) the worker registers tsx's CommonJS loader itself:
 * a worker inherits neither ts-node's require hook nor, with execArgv cleared, tsx's flags.
 */
function startWorker(init: WorkerInit): Worker {
  const compiled = path.join(__dirname, "decoderWorker.js");
  if (existsSync(compiled)) return new Worker(compiled, { workerData: init });
  const source = path.join(__dirname, "decoderWorker.ts");
  const bootstrap = `require(${JSON.stringify(require.resolve("tsx/cjs/api"))}).register(); require(${JSON.stringify(source)});`;
  return new Worker(bootstrap, { eval: true, workerData: init, execArgv: [] });
}

/**
 * A DecoderModel running in a worker thread (see decoderWorker.ts for why), with the same `generateBatch`. The
 * worker keeps the process alive only while a call is in flight.
 */
export class WorkerDecoder implements DecoderShape {
  private readonly pending = new Map<number, Pending>();
  private readonly inFlight = new Set<Promise<unknown>>();
  private nextId = 1;
  private exited: Error | undefined;
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly worker: Worker,
    readonly provider: string,
    readonly failures: OpenedSession["failures"],
    private readonly shape: DecoderShape,
  ) {
    worker.on("message", (m: WorkerReply) => this.onReply(m));
    worker.on("error", (err) => this.fail(new RetryableError(`inference worker failed: ${err.message}`)));
    worker.on("exit", (code) => this.fail(new RetryableError(`inference worker exited (code ${code})`)));
    worker.unref();
  }

  /** Opens the model in a new worker; rejects with the worker's NonRetryableError for a bad graph or provider. */
  static async open(init: WorkerInit): Promise<WorkerDecoder> {
    const worker = startWorker(init);
    let onMessage!: (m: WorkerReply) => void;
    let onError!: (err: Error) => void;
    let onExit!: (code: number) => void;
    const first = await new Promise<WorkerReply>((resolve, reject) => {
      onMessage = resolve;
      onError = reject;
      onExit = (code) => reject(new RetryableError(`inference worker exited (code ${code}) before the model loaded`));
      worker.once("message", onMessage).once("error", onError).once("exit", onExit);
    }).finally(() => {
      // only our own listeners: Worker keeps internal ones that ref its port while 'message' is listened to
      worker.off("message", onMessage).off("error", onError).off("exit", onExit);
    });
    if (first.type !== "ready") {
      await worker.terminate();
      throw first.type === "failed" ? deserializeError(first.error) : new Error(`inference worker sent ${first.type} before ready`);
    }
    return new WorkerDecoder(worker, first.provider, first.failures, first.shape);
  }

  get numLayers(): number { return this.shape.numLayers; }
  get kvHeads(): number { return this.shape.kvHeads; }
  get headDim(): number { return this.shape.headDim; }
  get kvType(): DecoderShape["kvType"] { return this.shape.kvType; }
  get hasPositionIds(): boolean { return this.shape.hasPositionIds; }
  get hasUseCacheBranch(): boolean { return this.shape.hasUseCacheBranch; }
  get vocabSize(): number { return this.shape.vocabSize; }
  get kvLocation(): DecoderShape["kvLocation"] { return this.shape.kvLocation; }
  get supportsCache(): boolean { return this.shape.numLayers > 0; }

  /** DecoderModel.generateBatch, run in the worker; `onStep` gets each step's end time as the worker saw it. */
  generateBatch(requests: readonly SequenceRequest[], opts: BatchOptions = {}): Promise<SequenceResult[]> {
    if (this.exited) return Promise.reject(this.exited);
    if (this.closing) return Promise.reject(new NonRetryableError("inference engine is closed"));
    const id = this.nextId++;
    const call = new Promise<SequenceResult[]>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, onStep: opts.onStep });
      if (this.pending.size === 1) this.worker.ref();
      const rows = requests.map(({ promptIds, maxNewTokens, sampling }) => ({ promptIds, maxNewTokens, sampling }));
      const message: WorkerRequest = { type: "generate", id, requests: rows, useCache: opts.useCache, collectLogits: opts.collectLogits, reportSteps: !!opts.onStep };
      this.worker.postMessage(message);
    });
    const tracked = call.finally(() => this.inFlight.delete(tracked));
    this.inFlight.add(tracked);
    return call;
  }

  /** Waits for calls in flight, releases the session and ends the worker. */
  release(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.allSettled([...this.inFlight]);
      if (this.exited) return;
      const closed = new Promise<void>((resolve) => this.worker.once("exit", () => resolve()));
      this.worker.ref();
      this.worker.postMessage({ type: "close" } satisfies WorkerRequest);
      await closed;
    })();
    return this.closing;
  }

  private onReply(m: WorkerReply): void {
    if (m.type === "ready" || m.type === "failed") return;
    const call = this.pending.get(m.id);
    if (!call) return;
    if (m.type === "step") {
      call.onStep?.(m.endedAt);
      return;
    }
    this.settle(m.id);
    if (m.type === "done") call.resolve(m.results);
    else call.reject(deserializeError(m.error));
  }

  private settle(id: number): void {
    this.pending.delete(id);
    if (this.pending.size === 0) this.worker.unref();
  }

  private fail(err: Error): void {
    if (this.exited) return;
    this.exited = this.closing ? new NonRetryableError("inference engine is closed") : err;
    for (const [id, call] of this.pending) {
      this.settle(id);
      call.reject(err);
    }
  }
}

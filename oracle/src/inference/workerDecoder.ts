import { existsSync } from "node:fs";
import * as path from "node:path";
import { Worker } from "node:worker_threads";
import type { BatchOptions, DecoderFolder, DecoderShape, SequenceRequest, SequenceResult } from "./decoderModel";
import { NonRetryableError, RetryableError } from "../errors";
import type { OpenedSession, SessionSettings } from "./providers";

/** What the worker needs to open the model (structured-cloneable; no logger, no tokenizer). */
export interface WorkerInit {
  folder: DecoderFolder;
  providers: string[];
  settings: Omit<SessionSettings, "logger">;
  tokenizerVocabSize: number;
  /**
   * Test hook: a batch holding a prompt that starts with this token id never returns (a run stuck in the
   * device), so the watchdog can be tested on a real worker. Never set outside tests.
   */
  stallOnPromptId?: number;
}

/** A run that missed its deadline: the worker was retired and a fresh one serves the next call. */
export class InferenceDeadlineError extends RetryableError {
  constructor(readonly deadlineMs: number) {
    super(`inference run missed its ${deadlineMs} ms deadline; the worker was replaced`);
  }
}

export interface WireError {
  name: string;
  message: string;
  /** the cause's message, when there is one */
  cause?: string;
}

export type WorkerRequest =
  | { type: "generate"; id: number; requests: readonly SequenceRequest[]; useCache?: boolean; collectLogits?: boolean; reportSteps: boolean }
  | { type: "close" };

export type WorkerReply =
  | { type: "ready"; provider: string; failures: OpenedSession["failures"]; shape: DecoderShape }
  | { type: "failed"; error: WireError }
  | { type: "step"; id: number; endedAt: number; tokens: (number | undefined)[] }
  | { type: "done"; id: number; results: SequenceResult[] }
  | { type: "error"; id: number; error: WireError };

/** Errors cross the thread boundary as name, message and cause message; the engine's two classes come back as themselves. */
export function serializeError(err: unknown): WireError {
  if (!(err instanceof Error)) return { name: "Error", message: String(err) };
  const cause = err.cause instanceof Error ? err.cause.message : err.cause === undefined ? undefined : String(err.cause);
  return { name: err.name, message: err.message, ...(cause === undefined ? {} : { cause }) };
}

export function deserializeError(e: WireError): Error {
  const options = e.cause === undefined ? undefined : { cause: new Error(e.cause) };
  if (e.name === "NonRetryableError") return new NonRetryableError(e.message, options);
  if (e.name === "RetryableError") return new RetryableError(e.message, options);
  const err = new Error(e.message, options);
  err.name = e.name;
  return err;
}

interface Pending {
  resolve: (results: SequenceResult[]) => void;
  reject: (err: Error) => void;
  onStep?: BatchOptions["onStep"];
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
 * worker keeps the process alive only while a call is in flight. If the thread dies, the calls in flight fail with
 * a RetryableError and the next call starts a new one. (Between onnxruntime runs, that is: a thread that dies
 * inside a run can abort the process, as onnxruntime-node's completion throws into the dead thread's environment.)
 */
export class WorkerDecoder implements DecoderShape {
  private readonly pending = new Map<number, Pending>();
  private readonly inFlight = new Set<Promise<unknown>>();
  private nextId = 1;
  /** undefined after the thread died, until the next call starts another */
  private worker: Worker | undefined;
  private starting: Promise<Worker> | undefined;
  private closing: Promise<void> | undefined;
  /** threads started after the first one died or was retired */
  restarts = 0;
  /** runs that missed their deadline */
  deadlinesMissed = 0;
  /**
   * Workers replaced after a missed deadline. Not terminated while their run may still be inside onnxruntime
   * (that can abort the whole process, see the class comment): each is terminated when it next reports, i.e. once
   * its run has ended; one stuck for good stays parked (unref'd) until the process exits.
   */
  private readonly retired = new Set<Worker>();

  private constructor(
    private readonly init: WorkerInit,
    worker: Worker,
    readonly provider: string,
    readonly failures: OpenedSession["failures"],
    private readonly shape: DecoderShape,
  ) {
    this.attach(worker);
  }

  /** Opens the model in a new worker; rejects with the worker's NonRetryableError for a bad graph or provider. */
  static async open(init: WorkerInit): Promise<WorkerDecoder> {
    const { worker, ready } = await WorkerDecoder.start(init);
    return new WorkerDecoder(init, worker, ready.provider, ready.failures, ready.shape);
  }

  private static async start(init: WorkerInit): Promise<{ worker: Worker; ready: Extract<WorkerReply, { type: "ready" }> }> {
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
    return { worker, ready: first };
  }

  private attach(worker: Worker): void {
    this.worker = worker;
    worker.on("message", (m: WorkerReply) => this.onReply(m));
    worker.on("error", (err) => this.lost(worker, `failed: ${err.message}`));
    worker.on("exit", (code) => this.lost(worker, `exited (code ${code})`));
    worker.unref();
  }

  /** The watchdog: call `id` is still unanswered at its deadline, so its worker is presumed stuck and replaced. */
  private expire(worker: Worker, id: number, deadlineMs: number): void {
    if (this.worker !== worker || !this.pending.has(id)) return;
    this.deadlinesMissed++;
    this.retired.add(worker);
    worker.unref();
    worker.removeAllListeners("message");
    worker.on("message", () => {
      // It reported, so its run is over: safe to end the thread now.
      this.retired.delete(worker);
      void worker.terminate();
    });
    this.lost(worker, undefined, new InferenceDeadlineError(deadlineMs));
  }

  /** The thread is gone (crash, the end of close, or retired by the watchdog): fail what it was running. */
  private lost(worker: Worker, reason: string | undefined, error?: Error): void {
    if (this.worker !== worker) return; // 'error' is followed by 'exit'
    this.worker = undefined;
    const err = error ?? new RetryableError(`inference worker ${reason}`);
    for (const [id, call] of this.pending) {
      this.pending.delete(id);
      call.reject(err);
    }
  }

  private running(): Promise<Worker> {
    if (this.worker) return Promise.resolve(this.worker);
    this.starting ??= WorkerDecoder.start(this.init)
      .then(({ worker }) => {
        this.restarts++;
        this.attach(worker);
        return worker;
      })
      .finally(() => (this.starting = undefined));
    return this.starting;
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

  /**
   * DecoderModel.generateBatch, run in the worker; `onStep` gets each step's end time as the worker saw it and the
   * tokens chosen in it. With
   * `deadlineMs`, a run not answered by then fails with InferenceDeadlineError (as does everything else the worker
   * had in flight) and the worker is replaced: the next call starts a fresh one.
   */
  generateBatch(requests: readonly SequenceRequest[], opts: BatchOptions & { deadlineMs?: number } = {}): Promise<SequenceResult[]> {
    if (this.closing) return Promise.reject(new NonRetryableError("inference engine is closed"));
    const id = this.nextId++;
    const message: WorkerRequest = { type: "generate", id, requests, useCache: opts.useCache, collectLogits: opts.collectLogits, reportSteps: !!opts.onStep };
    const call = this.running().then(
      (worker) =>
        new Promise<SequenceResult[]>((resolve, reject) => {
          let timer: NodeJS.Timeout | undefined;
          const clear = () => clearTimeout(timer);
          this.pending.set(id, { resolve: (r) => (clear(), resolve(r)), reject: (e) => (clear(), reject(e)), onStep: opts.onStep });
          if (this.pending.size === 1) worker.ref();
          worker.postMessage(message);
          if (opts.deadlineMs !== undefined) {
            const deadlineMs = opts.deadlineMs;
            timer = setTimeout(() => this.expire(worker, id, deadlineMs), deadlineMs);
          }
        }),
    );
    const tracked = call.finally(() => this.inFlight.delete(tracked)).catch(() => undefined);
    this.inFlight.add(tracked);
    return call;
  }

  /** Waits for calls in flight, releases the session and ends the worker. */
  release(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.allSettled([...this.inFlight]);
      const worker = this.worker;
      if (!worker) return;
      const exited = new Promise<void>((resolve) => worker.once("exit", () => resolve()));
      worker.ref();
      worker.postMessage({ type: "close" } satisfies WorkerRequest);
      await exited;
    })();
    return this.closing;
  }

  private onReply(m: WorkerReply): void {
    if (m.type === "ready" || m.type === "failed") return;
    const call = this.pending.get(m.id);
    if (!call) return;
    if (m.type === "step") {
      call.onStep?.(m.endedAt, m.tokens);
      return;
    }
    this.settle(m.id);
    if (m.type === "done") call.resolve(m.results);
    else call.reject(deserializeError(m.error));
  }

  private settle(id: number): void {
    this.pending.delete(id);
    if (this.pending.size === 0) this.worker?.unref();
  }
}

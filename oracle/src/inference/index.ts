import { keccakText } from "../chain/keccak";
import { createChatRenderer, type ChatMessage, type ChatRenderer } from "./chatTemplate";
import { decoderFolder, type SequenceRequest, type SequenceResult } from "./decoderModel";
import { NonRetryableError } from "../errors";
import { computeModelHash } from "./modelHash";
import { readModelFolder } from "./modelFolder";
import { DEFAULT_PROVIDERS, warnCpuFallback, type ProviderLogger } from "./providers";
import { validateSampling, type SamplingOptions } from "./sampling";
import { BatchScheduler, type InferencePriority } from "./scheduler";
import { ModelTokenizer } from "./tokenizer";
import { InferenceDeadlineError, WorkerDecoder } from "./workerDecoder";

export { NonRetryableError, RetryableError } from "../errors";
export { InferenceDeadlineError } from "./workerDecoder";
export { computeModelHash } from "./modelHash";
export { ensureTinyModel, buildModel } from "./buildModel";
export { DEFAULT_PROVIDERS } from "./providers";
export type { InferencePriority } from "./scheduler";
export { CHAT_ROLES, renderPlainChat, type ChatMessage, type ChatRole } from "./chatTemplate";

export interface GenerateOptions {
  prompt: string;
  /** default 32; capped so prompt + response fit the context */
  maxNewTokens?: number;
  /** absent → greedy (the default for verifiable records) */
  sampling?: { temperature: number; topK?: number; topP?: number; seed: number };
  /** `chain` (default) runs before `http` (POST /v1/chat) whenever both wait. */
  priority?: InferencePriority;
  /**
   * Streaming: called with the text each decoded token completes, as the steps end (never half a UTF-8
   * character; special tokens such as EOS add nothing). The deltas concatenate to the result's text.
   */
  onText?: (delta: string) => void;
}

export interface GenerateResult {
  text: string;
  promptTokenIds: number[];
  /** generated ids; ends with the EOS id when finishReason is "eos" (EOS adds no text) */
  tokenIds: number[];
  /** keccak256(utf8(text)), 0x-prefixed, as the contracts compute it */
  responseHash: string;
  finishReason: "eos" | "length";
  tokensPerSecond: number;
}

export interface InferenceEngine {
  readonly modelDir: string;
  readonly modelHash: string;
  readonly provider: string;
  readonly maxContext: number;
  /** Tokens the prompt encodes to (as `generate` encodes it): the node declines what does not fit the context. */
  countPromptTokens(prompt: string): number;
  /**
   * The prompt for a conversation: the model folder's chat template (or the plain fallback) rendered with a
   * generation prompt. Throws NonRetryableError when the template rejects the messages. Engines without it serve
   * the plain fallback (`renderPlainChat`).
   */
  renderChat?(messages: readonly ChatMessage[]): string;
  /** How renderChat renders: the folder's chat template, or the plain fallback when it has none. */
  readonly chatRendering?: "template" | "plain";
  /** concurrent calls are batched by an internal scheduler */
  generate(o: GenerateOptions): Promise<GenerateResult>;
  /**
   * The watchdog's view: not ok after a run missed its deadline, until a run succeeds again (the readiness
   * condition `inference`). Engines without a watchdog may leave it out.
   */
  health?(): InferenceHealth;
  /** Calls `listener` each time a run misses its deadline; returns the unsubscribe function. */
  onDeadlineMissed?(listener: (deadlineMs: number) => void): () => void;
  close(): Promise<void>;
}

export interface InferenceHealth {
  ok: boolean;
  message?: string;
  /** runs that missed their deadline since the engine loaded */
  deadlinesMissed: number;
}

/**
 * The inference watchdog: a run's deadline is `slack` × (its steps) × (the measured time per step), at least `minMs`.
 * The time per step starts at `initialStepMs` and follows the runs as they finish (moving average).
 */
export interface WatchdogOptions {
  minMs: number;
  slack: number;
  initialStepMs: number;
}

export const DEFAULT_WATCHDOG: WatchdogOptions = { minMs: 30_000, slack: 10, initialStepMs: 250 };

export interface LoadEngineOptions {
  modelDir: string;
  /** tried one at a time, first that loads wins; default cuda → webgpu → cpu */
  providers?: string[];
  /** CPU intra-op threads (undefined or 0: one per CPU core) */
  threads?: number;
  logger?: ProviderLogger;
  /** most prompts run together in one batch (default 8) */
  maxBatch?: number;
  /** on a GPU provider keep the KV cache in device memory between steps (default true) */
  kvOnDevice?: boolean;
  /** deadline of each run (see WatchdogOptions); defaults DEFAULT_WATCHDOG */
  watchdog?: Partial<WatchdogOptions>;
  /** test hook, see WorkerInit.stallOnPromptId */
  stallOnPromptId?: number;
}

export const DEFAULT_MAX_NEW_TOKENS = 32;

/** Engine internals, exported for tests and benchmarks (cached vs uncached runs). */
export class OnnxInferenceEngine implements InferenceEngine {
  private readonly scheduler: BatchScheduler;
  private closed = false;
  private readonly watchdog: WatchdogOptions;
  /** measured milliseconds per decoding step (moving average over finished runs) */
  private stepMs: number;
  private lastMiss: string | undefined;
  private readonly missListeners = new Set<(deadlineMs: number) => void>();
  /** the folder's chat template, compiled once */
  readonly chat: ChatRenderer;

  constructor(
    readonly modelDir: string,
    readonly modelHash: string,
    readonly provider: string,
    readonly maxContext: number,
    readonly tokenizer: ModelTokenizer,
    readonly model: WorkerDecoder,
    maxBatch: number,
    watchdog: Partial<WatchdogOptions> = {},
    tokenizerConfig: Record<string, unknown> = {},
  ) {
    this.watchdog = { ...DEFAULT_WATCHDOG, ...watchdog };
    this.chat = createChatRenderer(tokenizerConfig);
    this.stepMs = this.watchdog.initialStepMs;
    this.scheduler = new BatchScheduler((requests, onStep) => this.runWatched(requests, onStep), maxBatch, maxContext);
  }

  /** The deadline of one batch: a prefill and as many steps as its longest generation, at the measured speed. */
  deadlineMs(requests: readonly SequenceRequest[]): number {
    const steps = 1 + Math.max(...requests.map((r) => r.maxNewTokens));
    return Math.max(this.watchdog.minMs, Math.ceil(this.watchdog.slack * steps * this.stepMs));
  }

  private async runWatched(requests: SequenceRequest[], onStep?: (tokens: readonly (number | undefined)[]) => void): Promise<SequenceResult[]> {
    const deadlineMs = this.deadlineMs(requests);
    const started = performance.now();
    try {
      const results = await this.model.generateBatch(requests, { deadlineMs, onStep: onStep && ((_endedAt, tokens) => onStep(tokens)) });
      const steps = 1 + Math.max(...results.map((r) => r.tokenIds.length));
      this.stepMs = 0.8 * this.stepMs + 0.2 * ((performance.now() - started) / steps);
      this.lastMiss = undefined;
      return results;
    } catch (error) {
      if (error instanceof InferenceDeadlineError) {
        this.lastMiss = error.message;
        for (const listener of this.missListeners) listener(deadlineMs);
      }
      throw error;
    }
  }

  health(): InferenceHealth {
    return { ok: this.lastMiss === undefined, ...(this.lastMiss ? { message: this.lastMiss } : {}), deadlinesMissed: this.model.deadlinesMissed };
  }

  onDeadlineMissed(listener: (deadlineMs: number) => void): () => void {
    this.missListeners.add(listener);
    return () => this.missListeners.delete(listener);
  }

  countPromptTokens(prompt: string): number {
    return this.tokenizer.encode(prompt).length;
  }

  get chatRendering(): "template" | "plain" {
    return this.chat.kind;
  }

  renderChat(messages: readonly ChatMessage[]): string {
    return this.chat.render(messages);
  }

  /** Encodes and checks a prompt; throws NonRetryableError when it is empty or does not fit the context. */
  encodePrompt(prompt: string): number[] {
    if (typeof prompt !== "string") throw new NonRetryableError("prompt must be a string");
    const ids = this.tokenizer.encode(prompt);
    if (ids.length === 0) throw new NonRetryableError("prompt is empty (it encodes to no tokens)");
    if (ids.length >= this.maxContext) {
      throw new NonRetryableError(`prompt too long: ${ids.length} tokens, the model's context is ${this.maxContext} (prompt + at least one new token)`);
    }
    return ids;
  }

  async generate(o: GenerateOptions): Promise<GenerateResult> {
    if (this.closed) throw new NonRetryableError("inference engine is closed");
    const maxNewTokens = o.maxNewTokens ?? DEFAULT_MAX_NEW_TOKENS;
    if (!(Number.isInteger(maxNewTokens) && maxNewTokens >= 1)) throw new NonRetryableError(`maxNewTokens must be an integer >= 1, got ${maxNewTokens}`);
    if (o.sampling) validateSampling(o.sampling as SamplingOptions);
    const promptTokenIds = this.encodePrompt(o.prompt);
    const result = await this.scheduler.submit({
      promptIds: promptTokenIds,
      maxNewTokens: Math.min(maxNewTokens, this.maxContext - promptTokenIds.length),
      sampling: o.sampling,
    }, o.priority, o.onText && this.textListener(o.onText));
    return this.toResult(promptTokenIds, result, result.seconds);
  }

  /** Token ids in, text deltas out, through the same stream decoder `toResult` decodes with. */
  private textListener(onText: (delta: string) => void): (tokenId: number) => void {
    const stream = this.tokenizer.createStreamDecoder();
    return (tokenId) => {
      if (this.tokenizer.isSpecial(tokenId)) return;
      const delta = stream.push(tokenId);
      if (delta) onText(delta);
    };
  }

  toResult(promptTokenIds: number[], result: SequenceResult, seconds: number): GenerateResult {
    // The EOS token ends the response; it adds no text even when the tokenizer does not mark it special.
    const textIds = result.finishReason === "eos" ? result.tokenIds.slice(0, -1) : result.tokenIds;
    const text = this.tokenizer.decode(textIds);
    return {
      text,
      promptTokenIds,
      tokenIds: result.tokenIds,
      responseHash: keccakText(text),
      finishReason: result.finishReason,
      tokensPerSecond: seconds > 0 ? result.tokenIds.length / seconds : 0,
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.scheduler.idle();
    await this.model.release();
  }
}

/** Loads a model folder (Optimum layout) on the first execution provider that works. */
export async function loadEngine(opts: LoadEngineOptions): Promise<OnnxInferenceEngine> {
  const maxBatch = opts.maxBatch ?? 8;
  if (!(Number.isInteger(maxBatch) && maxBatch >= 1)) throw new NonRetryableError(`maxBatch must be an integer >= 1, got ${maxBatch}`);
  const folder = await readModelFolder(opts.modelDir);
  const tokenizer = new ModelTokenizer(folder.tokenizerJson, folder.tokenizerConfig);
  const modelHash = await computeModelHash(folder.dir);
  const model = await WorkerDecoder.open({
    folder: decoderFolder(folder),
    providers: opts.providers ?? [...DEFAULT_PROVIDERS],
    settings: { threads: opts.threads, kvOnDevice: opts.kvOnDevice },
    tokenizerVocabSize: tokenizer.vocabSize,
    stallOnPromptId: opts.stallOnPromptId,
  });
  warnCpuFallback(opts.logger, model.provider, model.failures);
  opts.logger?.info(
    { provider: model.provider, modelHash, modelDir: folder.dir, kvCache: model.supportsCache, kvLocation: model.kvLocation },
    "inference engine ready",
  );
  return new OnnxInferenceEngine(folder.dir, modelHash, model.provider, folder.maxContext, tokenizer, model, maxBatch, opts.watchdog, folder.tokenizerConfig);
}

import * as ort from "onnxruntime-node";
import { NonRetryableError, RetryableError } from "../errors";
import type { ModelFolder } from "./modelFolder";
import { argmax, TokenSampler, type SamplingOptions } from "./sampling";

/** One prompt inside a batch (plain data: it crosses to the inference worker). */
export interface SequenceRequest {
  promptIds: readonly number[];
  maxNewTokens: number;
  /** absent → greedy; the seed makes the draw reproducible */
  sampling?: SamplingOptions;
}

/** The graph facts a DecoderModel reads from its session (what the worker reports back). */
export interface DecoderShape {
  numLayers: number;
  kvHeads: number;
  headDim: number;
  kvType: KvType;
  hasPositionIds: boolean;
  hasUseCacheBranch: boolean;
  vocabSize: number;
  kvLocation: "cpu" | "gpu-buffer";
}

/** What a decoder needs of the model folder (the tokenizer stays with the caller). */
export type DecoderFolder = Pick<ModelFolder, "dir" | "graphPath" | "config" | "eosTokenIds" | "padTokenId" | "configVocabSize">;

/** Just the DecoderFolder fields of a model folder (what is sent to the inference worker). */
export function decoderFolder({ dir, graphPath, config, eosTokenIds, padTokenId, configVocabSize }: DecoderFolder): DecoderFolder {
  return { dir, graphPath, config, eosTokenIds, padTokenId, configVocabSize };
}

export interface SequenceResult {
  tokenIds: number[];
  finishReason: "eos" | "length";
  /** last-position logits of every step, only with `collectLogits` (tests compare cached vs uncached) */
  stepLogits?: Float32Array[];
}

export interface BatchOptions {
  /** feed present → past between steps (default); false recomputes the whole sequence each step */
  useCache?: boolean;
  collectLogits?: boolean;
  /**
   * Called after every forward pass, once its tokens are chosen (progress, per-step timing), with the time it ended
   * in ms since the epoch, and the token each row chose in this step (undefined for a row that had already finished):
   * what streaming sends. The time is `Date.now()`: `performance.timeOrigin + performance.now()` keeps the wall clock
   * of the moment the thread started and was 13 s off `Date.now()` after the machine's clock was adjusted.
   */
  onStep?: (endedAt: number, tokens: (number | undefined)[]) => void;
}

type KvType = "float32" | "float16";

const PAST_INPUT = /^past_key_values\.(\d+)\.(key|value)$/;

/** float16 bits → number (for models exported with fp16 logits) */
function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

function toFloat32(t: ort.Tensor | undefined): Float32Array {
  if (!t) throw new NonRetryableError('the graph returned no "logits" output');
  if (t.type === "float32") return t.data as Float32Array;
  if (t.type === "float16") return Float32Array.from(t.data as Uint16Array, halfToFloat);
  throw new NonRetryableError(`output "logits" has unsupported type ${t.type}`);
}

function int64(values: ArrayLike<number>, dims: number[]): ort.Tensor {
  const data = new BigInt64Array(values.length);
  for (let i = 0; i < values.length; i++) data[i] = BigInt(values[i]);
  return new ort.Tensor("int64", data, dims);
}

/**
 * A decoder-only ONNX graph in the Optimum layout, read from its input/output metadata: with or without
 * position_ids, with or without past_key_values (KV cache), any number of KV heads (grouped-query attention),
 * fp32 or fp16 KV tensors.
 */
export class DecoderModel {
  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly folder: DecoderFolder,
    readonly numLayers: number,
    readonly kvHeads: number,
    readonly headDim: number,
    readonly kvType: KvType,
    readonly hasPositionIds: boolean,
    readonly hasUseCacheBranch: boolean,
    readonly vocabSize: number,
    /** "gpu-buffer": present.* tensors stay in device memory and must be disposed once fed back */
    readonly kvLocation: "cpu" | "gpu-buffer",
  ) {}

  /** Checks the graph against what the engine feeds and the tokenizer's vocabulary; throws NonRetryableError naming the tensor. */
  static fromSession(session: ort.InferenceSession, folder: DecoderFolder, tokenizerVocabSize: number, kvLocation: "cpu" | "gpu-buffer" = "cpu"): DecoderModel {
    const graph = folder.graphPath;
    const inputs = new Map(session.inputMetadata.map((m) => [m.name, m]));
    const outputs = new Map(session.outputMetadata.map((m) => [m.name, m]));
    for (const required of ["input_ids", "attention_mask"]) {
      if (!inputs.has(required)) throw new NonRetryableError(`graph ${graph} has no input "${required}" (inputs: ${[...inputs.keys()].join(", ")})`);
    }
    if (!outputs.has("logits")) throw new NonRetryableError(`graph ${graph} has no output "logits"`);

    let numLayers = 0;
    for (const name of inputs.keys()) {
      const m = PAST_INPUT.exec(name);
      if (m) numLayers = Math.max(numLayers, Number(m[1]) + 1);
      else if (!["input_ids", "attention_mask", "position_ids", "use_cache_branch"].includes(name)) {
        throw new NonRetryableError(`graph ${graph} has input "${name}" that a decoder-only model does not take`);
      }
    }
    for (let i = 0; i < numLayers; i++) {
      for (const kind of ["key", "value"]) {
        if (!inputs.has(`past_key_values.${i}.${kind}`)) throw new NonRetryableError(`graph ${graph} has no input "past_key_values.${i}.${kind}"`);
        if (!outputs.has(`present.${i}.${kind}`)) throw new NonRetryableError(`graph ${graph} has no output "present.${i}.${kind}"`);
      }
    }

    const cfg = folder.config;
    const num = (...keys: string[]): number | undefined => keys.map((k) => cfg[k]).find((v): v is number => typeof v === "number");
    let kvHeads = num("num_key_value_heads", "num_attention_heads", "n_head") ?? 0;
    const hidden = num("hidden_size", "n_embd") ?? 0;
    let headDim = num("head_dim") ?? (kvHeads ? hidden / (num("num_attention_heads", "n_head") ?? kvHeads) : 0);
    let kvType: KvType = "float32";
    const past0 = session.inputMetadata.find((m) => m.name === "past_key_values.0.key");
    if (past0 && past0.isTensor) {
      if (past0.type !== "float32" && past0.type !== "float16") throw new NonRetryableError(`graph input "past_key_values.0.key" has unsupported type ${past0.type}`);
      kvType = past0.type;
      if (typeof past0.shape[1] === "number") kvHeads = past0.shape[1];
      if (typeof past0.shape[3] === "number") headDim = past0.shape[3];
    }
    if (numLayers > 0 && !(kvHeads > 0 && Number.isInteger(headDim) && headDim > 0)) {
      throw new NonRetryableError(`cannot tell the KV cache shape of "past_key_values.0.key" from ${graph} or config.json`);
    }

    const logitsMeta = session.outputMetadata.find((m) => m.name === "logits");
    const logitsDim = logitsMeta && logitsMeta.isTensor ? logitsMeta.shape[2] : undefined;
    const modelVocab = typeof logitsDim === "number" ? logitsDim : folder.configVocabSize;
    if (modelVocab === undefined) throw new NonRetryableError(`cannot tell the vocabulary size of output "logits" from ${graph} or config.json`);
    if (typeof logitsDim === "number" && folder.configVocabSize !== undefined && folder.configVocabSize !== logitsDim) {
      throw new NonRetryableError(`vocabulary mismatch: config.json vocab_size ${folder.configVocabSize} but output "logits" of ${graph} has ${logitsDim}`);
    }
    if (tokenizerVocabSize > modelVocab) {
      throw new NonRetryableError(`vocabulary mismatch: tokenizer.json has ${tokenizerVocabSize} tokens but output "logits" of ${graph} has ${modelVocab}`);
    }
    return new DecoderModel(session, folder, numLayers, kvHeads, headDim, kvType, inputs.has("position_ids"), inputs.has("use_cache_branch"), modelVocab, kvLocation);
  }

  get shape(): DecoderShape {
    const { numLayers, kvHeads, headDim, kvType, hasPositionIds, hasUseCacheBranch, vocabSize, kvLocation } = this;
    return { numLayers, kvHeads, headDim, kvType, hasPositionIds, hasUseCacheBranch, vocabSize, kvLocation };
  }

  get supportsCache(): boolean {
    return this.numLayers > 0;
  }

  private emptyPast(batch: number): ort.Tensor {
    const dims = [batch, this.kvHeads, 0, this.headDim];
    return this.kvType === "float16" ? new ort.Tensor("float16", new Uint16Array(0), dims) : new ort.Tensor("float32", new Float32Array(0), dims);
  }

  /**
   * Runs several prompts in one batch: left padding, attention mask over the padding, position ids =
   * cumsum(mask) - 1, so every row gets the same tokens it would get alone. Rows that finish keep a slot
   * (fed the pad token) until the longest one ends.
   */
  async generateBatch(requests: readonly SequenceRequest[], opts: BatchOptions = {}): Promise<SequenceResult[]> {
    const useCache = (opts.useCache ?? true) && this.supportsCache;
    const batch = requests.length;
    const promptLen = Math.max(...requests.map((r) => r.promptIds.length));
    // Per row: the full token sequence (left padded), its mask and positions, all of the same length.
    const tokens = requests.map((r) => [...new Array<number>(promptLen - r.promptIds.length).fill(this.folder.padTokenId), ...r.promptIds]);
    const masks = requests.map((r) => tokens[0].map((_, j) => (j < promptLen - r.promptIds.length ? 0 : 1)));
    const positions = masks.map((mask) => {
      let sum = 0;
      return mask.map((m) => ((sum += m), Math.max(sum - 1, 0)));
    });
    const results: SequenceResult[] = requests.map(() => ({ tokenIds: [], finishReason: "length", stepLogits: opts.collectLogits ? [] : undefined }));
    const done = requests.map(() => false);
    const samplers = requests.map((r) => (r.sampling ? new TokenSampler(r.sampling) : undefined));
    let past: Record<string, ort.Tensor> | undefined;
    let fedFrom = 0; // index of the first column not yet seen by the model

    try {
      while (true) {
        const total = tokens[0].length;
        const from = useCache ? fedFrom : 0;
        const seq = total - from;
        const out = await this.step(tokens, masks, positions, from, past, batch);
        this.releaseDeviceTensors(past);
        past = useCache ? out : undefined;
        if (!useCache) this.releaseDeviceTensors(out);

        const logits = toFloat32(out.logits);
        const vocab = this.vocabSize;
        const chosen: (number | undefined)[] = new Array(batch).fill(undefined);
        for (let b = 0; b < batch; b++) {
          if (done[b]) continue;
          const offset = (b * seq + seq - 1) * vocab;
          const sampler = samplers[b];
          const next = sampler ? sampler.next(logits, offset, vocab) : argmax(logits, offset, vocab);
          results[b].stepLogits?.push(logits.slice(offset, offset + vocab));
          results[b].tokenIds.push(next);
          chosen[b] = next;
          if (this.folder.eosTokenIds.includes(next)) {
            done[b] = true;
            results[b].finishReason = "eos";
          } else if (results[b].tokenIds.length >= requests[b].maxNewTokens) done[b] = true;
        }
        opts.onStep?.(Date.now(), chosen);
        if (done.every(Boolean)) return results;
        fedFrom = total;
        for (let b = 0; b < batch; b++) {
          tokens[b].push(done[b] ? this.folder.padTokenId : results[b].tokenIds[results[b].tokenIds.length - 1]);
          masks[b].push(1);
          positions[b].push(positions[b][positions[b].length - 1] + 1);
        }
      }
    } finally {
      this.releaseDeviceTensors(past);
    }
  }

  /** One forward pass over columns `from..` of every row (all of them when there is no cache). */
  private async step(
    tokens: number[][],
    masks: number[][],
    positions: number[][],
    from: number,
    past: Record<string, ort.Tensor> | undefined,
    batch: number,
  ): Promise<Record<string, ort.Tensor>> {
    const total = tokens[0].length;
    const seq = total - from;
    const columns = (rows: number[][], start: number): number[] => rows.flatMap((r) => r.slice(start));
    const feeds: Record<string, ort.Tensor> = {
      input_ids: int64(columns(tokens, from), [batch, seq]),
      attention_mask: int64(columns(masks, 0), [batch, total]),
    };
    if (this.hasPositionIds) feeds.position_ids = int64(columns(positions, from), [batch, seq]);
    if (this.hasUseCacheBranch) feeds.use_cache_branch = new ort.Tensor("bool", Uint8Array.of(past ? 1 : 0), [1]);
    for (let i = 0; i < this.numLayers; i++) {
      for (const kind of ["key", "value"]) feeds[`past_key_values.${i}.${kind}`] = past?.[`present.${i}.${kind}`] ?? this.emptyPast(batch);
    }
    try {
      return (await this.session.run(feeds)) as Record<string, ort.Tensor>;
    } catch (err) {
      throw new RetryableError(`inference run failed on ${this.folder.graphPath}`, { cause: err });
    }
  }

  /** Frees KV tensors held in device memory (a no-op for CPU tensors, which the garbage collector frees). */
  private releaseDeviceTensors(outputs: Record<string, ort.Tensor> | undefined): void {
    if (!outputs || this.kvLocation === "cpu") return;
    for (const [name, tensor] of Object.entries(outputs)) if (name.startsWith("present.") && tensor.location === "gpu-buffer") tensor.dispose();
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

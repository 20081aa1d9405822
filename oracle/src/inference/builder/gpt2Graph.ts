import { ElemType, OnnxGraphBuilder } from "./onnxGraph";
import { Prng } from "../../prng";

/** Shape and weight settings of a GPT-2-style decoder (the seed's architecture). */
export interface Gpt2Shape {
  vocabSize: number;
  nPositions: number;
  nEmbd: number;
  nLayer: number;
  nHead: number;
  layerNormEpsilon: number;
  /**
   * Variants that exported Hugging Face models have, so tests can check the engine reads them from the graph:
   * fewer KV heads than query heads (grouped-query attention), fp16 KV tensors, no position_ids input
   * (positions computed from the attention mask inside the graph). Defaults: plain GPT-2.
   */
  nKvHead?: number;
  kvDtype?: "float32" | "float16";
  positionIdsInput?: boolean;
  /**
   * Write each block with onnxruntime's fused contrib ops (com.microsoft MultiHeadAttention with past and
   * attention bias, SkipLayerNormalization, BiasGelu), as `optimum-cli onnxruntime optimize` leaves an exported
   * GPT-2: 9 nodes per block instead of ~30. Same weights and inputs/outputs as the plain graph, logits within
   * float rounding of it. The plain graph is the default (it runs on any ONNX runtime).
   */
  fusedOps?: boolean;
}

export interface Gpt2WeightInit {
  seed: number;
  /** standard deviation of the token and position embedding entries */
  embeddingStd: number;
  /**
   * Output standard deviation of each linear layer for unit-variance input (weights uniform in ±gain·√(3/fan_in)).
   * With random weights a strong MLP makes the next token a varied function of token, position and context
   * instead of an echo of the current token.
   */
  attentionGain: number;
  mlpGain: number;
  residualGain: number;
  /**
   * Token ids whose tied embedding rows are shrunk by `quietTokenScale`. With random weights, shrinking
   * EOS and the non-ASCII byte tokens keeps greedy output from ending at once or being mostly broken UTF-8.
   */
  quietTokenIds: readonly number[];
  quietTokenScale: number;
}

/**
 * Weights learned elsewhere (`npm run model:train`), by transformers' GPT2LMHeadModel names, linear weights as
 * [in, out] (GPT-2's Conv1D layout). Every tensor the graph needs must be there with its exact size.
 */
export interface Gpt2TrainedWeights {
  tensors: ReadonlyMap<string, Float32Array>;
}

function isTrained(init: Gpt2WeightInit | Gpt2TrainedWeights): init is Gpt2TrainedWeights {
  return "tensors" in init;
}

const F = ElemType.FLOAT;
const F16 = ElemType.FLOAT16;
const I64 = ElemType.INT64;
const NEG_LARGE = -1e9; // exp(NEG_LARGE - max) underflows to exactly 0, so masked keys contribute nothing

/** Number of weights, for reports and benchmarks. */
export function gpt2ParamCount(s: Gpt2Shape): number {
  const d = s.nEmbd;
  const qkv = d + 2 * (s.nKvHead ?? s.nHead) * (d / s.nHead);
  const perLayer = 2 * d + (d * qkv + qkv) + (d * d + d) + 2 * d + (d * 4 * d + 4 * d) + (4 * d * d + d);
  return s.vocabSize * d + s.nPositions * d + s.nLayer * perLayer + 2 * d;
}

/**
 * Writes a GPT-2 decoder in the Hugging Face Optimum "decoder with past" layout (one graph, empty past at the
 * first step): token + position embeddings → pre-LayerNorm blocks (causal multi-head self-attention, GELU MLP)
 * → final LayerNorm → output layer tied to the token embedding. Weight names follow transformers' GPT2LMHeadModel.
 */
export function buildGpt2Graph(shape: Gpt2Shape, init: Gpt2WeightInit | Gpt2TrainedWeights): OnnxGraphBuilder {
  const { vocabSize: V, nPositions: P, nEmbd: D, nLayer: L, nHead: H } = shape;
  if (D % H !== 0) throw new RangeError(`n_embd ${D} is not divisible by n_head ${H}`);
  const hd = D / H;
  const KVH = shape.nKvHead ?? H;
  if (H % KVH !== 0) throw new RangeError(`n_head ${H} is not a multiple of the KV heads ${KVH}`);
  const kvD = KVH * hd;
  const kvType = shape.kvDtype === "float16" ? F16 : F;
  const g = new OnnxGraphBuilder();
  const trained = isTrained(init) ? init.tensors : undefined;
  const random = isTrained(init) ? undefined : init;
  const prng = new Prng(random?.seed ?? 0);
  const uniform = (n: number, limit: number): Float32Array => prng.fillUniform(new Float32Array(n), limit);
  const embeddingLimit = (random?.embeddingStd ?? 0) * Math.sqrt(3);
  const limitFor = (gain: number, fanIn: number): number => gain * Math.sqrt(3 / fanIn);
  const filled = (n: number, value: number): Float32Array => new Float32Array(n).fill(value);
  // A weight: the trained tensor of that name, or (random weights) what `draw` makes. Draw order fixes the bytes.
  const weightData = (name: string, n: number, draw: () => Float32Array): Float32Array => {
    if (!trained) return draw();
    const data = trained.get(name);
    if (!data) throw new RangeError(`trained weights have no tensor ${name}`);
    if (data.length !== n) throw new RangeError(`trained tensor ${name} has ${data.length} values, the shape needs ${n}`);
    return data;
  };
  const gains = { attention: random?.attentionGain ?? 0, mlp: random?.mlpGain ?? 0, residual: random?.residualGain ?? 0 };

  const inputIds = g.input("input_ids", I64, ["batch_size", "sequence_length"]);
  const attentionMask = g.input("attention_mask", I64, ["batch_size", "past_sequence_length + sequence_length"]);
  const withPositionIds = shape.positionIdsInput ?? true;
  const positionIdsInput = withPositionIds ? g.input("position_ids", I64, ["batch_size", "sequence_length"]) : "";
  const pastShape = ["batch_size", KVH, "past_sequence_length", hd];
  for (let i = 0; i < L; i++) {
    g.input(`past_key_values.${i}.key`, kvType, pastShape);
    g.input(`past_key_values.${i}.value`, kvType, pastShape);
  }
  g.output("logits", F, ["batch_size", "sequence_length", V]);

  // Embeddings. The quiet tokens' rows are shrunk; the output layer reuses this tensor (tied weights).
  const wteData = weightData("transformer.wte.weight", V * D, () => {
    const data = uniform(V * D, embeddingLimit);
    for (const id of random!.quietTokenIds) {
      for (let j = 0; j < D; j++) data[id * D + j] = Math.fround(data[id * D + j] * random!.quietTokenScale);
    }
    return data;
  });
  const wte = g.floatTensor("transformer.wte.weight", [V, D], wteData);
  const wpe = g.floatTensor("transformer.wpe.weight", [P, D], weightData("transformer.wpe.weight", P * D, () => uniform(P * D, embeddingLimit)));
  const embed = (positionIds: string): string =>
    g.op("Add", [g.op("Gather", [wte, inputIds], { axis: 0 }), g.op("Gather", [wpe, positionIds], { axis: 0 })]);
  // (With a position_ids input the embedding nodes come first, which keeps the built-in presets' bytes.)
  let hidden = withPositionIds ? embed(positionIdsInput) : "";

  // Additive attention bias [batch, 1, seq, past+seq]: causal part from absolute positions, padding part from the mask.
  const zero = g.int64Tensor("const.zero", [], [0]);
  const one = g.int64Tensor("const.one", [], [1]);
  const axisOne = g.int64Tensor("const.axes_1", [1], [1]);
  const axesOneTwo = g.int64Tensor("const.axes_1_2", [2], [1, 2]);
  const oneF = g.floatTensor("const.one_f", [], Float32Array.of(1));
  const negLarge = g.floatTensor("const.neg_large", [], Float32Array.of(NEG_LARGE));
  const zeroF = g.floatTensor("const.zero_f", [], Float32Array.of(0));
  const seqLen = g.op("Gather", [g.op("Shape", [inputIds]), one], { axis: 0 });
  const totalLen = g.op("Gather", [g.op("Shape", [attentionMask]), one], { axis: 0 });
  const pastLen = g.op("Sub", [totalLen, seqLen]);
  const queryPos = g.op("Unsqueeze", [g.op("Range", [pastLen, totalLen, one]), axisOne]);
  const keyPos = g.op("Range", [zero, totalLen, one]);
  const causalBias = g.op("Where", [g.op("Greater", [keyPos, queryPos]), negLarge, zeroF]);
  const maskF = g.op("Cast", [attentionMask], { to: F });
  const padBias = g.op("Unsqueeze", [g.op("Mul", [g.op("Sub", [oneF, maskF]), negLarge]), axesOneTwo]);
  const attnBias = g.op("Add", [padBias, causalBias]);

  if (!withPositionIds) {
    // positions = max(cumsum(mask) - 1, 0), last seq_len columns
    const positions = g.op("Slice", [
      g.op("Max", [g.op("Sub", [g.op("CumSum", [attentionMask, one]), one]), zero]),
      g.op("Neg", [g.op("Unsqueeze", [seqLen, g.int64Tensor("const.axes_0", [1], [0])])]),
      g.int64Tensor("const.int64_max", [1], [Number.MAX_SAFE_INTEGER]),
      axisOne,
    ]);
    hidden = embed(positions);
  }

  const splitSizes = g.int64Tensor("const.qkv_split", [3], [D, kvD, kvD]);
  // Weight tensors, shared by both graph forms (each call draws from the PRNG, so call order fixes the bytes).
  const weight = (name: string, inDim: number, outDim: number, gain: number): string =>
    g.floatTensor(name, [inDim, outDim], weightData(name, inDim * outDim, () => uniform(inDim * outDim, limitFor(gain, inDim))));
  const bias = (name: string, outDim: number, gain: number): string => g.floatTensor(name, [outDim], weightData(name, outDim, () => uniform(outDim, gain * 0.1)));
  const norm = (prefix: string): [string, string] => [
    g.floatTensor(`${prefix}.weight`, [D], weightData(`${prefix}.weight`, D, () => filled(D, 1))),
    g.floatTensor(`${prefix}.bias`, [D], weightData(`${prefix}.bias`, D, () => filled(D, 0))),
  ];
  const layerNorm = (x: string, prefix: string): string =>
    g.op("LayerNormalization", [x, ...norm(prefix)], { axis: -1, epsilon: { float: shape.layerNormEpsilon } });
  if (shape.fusedOps) {
    if (KVH !== H || kvType !== F) throw new RangeError("fusedOps builds float32 multi-head attention only (no nKvHead, no float16 KV)");
    const ms = "com.microsoft";
    // residual + branch + branch bias, then LayerNorm: returns [normalized, new residual]
    const skipNorm = (branch: string, residual: string, branchBias: string, prefix: string): [string, string] => {
      const [normalized, sum] = [g.tensorName("SkipLayerNormalization"), g.tensorName("ResidualSum")];
      g.domainNode(ms, "SkipLayerNormalization", [branch, residual, ...norm(prefix), branchBias], { epsilon: { float: shape.layerNormEpsilon } }, [normalized, "", "", sum]);
      return [normalized, sum];
    };
    // Weights are drawn in the plain graph's order (c_attn, c_proj, c_fc, mlp.c_proj per block), so both graphs
    // of one preset hold the same numbers.
    let residual = hidden;
    let pending: { branch: string; bias: string } | undefined;
    for (let i = 0; i < L; i++) {
      const p = `transformer.h.${i}`;
      let x: string;
      if (pending) [x, residual] = skipNorm(pending.branch, residual, pending.bias, `${p}.ln_1`);
      else x = layerNorm(residual, `${p}.ln_1`);
      const qkvWeight = weight(`${p}.attn.c_attn.weight`, D, 3 * D, gains.attention);
      const qkvBias = bias(`${p}.attn.c_attn.bias`, 3 * D, gains.attention);
      const [q, k, v] = g.node("Split", [g.op("MatMul", [x, qkvWeight]), splitSizes], { axis: 2 }, undefined, 3);
      const context = g.tensorName("MultiHeadAttention");
      g.domainNode(ms, "MultiHeadAttention", [q, k, v, qkvBias, "", attnBias, `past_key_values.${i}.key`, `past_key_values.${i}.value`], { num_heads: H, scale: { float: 1 / Math.sqrt(hd) } }, [context, `present.${i}.key`, `present.${i}.value`]);
      for (const kind of ["key", "value"]) g.output(`present.${i}.${kind}`, F, ["batch_size", KVH, "past_sequence_length + sequence_length", hd]);
      const attnOut = g.op("MatMul", [context, weight(`${p}.attn.c_proj.weight`, D, D, gains.residual)]);
      const attnBiasWeights = bias(`${p}.attn.c_proj.bias`, D, gains.residual);
      let y: string;
      [y, residual] = skipNorm(attnOut, residual, attnBiasWeights, `${p}.ln_2`);
      const up = g.op("MatMul", [y, weight(`${p}.mlp.c_fc.weight`, D, 4 * D, gains.mlp)]);
      const gelu = g.domainNode(ms, "BiasGelu", [up, bias(`${p}.mlp.c_fc.bias`, 4 * D, gains.mlp)])[0];
      const down = g.op("MatMul", [gelu, weight(`${p}.mlp.c_proj.weight`, 4 * D, D, gains.residual)]);
      pending = { branch: down, bias: bias(`${p}.mlp.c_proj.bias`, D, gains.residual) };
    }
    const [final] = pending ? skipNorm(pending.branch, residual, pending.bias, "transformer.ln_f") : [layerNorm(residual, "transformer.ln_f")];
    g.node("MatMul", [final, g.op("Transpose", [wte], { perm: [1, 0] })], {}, ["logits"]);
    return g;
  }

  const headsShape = g.int64Tensor("const.heads_shape", [4], [0, 0, H, hd]);
  const kvHeadsShape = KVH === H ? headsShape : g.int64Tensor("const.kv_heads_shape", [4], [0, 0, KVH, hd]);
  const repeatShape = KVH === H ? "" : g.int64Tensor("const.kv_repeat", [5], [1, 1, H / KVH, 1, 1]);
  const groupedShape = KVH === H ? "" : g.int64Tensor("const.kv_grouped_shape", [4], [0, H, -1, hd]);
  const axisTwo = KVH === H ? "" : g.int64Tensor("const.axes_2", [1], [2]);
  const mergedShape = g.int64Tensor("const.merged_shape", [3], [0, 0, D]);
  const scale = g.floatTensor("const.attn_scale", [], Float32Array.of(1 / Math.sqrt(hd)));
  const half = g.floatTensor("const.half", [], Float32Array.of(0.5));
  const sqrt2 = g.floatTensor("const.sqrt2", [], Float32Array.of(Math.SQRT2));

  const linear = (x: string, prefix: string, inDim: number, outDim: number, gain: number): string =>
    g.op("Add", [g.op("MatMul", [x, weight(`${prefix}.weight`, inDim, outDim, gain)]), bias(`${prefix}.bias`, outDim, gain)]);
  const toHeads = (x: string, target = headsShape): string => g.op("Transpose", [g.op("Reshape", [x, target])], { perm: [0, 2, 1, 3] });
  // present = concat(past, new) in the KV dtype; attention reads it back as float32, so cached and uncached
  // runs see the same (rounded) values.
  const cacheInto = (past: string, fresh: string, present: string): string => {
    const stored = kvType === F ? fresh : g.op("Cast", [fresh], { to: F16 });
    const out = g.node("Concat", [past, stored], { axis: 2 }, [present])[0];
    g.output(out, kvType, ["batch_size", KVH, "past_sequence_length + sequence_length", hd]);
    const asFloat = kvType === F ? out : g.op("Cast", [out], { to: F });
    // grouped-query attention: each KV head serves H / KVH query heads
    return KVH === H ? asFloat : g.op("Reshape", [g.op("Expand", [g.op("Unsqueeze", [asFloat, axisTwo]), repeatShape]), groupedShape]);
  };

  for (let i = 0; i < L; i++) {
    const p = `transformer.h.${i}`;
    const qkv = linear(layerNorm(hidden, `${p}.ln_1`), `${p}.attn.c_attn`, D, D + 2 * kvD, gains.attention);
    const [q, k, v] = g.node("Split", [qkv, splitSizes], { axis: 2 }, undefined, 3);
    const key = cacheInto(`past_key_values.${i}.key`, toHeads(k, kvHeadsShape), `present.${i}.key`);
    const value = cacheInto(`past_key_values.${i}.value`, toHeads(v, kvHeadsShape), `present.${i}.value`);
    const scores = g.op("Add", [g.op("Mul", [g.op("MatMul", [toHeads(q), g.op("Transpose", [key], { perm: [0, 1, 3, 2] })]), scale]), attnBias]);
    const context = g.op("MatMul", [g.op("Softmax", [scores], { axis: -1 }), value]);
    const merged = g.op("Reshape", [g.op("Transpose", [context], { perm: [0, 2, 1, 3] }), mergedShape]);
    hidden = g.op("Add", [hidden, linear(merged, `${p}.attn.c_proj`, D, D, gains.residual)]);

    const up = linear(layerNorm(hidden, `${p}.ln_2`), `${p}.mlp.c_fc`, D, 4 * D, gains.mlp);
    // exact GELU from opset-17 primitives; onnxruntime fuses the pattern into one Gelu kernel
    const gelu = g.op("Mul", [g.op("Mul", [up, half]), g.op("Add", [oneF, g.op("Erf", [g.op("Div", [up, sqrt2])])])]);
    hidden = g.op("Add", [hidden, linear(gelu, `${p}.mlp.c_proj`, 4 * D, D, gains.residual)]);
  }
  const final = layerNorm(hidden, "transformer.ln_f");
  g.node("MatMul", [final, g.op("Transpose", [wte], { perm: [1, 0] })], {}, ["logits"]);
  return g;
}

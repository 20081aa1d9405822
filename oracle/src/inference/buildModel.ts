import { promises as fs } from "node:fs";
import * as path from "node:path";
import { byteLevelToBytes } from "./byteLevel";
import { TOKENIZER_CORPUS } from "./builder/corpus";
import { buildGpt2Graph, gpt2ParamCount } from "./builder/gpt2Graph";
import { trainByteLevelBpe } from "./builder/bpeTrainer";
import { MODEL_PRESETS, type ModelPreset, type PresetName } from "./builder/presets";

export { MODEL_PRESETS, isPresetName, type ModelPreset, type PresetName } from "./builder/presets";

/** Where `ensureTinyModel()` puts the tiny model: `<repo>/models/tiny` (gitignored). */
export const DEFAULT_TINY_MODEL_DIR = path.resolve(__dirname, "../../../models/tiny");

const EOS_TOKEN = "<|endoftext|>";
const OPSET = 17;
const BUILDER_VERSION = 1;

export interface BuiltModel {
  dir: string;
  params: number;
  files: string[];
}

/** Tokenizer files in the GPT-2 tokenizer.json format that @huggingface/tokenizers (and the Rust crate) read. */
function tokenizerFiles(preset: ModelPreset): { tokenizerJson: string; tokenizerConfigJson: string; eosId: number; quietIds: number[] } {
  const { vocab, merges } = trainByteLevelBpe(TOKENIZER_CORPUS, preset.vocabSize - 1, preset.seed);
  const eosId = vocab.size;
  // Written by hand rather than JSON.stringify(object) so the vocab keeps id order ("0".."9" are integer-like keys).
  const vocabJson = [...vocab.entries()].map(([token, id]) => `${JSON.stringify(token)}:${id}`).join(",");
  const tokenizer = {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: [{ id: eosId, content: EOS_TOKEN, single_word: false, lstrip: false, rstrip: false, normalized: true, special: true }],
    normalizer: null,
    pre_tokenizer: { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: { type: "ByteLevel", add_prefix_space: true, trim_offsets: false, use_regex: true },
    decoder: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: "BPE",
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: "",
      end_of_word_suffix: "",
      fuse_unk: false,
      byte_fallback: false,
      vocab: "__VOCAB__",
      merges,
    },
  };
  const tokenizerJson = JSON.stringify(tokenizer, null, 1).replace('"__VOCAB__"', `{${vocabJson}}`) + "\n";
  const tokenizerConfig = {
    add_prefix_space: false,
    bos_token: EOS_TOKEN,
    eos_token: EOS_TOKEN,
    unk_token: EOS_TOKEN,
    clean_up_tokenization_spaces: false,
    model_max_length: preset.nPositions,
    tokenizer_class: "GPT2Tokenizer",
  };
  const quietIds = [eosId];
  const printable = (b: number): boolean => (b >= 0x20 && b < 0x7f) || b === 0x0a;
  for (const [token, id] of vocab) {
    const bytes = byteLevelToBytes(token)!;
    if (!bytes.every(printable)) quietIds.push(id);
  }
  return { tokenizerJson, tokenizerConfigJson: JSON.stringify(tokenizerConfig, null, 2) + "\n", eosId, quietIds };
}

/**
 * Builds a deterministic GPT-2-style model folder (Optimum layout) at `dir`:
 * config.json, generation_config.json, tokenizer.json, tokenizer_config.json, onnx/model.onnx
 * (+ onnx/model.onnx_data for big presets). Same preset → byte-identical files.
 * Writes into a temporary sibling folder and renames it, so a reader never sees half a model.
 */
export async function buildModel(
  dir: string,
  preset: ModelPreset | PresetName = "tiny",
  opts: { replaceExisting?: boolean } = {},
): Promise<BuiltModel> {
  const replaceExisting = opts.replaceExisting ?? true;
  const spec: ModelPreset = typeof preset === "string" ? MODEL_PRESETS[preset] : preset;
  const target = path.resolve(dir);
  const tmp = `${target}.tmp-${process.pid}-${Date.now()}`;
  const { tokenizerJson, tokenizerConfigJson, eosId, quietIds } = tokenizerFiles(spec);
  const graph = buildGpt2Graph(spec, { ...spec, quietTokenIds: quietIds });
  const externalName = spec.externalData ? "model.onnx_data" : undefined;
  const serialized = graph.serialize({ opset: OPSET, producer: `chat-oracle-model-builder/${BUILDER_VERSION}`, externalDataFile: externalName });

  const config = {
    architectures: ["GPT2LMHeadModel"],
    model_type: "gpt2",
    vocab_size: spec.vocabSize,
    n_positions: spec.nPositions,
    n_ctx: spec.nPositions,
    n_embd: spec.nEmbd,
    n_layer: spec.nLayer,
    n_head: spec.nHead,
    ...(spec.nKvHead !== undefined && spec.nKvHead !== spec.nHead && { num_key_value_heads: spec.nKvHead }),
    layer_norm_epsilon: spec.layerNormEpsilon,
    activation_function: "gelu",
    tie_word_embeddings: true,
    bos_token_id: eosId,
    eos_token_id: eosId,
    use_cache: true,
    chat_oracle_builder: {
      version: BUILDER_VERSION,
      seed: spec.seed,
      embedding_std: spec.embeddingStd,
      attention_gain: spec.attentionGain,
      mlp_gain: spec.mlpGain,
      residual_gain: spec.residualGain,
      quiet_token_scale: spec.quietTokenScale,
      ...(spec.fusedOps && { fused_ops: true }),
    },
  };
  const generationConfig = { bos_token_id: eosId, eos_token_id: eosId, do_sample: false };

  await fs.rm(tmp, { recursive: true, force: true });
  await fs.mkdir(path.join(tmp, "onnx"), { recursive: true });
  try {
    await fs.writeFile(path.join(tmp, "config.json"), JSON.stringify(config, null, 2) + "\n");
    await fs.writeFile(path.join(tmp, "generation_config.json"), JSON.stringify(generationConfig, null, 2) + "\n");
    await fs.writeFile(path.join(tmp, "tokenizer.json"), tokenizerJson);
    await fs.writeFile(path.join(tmp, "tokenizer_config.json"), tokenizerConfigJson);
    await fs.writeFile(path.join(tmp, "onnx", "model.onnx"), serialized.graph);
    if (externalName && serialized.external) {
      const handle = await fs.open(path.join(tmp, "onnx", externalName), "w");
      try {
        for (const chunk of serialized.external) await handle.write(chunk);
      } finally {
        await handle.close();
      }
    }
    await fs.mkdir(path.dirname(target), { recursive: true });
    if (replaceExisting) await fs.rm(target, { recursive: true, force: true });
    if (replaceExisting || !(await exists(target))) await fs.rename(tmp, target);
  } finally {
    await fs.rm(tmp, { recursive: true, force: true });
  }
  const files = ["config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json", "onnx/model.onnx"];
  if (externalName) files.push(`onnx/${externalName}`);
  return { dir: target, params: gpt2ParamCount(spec), files };
}

async function exists(p: string): Promise<boolean> {
  return fs.access(p).then(() => true, () => false);
}

/** Builds the tiny preset at `dir` (default `models/tiny`) unless a model is already there; returns the folder. */
export async function ensureTinyModel(dir: string = DEFAULT_TINY_MODEL_DIR): Promise<string> {
  const target = path.resolve(dir);
  if ((await exists(path.join(target, "config.json"))) && (await exists(path.join(target, "onnx", "model.onnx")))) return target;
  try {
    // Never replace: another process (a second validator, a parallel test) may be reading a copy it just built.
    await buildModel(target, "tiny", { replaceExisting: false });
  } catch (err) {
    // Two builders can race to the rename; the loser's copy is identical, so the winner's is fine.
    if (!(await exists(path.join(target, "onnx", "model.onnx")))) throw err;
  }
  return target;
}

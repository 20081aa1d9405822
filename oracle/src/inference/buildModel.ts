import { promises as fs } from "node:fs";
import * as path from "node:path";
import { byteLevelToBytes } from "./byteLevel";
import { TOKENIZER_CORPUS } from "./builder/corpus";
import { buildGpt2Graph, gpt2ParamCount } from "./builder/gpt2Graph";
import { trainByteLevelBpe, type TrainedBpe } from "./builder/bpeTrainer";
import { MODEL_PRESETS, type ModelPreset, type PresetName } from "./builder/presets";

export { MODEL_PRESETS, isPresetName, type ModelPreset, type PresetName } from "./builder/presets";

/** Where `ensureTinyModel()` puts the tiny model: `<repo>/models/tiny` (gitignored). */
export const DEFAULT_TINY_MODEL_DIR = path.resolve(__dirname, "../../../models/tiny");

/** The model `npm run model:train` writes and the repository commits: `<repo>/models/trained`, the demo's model. */
export const DEFAULT_TRAINED_MODEL_DIR = path.resolve(__dirname, "../../../models/trained");

export const EOS_TOKEN = "<|endoftext|>";
export const OPSET = 17;
const BUILDER_VERSION = 1;

export interface BuiltModel {
  dir: string;
  params: number;
  files: string[];
}

/**
 * Tokenizer files in the GPT-2 tokenizer.json format that @huggingface/tokenizers (and the Rust crate) read, for
 * learned BPE merges plus EOS as the last id. `chatTemplate` (Jinja, as transformers' apply_chat_template reads it)
 * goes into tokenizer_config.json.
 */
export function tokenizerFilesFor(
  { vocab, merges }: TrainedBpe,
  opts: { nPositions: number; chatTemplate?: string },
): { tokenizerJson: string; tokenizerConfigJson: string; eosId: number } {
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
    model_max_length: opts.nPositions,
    tokenizer_class: "GPT2Tokenizer",
    ...(opts.chatTemplate !== undefined && { chat_template: opts.chatTemplate }),
  };
  return { tokenizerJson, tokenizerConfigJson: JSON.stringify(tokenizerConfig, null, 2) + "\n", eosId };
}

function tokenizerFiles(preset: ModelPreset): { tokenizerJson: string; tokenizerConfigJson: string; eosId: number; quietIds: number[] } {
  const { vocab, merges } = trainByteLevelBpe(TOKENIZER_CORPUS, preset.vocabSize - 1, preset.seed);
  const { tokenizerJson, tokenizerConfigJson, eosId } = tokenizerFilesFor({ vocab, merges }, { nPositions: preset.nPositions });
  const quietIds = [eosId];
  const printable = (b: number): boolean => (b >= 0x20 && b < 0x7f) || b === 0x0a;
  for (const [token, id] of vocab) {
    const bytes = byteLevelToBytes(token)!;
    if (!bytes.every(printable)) quietIds.push(id);
  }
  return { tokenizerJson, tokenizerConfigJson, eosId, quietIds };
}

/**
 * Builds a deterministic GPT-2-style model folder (Optimum layout) at `dir`:
 * config.json, generation_config.json, tokenizer.json, tokenizer_config.json, onnx/model.onnx
 * (+ onnx/model.onnx_data for big presets). Same preset → byte-identical files, written by `writeModelFolder`.
 */
export async function buildModel(
  dir: string,
  preset: ModelPreset | PresetName = "tiny",
  opts: { replaceExisting?: boolean } = {},
): Promise<BuiltModel> {
  const replaceExisting = opts.replaceExisting ?? true;
  const spec: ModelPreset = typeof preset === "string" ? MODEL_PRESETS[preset] : preset;
  const target = path.resolve(dir);
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

  const files: ModelFile[] = [
    { path: "config.json", data: JSON.stringify(config, null, 2) + "\n" },
    { path: "generation_config.json", data: JSON.stringify(generationConfig, null, 2) + "\n" },
    { path: "tokenizer.json", data: tokenizerJson },
    { path: "tokenizer_config.json", data: tokenizerConfigJson },
    { path: "onnx/model.onnx", data: serialized.graph },
  ];
  if (externalName && serialized.external) files.push({ path: `onnx/${externalName}`, data: serialized.external });
  await writeModelFolder(target, files, { replaceExisting });
  return { dir: target, params: gpt2ParamCount(spec), files: files.map((f) => f.path) };
}

/** A file of a model folder: a POSIX path relative to the folder and its contents (chunks written in order). */
export interface ModelFile {
  path: string;
  data: string | Uint8Array | Uint8Array[];
}

/**
 * Writes `files` into a temporary sibling folder and renames it to `dir`, so a reader never sees half a model.
 * Without `replaceExisting` an existing folder is left alone.
 */
export async function writeModelFolder(dir: string, files: readonly ModelFile[], opts: { replaceExisting?: boolean } = {}): Promise<void> {
  const replaceExisting = opts.replaceExisting ?? true;
  const target = path.resolve(dir);
  const tmp = `${target}.tmp-${process.pid}-${Date.now()}`;
  await fs.rm(tmp, { recursive: true, force: true });
  await fs.mkdir(tmp, { recursive: true });
  try {
    for (const file of files) {
      const abs = path.join(tmp, ...file.path.split("/"));
      await fs.mkdir(path.dirname(abs), { recursive: true });
      const handle = await fs.open(abs, "w");
      try {
        for (const chunk of Array.isArray(file.data) ? file.data : [file.data]) {
          await handle.write(typeof chunk === "string" ? Buffer.from(chunk, "utf8") : chunk);
        }
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

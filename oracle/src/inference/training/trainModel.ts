import { spawn } from "node:child_process";
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { trainByteLevelBpe } from "../builder/bpeTrainer";
import { buildGpt2Graph, gpt2ParamCount, type Gpt2Shape } from "../builder/gpt2Graph";
import { DEFAULT_TRAINED_MODEL_DIR, OPSET, tokenizerFilesFor, writeModelFolder, type ModelFile } from "../buildModel";
import { computeModelHash } from "../modelHash";
import { Prng } from "../../prng";
import { ModelTokenizer } from "../tokenizer";
import { readSafetensors } from "./safetensors";
import { DEBIAN_WORDNET_DIR, readWordnetCorpus, type QaPair } from "./wordnetCorpus";

/** Debian's python3 with python3-torch (a pyenv `python3` earlier on PATH may lack torch). */
export const DEFAULT_PYTHON = "/usr/bin/python3";

const TRAINER_SCRIPT = path.join(__dirname, "train_gpt.py");

/**
 * The chat template (Jinja, as transformers' `apply_chat_template` reads it): the same layout as the training
 * documents, a user turn ending in a newline and an assistant turn ending in EOS, so `What is a dog?` as a raw
 * prompt and a one-turn chat give the model the same ids. System turns are not part of the training data and
 * are left out.
 */
export const CHAT_TEMPLATE =
  "{% for message in messages %}{% if message['role'] == 'user' %}{{ message['content'] }}\n" +
  "{% elif message['role'] == 'assistant' %}{{ message['content'] }}{{ eos_token }}{% endif %}{% endfor %}";

/** What `npm run model:train` trains by default: 1.07M parameters, about 30 minutes on one core here. */
export const TRAINED_MODEL_SPEC = {
  vocabSize: 2048,
  nPositions: 128,
  nEmbd: 128,
  nLayer: 4,
  nHead: 4,
  layerNormEpsilon: 1e-5,
  steps: 1600,
  batch: 32,
  seed: 20261202,
};

export interface TrainOptions {
  out?: string;
  /** folder for the token ids and the trainer's output (default: `.data/train` at the repository root) */
  workDir?: string;
  wordnetDir?: string;
  python?: string;
  steps?: number;
  seed?: number;
  log?: (line: string) => void;
}

export interface TrainedModel {
  dir: string;
  modelHash: string;
  params: number;
  training: TrainingSummary;
}

/** training.json as train_gpt.py writes it, plus the corpus figures this side adds. */
export interface TrainingSummary {
  params: number;
  train_loss: number;
  heldout_loss: number;
  [key: string]: unknown;
}

/** One training document: the question, a newline, the answer (EOS follows in the token stream). */
export const documentText = (pair: QaPair): string => `${pair.question}\n${pair.answer}`;

function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  const prng = new Prng(seed);
  for (let i = out.length - 1; i > 0; i--) {
    const j = prng.nextInt(i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

function encodeDocuments(tokenizer: ModelTokenizer, pairs: readonly QaPair[], eosId: number): Uint16Array {
  const ids: number[] = [];
  for (const pair of pairs) {
    for (const id of tokenizer.encode(documentText(pair))) ids.push(id);
    ids.push(eosId);
  }
  if (eosId > 0xffff) throw new RangeError(`token ids must fit in 16 bits, EOS is ${eosId}`);
  return Uint16Array.from(ids);
}

function runTrainer(python: string, args: string[], log: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(python, [TRAINER_SCRIPT, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    let pending = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      const lines = (pending + chunk).split("\n");
      pending = lines.pop() ?? "";
      for (const line of lines) log(line);
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    child.on("error", (err) => reject(new Error(`cannot run ${python} (Debian: apt-get install python3-torch)`, { cause: err })));
    child.on("close", (code) => {
      if (pending) log(pending);
      if (code === 0) resolve();
      else reject(new Error(`${path.basename(TRAINER_SCRIPT)} exited with ${code}: ${stderr.trim().split("\n").slice(-1)[0] ?? ""}`));
    });
  });
}

/**
 * Trains the seed's GPT on WordNet question → definition pairs and writes the model folder (Optimum layout):
 * WordNet corpus → byte-level BPE learned on the training split → token ids (through the engine's own tokenizer)
 * → train_gpt.py (PyTorch, one thread, seeded) → weights → the same ONNX graph writer as the built-in presets.
 */
export async function trainModel(opts: TrainOptions = {}): Promise<TrainedModel> {
  const log = opts.log ?? (() => undefined);
  const spec = { ...TRAINED_MODEL_SPEC, ...(opts.steps !== undefined && { steps: opts.steps }), ...(opts.seed !== undefined && { seed: opts.seed }) };
  const out = path.resolve(opts.out ?? DEFAULT_TRAINED_MODEL_DIR);
  const workDir = path.resolve(opts.workDir ?? path.join(__dirname, "../../../../.data/train"));
  await fs.mkdir(workDir, { recursive: true });

  const corpus = await readWordnetCorpus(opts.wordnetDir ?? DEBIAN_WORDNET_DIR);
  const train = shuffled(corpus.train, spec.seed);
  log(`corpus: ${corpus.synsets} WordNet synsets → ${corpus.train.length} training and ${corpus.heldOut.length} held-out question → definition pairs`);

  const bpe = trainByteLevelBpe(train.map(documentText).join("\n"), spec.vocabSize - 1, spec.seed);
  const { tokenizerJson, tokenizerConfigJson, eosId } = tokenizerFilesFor(bpe, { nPositions: spec.nPositions, chatTemplate: CHAT_TEMPLATE });
  const tokenizer = new ModelTokenizer(JSON.parse(tokenizerJson), JSON.parse(tokenizerConfigJson));
  const trainIds = encodeDocuments(tokenizer, train, eosId);
  const heldOutIds = encodeDocuments(tokenizer, corpus.heldOut, eosId);
  log(`tokenizer: byte-level BPE, ${spec.vocabSize} tokens; ${trainIds.length} training and ${heldOutIds.length} held-out tokens`);
  await fs.writeFile(path.join(workDir, "train.bin"), Buffer.from(trainIds.buffer, trainIds.byteOffset, trainIds.byteLength));
  await fs.writeFile(path.join(workDir, "heldout.bin"), Buffer.from(heldOutIds.buffer, heldOutIds.byteOffset, heldOutIds.byteLength));
  await fs.writeFile(path.join(workDir, "meta.json"), JSON.stringify({ vocab_size: spec.vocabSize }) + "\n");

  await runTrainer(
    opts.python ?? DEFAULT_PYTHON,
    [
      "--data", workDir, "--out", workDir,
      "--steps", String(spec.steps), "--batch", String(spec.batch), "--context", String(spec.nPositions),
      "--n-embd", String(spec.nEmbd), "--n-layer", String(spec.nLayer), "--n-head", String(spec.nHead), "--seed", String(spec.seed),
    ],
    log,
  );
  const tensors = readSafetensors(await fs.readFile(path.join(workDir, "weights.safetensors")));
  const summary = JSON.parse(await fs.readFile(path.join(workDir, "training.json"), "utf8")) as TrainingSummary & { train_seconds: number };
  // Wall-clock time stays out of the folder: the folder's bytes (its modelHash) must not depend on the machine's speed.
  const { train_seconds: seconds, ...reproducible } = summary;
  log(`trained in ${Math.round(seconds)} s`);
  const training: TrainingSummary = {
    ...reproducible,
    corpus: {
      source: "WordNet 3.0 glosses and examples (Debian package wordnet-base, /usr/share/wordnet/data.*)",
      licence: "WordNet 3.0 licence (Princeton University), see LICENSE-WordNet",
      synsets: corpus.synsets,
      train_pairs: corpus.train.length,
      heldout_pairs: corpus.heldOut.length,
      train_tokens: trainIds.length,
      heldout_tokens: heldOutIds.length,
    },
  };
  await writeTrainedFolder(out, spec, { tensors, tokenizerJson, tokenizerConfigJson, eosId, training, licence: await wordnetLicence() });
  return { dir: out, modelHash: await computeModelHash(out), params: gpt2ParamCount(spec), training };
}

/** The WordNet licence text from Debian's copyright file (its terms ask for it on every copy). */
async function wordnetLicence(): Promise<string> {
  const copyright = await fs.readFile("/usr/share/doc/wordnet-base/copyright", "utf8").catch(() => "");
  const start = copyright.indexOf("License: WordNet3.0");
  const end = copyright.indexOf("\nFiles:", start);
  const body = start < 0 ? "" : copyright.slice(start, end < 0 ? undefined : end);
  const text = body
    .split("\n")
    .slice(1)
    .map((line) => (line.trim() === "." ? "" : line.replace(/^ /, "")))
    .join("\n")
    .trim();
  if (!text) throw new Error("cannot read the WordNet licence from /usr/share/doc/wordnet-base/copyright");
  return `The training text of this model is WordNet 3.0 (glosses and examples), used under this licence:\n\n${text}\n`;
}

async function writeTrainedFolder(
  out: string,
  shape: Gpt2Shape,
  parts: { tensors: ReadonlyMap<string, Float32Array>; tokenizerJson: string; tokenizerConfigJson: string; eosId: number; training: TrainingSummary; licence: string },
): Promise<void> {
  const graph = buildGpt2Graph(shape, { tensors: parts.tensors });
  const serialized = graph.serialize({ opset: OPSET, producer: "chat-oracle-model-train/1" });
  const config = {
    architectures: ["GPT2LMHeadModel"],
    model_type: "gpt2",
    vocab_size: shape.vocabSize,
    n_positions: shape.nPositions,
    n_ctx: shape.nPositions,
    n_embd: shape.nEmbd,
    n_layer: shape.nLayer,
    n_head: shape.nHead,
    layer_norm_epsilon: shape.layerNormEpsilon,
    activation_function: "gelu",
    tie_word_embeddings: true,
    bos_token_id: parts.eosId,
    eos_token_id: parts.eosId,
    use_cache: true,
  };
  const generationConfig = { bos_token_id: parts.eosId, eos_token_id: parts.eosId, do_sample: false };
  const files: ModelFile[] = [
    { path: "LICENSE-WordNet", data: parts.licence },
    { path: "config.json", data: JSON.stringify(config, null, 2) + "\n" },
    { path: "generation_config.json", data: JSON.stringify(generationConfig, null, 2) + "\n" },
    { path: "onnx/model.onnx", data: serialized.graph },
    { path: "tokenizer.json", data: parts.tokenizerJson },
    { path: "tokenizer_config.json", data: parts.tokenizerConfigJson },
    { path: "training.json", data: JSON.stringify(parts.training, null, 1) + "\n" },
  ];
  await writeModelFolder(out, files);
}

import { promises as fs } from "node:fs";
import * as path from "node:path";
import { NonRetryableError } from "../errors";

/** What the engine needs from a model folder's JSON files. */
export interface ModelFolder {
  dir: string;
  /** the ONNX graph: onnx/model.onnx (transformers.js / this project) or model.onnx (optimum-cli output) */
  graphPath: string;
  config: Record<string, unknown>;
  tokenizerJson: Record<string, unknown>;
  tokenizerConfig: Record<string, unknown>;
  generationConfig: Record<string, unknown>;
  eosTokenIds: number[];
  padTokenId: number;
  maxContext: number;
  configVocabSize: number | undefined;
}

async function exists(p: string): Promise<boolean> {
  return fs.access(p).then(() => true, () => false);
}

async function readJson(file: string, required: boolean): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await fs.readFile(file, "utf8");
  } catch (err) {
    if (!required && (err as NodeJS.ErrnoException).code === "ENOENT") return {};
    throw new NonRetryableError(`model file missing or unreadable: ${file}`, { cause: err });
  }
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch (err) {
    throw new NonRetryableError(`model file is not valid JSON: ${file}`, { cause: err });
  }
}

function ids(value: unknown): number[] {
  if (typeof value === "number") return [value];
  if (Array.isArray(value)) return value.filter((v): v is number => typeof v === "number");
  return [];
}

/** Reads and checks a decoder-only model folder in the Hugging Face Optimum layout. */
export async function readModelFolder(dir: string): Promise<ModelFolder> {
  const root = path.resolve(dir);
  if (!(await exists(root))) throw new NonRetryableError(`model folder not found: ${root}`);
  const candidates = [path.join(root, "onnx", "model.onnx"), path.join(root, "model.onnx")];
  let graphPath: string | undefined;
  for (const c of candidates) if (!graphPath && (await exists(c))) graphPath = c;
  if (!graphPath) throw new NonRetryableError(`model file missing: ${candidates[0]} (or ${candidates[1]})`);

  const config = await readJson(path.join(root, "config.json"), true);
  const tokenizerJson = await readJson(path.join(root, "tokenizer.json"), true);
  const tokenizerConfig = await readJson(path.join(root, "tokenizer_config.json"), true);
  const generationConfig = await readJson(path.join(root, "generation_config.json"), false);

  const eosTokenIds = ids(generationConfig.eos_token_id ?? config.eos_token_id);
  const padCandidates = [...ids(generationConfig.pad_token_id ?? config.pad_token_id), ...eosTokenIds];
  const maxContext = [config.n_positions, config.max_position_embeddings, config.n_ctx].find((v): v is number => typeof v === "number");
  if (maxContext === undefined) {
    throw new NonRetryableError(`config.json has no context length (n_positions or max_position_embeddings): ${path.join(root, "config.json")}`);
  }
  return {
    dir: root,
    graphPath,
    config,
    tokenizerJson,
    tokenizerConfig,
    generationConfig,
    eosTokenIds,
    padTokenId: padCandidates[0] ?? 0,
    maxContext,
    configVocabSize: typeof config.vocab_size === "number" ? config.vocab_size : undefined,
  };
}

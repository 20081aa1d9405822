/**
 * transformers.js (@huggingface/transformers, a devDependency) on the same model folder the engine loads, for
 * the side-by-side column of bench/inference.ts: local files only (no download, no cache written), fp32 on the
 * CPU, greedy decoding. By default transformers.js leaves the thread count to onnxruntime (one intra-op thread on
 * the 2-core machine this was written on); `sessionOptions` passes onnxruntime options through, for a run with
 * the engine's thread count.
 */
import * as path from "node:path";
import type { GenerationRun } from "./inferenceRates";

// The package's CommonJS build (dist/transformers.node.cjs); its types come from the ESM declarations.
type TransformersJs = typeof import("@huggingface/transformers");

export interface TransformersJsRunner {
  version: string;
  /** greedy ids of `promptIds` (new tokens only), to check it decodes what the engine decodes */
  greedy(promptIds: readonly number[], tokens: number): Promise<number[]>;
  run(promptIds: readonly number[]): GenerationRun;
  dispose(): Promise<void>;
}

export async function loadTransformersJs(modelDir: string, sessionOptions?: Record<string, unknown>): Promise<TransformersJsRunner> {
  const tjs = require("@huggingface/transformers") as TransformersJs;
  const dir = path.resolve(modelDir);
  tjs.env.allowRemoteModels = false;
  tjs.env.allowLocalModels = true;
  tjs.env.localModelPath = path.dirname(dir) + path.sep;
  tjs.env.useFSCache = false;
  tjs.env.useBrowserCache = false;
  const model = await tjs.AutoModelForCausalLM.from_pretrained(path.basename(dir), { local_files_only: true, dtype: "fp32", device: "cpu", ...(sessionOptions ? { session_options: sessionOptions } : {}) });

  // `streamer.put` gets the prompt first, then each chosen token: the latter mark the end of each forward pass.
  const generate = async (promptIds: readonly number[], tokens: number, finished?: number[]): Promise<number[]> => {
    const ids = BigInt64Array.from(promptIds, (id) => BigInt(id));
    const inputs = {
      input_ids: new tjs.Tensor("int64", ids, [1, ids.length]),
      attention_mask: new tjs.Tensor("int64", new BigInt64Array(ids.length).fill(1n), [1, ids.length]),
    };
    let promptSeen = false;
    const streamer = { put: () => (promptSeen ? finished?.push(performance.now()) : (promptSeen = true)), end: () => undefined };
    const out = (await model.generate({ ...inputs, max_new_tokens: tokens, do_sample: false, streamer: streamer as never })) as InstanceType<TransformersJs["Tensor"]>;
    return Array.from(out.data as BigInt64Array, Number).slice(ids.length);
  };
  return {
    version: tjs.env.version,
    greedy: generate,
    run: (promptIds) => async (tokens) => {
      const finished: number[] = [];
      await generate(promptIds, tokens, finished);
      return finished;
    },
    dispose: async () => {
      await model.dispose();
    },
  };
}

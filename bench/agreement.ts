/**
 * `npm run bench:agreement [-- --prompts 500 --tokens 64 --model models/trained]`: how often two honest validators running the trained
 * model (models/trained) under different execution configurations produce byte-equal responses. A committee
 * finalizes only on equal response hashes, so every difference here is a validator that exact equality would slash.
 *
 * Configurations (greedy, CPU):
 * - `node-1t`: onnxruntime-node, 1 intra-op thread, each prompt alone (the reference);
 * - `node-2t`: 2 threads, alone;
 * - `node-1t-batch8`: 1 thread, inside batches of 8 prompts of mixed lengths (left padding);
 * - `node-1t-fused`: the same weights as onnxruntime's fused contrib ops (MultiHeadAttention, SkipLayerNormalization,
 *   BiasGelu), as `optimum-cli onnxruntime optimize` writes exported models;
 * - `wasm-1t`: onnxruntime-web's WASM backend run in Node, a different kernel implementation, standing in for
 *   different hardware (its own greedy loop with the same feeds and the engine's argmax).
 *
 * Per pair of configurations: the share of identical responses, the first divergent step of each difference, the
 * reference's top-2 logit gap there (logits of prompt + common prefix), and the largest logit difference on the
 * first 50 prompts; per configuration the closest near-tie it met. Writes bench/out/agreement.json.
 * Prompts: held-out WordNet questions (`What is …?`, never seen in training), evenly spread over the held-out set.
 */
import { mkdirSync, promises as fs, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Command } from "commander";
import { onnx } from "onnx-proto";
import { loadEngine, type OnnxInferenceEngine } from "../oracle/src/inference";
import { buildGpt2Graph } from "../oracle/src/inference/builder/gpt2Graph";
import { DEFAULT_TRAINED_MODEL_DIR, OPSET } from "../oracle/src/inference/buildModel";
import { integerOption } from "../oracle/src/cli/support";
import { readModelFolder } from "../oracle/src/inference/modelFolder";
import { argmax } from "../oracle/src/inference/sampling";
import { readWordnetCorpus } from "../oracle/src/inference/training/wordnetCorpus";
import { provenance } from "./provenance";

const ROOT = path.resolve(__dirname, "..");
const BATCH = 8;

/** Prompts whose per-step logits are kept to compare configurations number by number. */
const LOGIT_PROMPTS = 50;

interface Run {
  responses: number[][];
  /** last-position logits of every step, for the first LOGIT_PROMPTS prompts */
  logits: Float32Array[][];
  /** the smallest gap between the two largest logits over every step of every prompt */
  minTop2Gap: number;
}

function top2Gap(logits: Float32Array): number {
  let first = -Infinity;
  let second = -Infinity;
  for (const v of logits) {
    if (v > first) [first, second] = [v, first];
    else if (v > second) second = v;
  }
  return first - second;
}

/** Collects a run's responses, the kept logits and the closest near-tie. */
function collector(): { add(prompt: number, tokenIds: number[], stepLogits: Float32Array[]): void; run(): Run } {
  const run: Run = { responses: [], logits: [], minTop2Gap: Infinity };
  return {
    add(prompt, tokenIds, stepLogits) {
      run.responses[prompt] = tokenIds;
      for (const l of stepLogits) run.minTop2Gap = Math.min(run.minTop2Gap, top2Gap(l));
      if (prompt < LOGIT_PROMPTS) run.logits[prompt] = stepLogits;
    },
    run: () => run,
  };
}

function parseOptions(): { prompts: number; tokens: number; model: string } {
  return new Command("bench:agreement")
    .description("share of byte-equal greedy responses of the trained model across execution configurations")
    .option("--prompts <n>", "number of prompts", integerOption(1, 3000), 500)
    .option("--tokens <n>", "most new tokens per response", integerOption(1, 100), 64)
    .option("--model <dir>", "model folder", path.relative(process.cwd(), DEFAULT_TRAINED_MODEL_DIR))
    .parse(process.argv)
    .opts<{ prompts: number; tokens: number; model: string }>();
}

/** Evenly spread distinct held-out questions. */
async function heldOutQuestions(count: number): Promise<string[]> {
  const questions = [...new Set((await readWordnetCorpus()).heldOut.map((p) => p.question))];
  if (questions.length < count) throw new Error(`only ${questions.length} distinct held-out questions, asked for ${count}`);
  return Array.from({ length: count }, (_, i) => questions[Math.floor((i * questions.length) / count)]);
}

async function engineResponses(engine: OnnxInferenceEngine, prompts: number[][], tokens: number, batch: number): Promise<Run> {
  const out = collector();
  for (let i = 0; i < prompts.length; i += batch) {
    const rows = prompts.slice(i, i + batch).map((promptIds) => ({ promptIds, maxNewTokens: tokens }));
    const results = await engine.model.generateBatch(rows, { collectLogits: true });
    results.forEach((r, j) => out.add(i + j, r.tokenIds, r.stepLogits!.slice(0, r.tokenIds.length)));
  }
  return out.run();
}

/** The folder's float initializers by name (the trained weights, plus the graph's float constants). */
async function onnxWeights(graphPath: string): Promise<Map<string, Float32Array>> {
  const model = onnx.ModelProto.decode(await fs.readFile(graphPath));
  const out = new Map<string, Float32Array>();
  for (const t of model.graph?.initializer ?? []) {
    if (t.dataType !== onnx.TensorProto.DataType.FLOAT || !t.rawData || !t.name) continue;
    const bytes = Uint8Array.from(t.rawData);
    out.set(t.name, new Float32Array(bytes.buffer));
  }
  return out;
}

/** A copy of the trained folder whose graph uses onnxruntime's fused contrib ops, same weights. */
async function fusedCopy(modelDir: string): Promise<string> {
  const folder = await readModelFolder(modelDir);
  const c = folder.config as Record<string, number>;
  const shape = { vocabSize: c.vocab_size, nPositions: c.n_positions, nEmbd: c.n_embd, nLayer: c.n_layer, nHead: c.n_head, layerNormEpsilon: c.layer_norm_epsilon, fusedOps: true };
  const graph = buildGpt2Graph(shape, { tensors: await onnxWeights(folder.graphPath) }).serialize({ opset: OPSET, producer: "chat-oracle-bench-agreement" });
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "chat-oracle-fused-"));
  await fs.cp(modelDir, dir, { recursive: true });
  await fs.writeFile(path.join(dir, "onnx", "model.onnx"), graph.graph);
  return dir;
}

/** Greedy decoding with onnxruntime-web's WASM backend in Node: batch 1, KV cache, the engine's feeds and argmax. */
async function wasmResponses(modelDir: string, prompts: number[][], tokens: number): Promise<Run> {
  const ortWeb = require("onnxruntime-web") as typeof import("onnxruntime-web");
  ortWeb.env.wasm.numThreads = 1;
  const folder = await readModelFolder(modelDir);
  const c = folder.config as Record<string, number>;
  const [layers, heads, headDim, vocab] = [c.n_layer, c.n_head, c.n_embd / c.n_head, c.vocab_size];
  const session = await ortWeb.InferenceSession.create(await fs.readFile(folder.graphPath), { executionProviders: ["wasm"] });
  const int64 = (values: number[], dims: number[]) => new ortWeb.Tensor("int64", BigInt64Array.from(values, BigInt), dims);
  const out = collector();
  try {
    for (const [p, promptIds] of prompts.entries()) {
      const generated: number[] = [];
      const stepLogits: Float32Array[] = [];
      let past: Record<string, import("onnxruntime-web").Tensor> = {};
      for (let i = 0; i < layers; i++) {
        for (const kind of ["key", "value"]) past[`past_key_values.${i}.${kind}`] = new ortWeb.Tensor("float32", new Float32Array(0), [1, heads, 0, headDim]);
      }
      let input = promptIds;
      let pastLength = 0;
      while (generated.length < tokens) {
        const total = pastLength + input.length;
        const result = await session.run({
          input_ids: int64(input, [1, input.length]),
          attention_mask: int64(new Array<number>(total).fill(1), [1, total]),
          position_ids: int64(input.map((_, j) => pastLength + j), [1, input.length]),
          ...past,
        });
        const logits = result.logits.data as Float32Array;
        const next = argmax(logits, (input.length - 1) * vocab, vocab);
        stepLogits.push(logits.slice((input.length - 1) * vocab, input.length * vocab));
        generated.push(next);
        if (folder.eosTokenIds.includes(next)) break;
        past = {};
        for (let i = 0; i < layers; i++) {
          for (const kind of ["key", "value"]) past[`past_key_values.${i}.${kind}`] = result[`present.${i}.${kind}`];
        }
        pastLength = total;
        input = [next];
      }
      out.add(p, generated, stepLogits);
    }
  } finally {
    await session.release();
  }
  return out.run();
}

/** The largest |logit difference| between two runs over the steps where both had fed the same tokens. */
function maxLogitDifference(a: Run, b: Run): number {
  let worst = 0;
  for (let p = 0; p < Math.min(a.logits.length, b.logits.length); p++) {
    const same = firstDifference(a.responses[p], b.responses[p]);
    const steps = same < 0 ? a.responses[p].length : same + 1;
    for (let s = 0; s < steps; s++) {
      const [x, y] = [a.logits[p][s], b.logits[p][s]];
      for (let k = 0; k < x.length; k++) worst = Math.max(worst, Math.abs(x[k] - y[k]));
    }
  }
  return Number(worst.toExponential(3));
}

function firstDifference(a: number[], b: number[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

function quantiles(values: number[]): { min: number; median: number; max: number } | null {
  if (values.length === 0) return null;
  const s = [...values].sort((x, y) => x - y);
  return { min: s[0], median: s[Math.floor(s.length / 2)], max: s[s.length - 1] };
}

async function main(): Promise<void> {
  const options = parseOptions();
  const modelDir = path.resolve(options.model);
  const prompts = await heldOutQuestions(options.prompts);
  const reference = await loadEngine({ modelDir, providers: ["cpu"], threads: 1 });
  const promptIds = prompts.map((p) => reference.tokenizer.encode(p));
  const runs: Record<string, Run> = {};
  const seconds: Record<string, number> = {};
  const timed = async (name: string, run: () => Promise<Run>): Promise<void> => {
    process.stdout.write(`decoding ${prompts.length} prompts × ${options.tokens} tokens: ${name}…\n`);
    const started = performance.now();
    runs[name] = await run();
    seconds[name] = Number(((performance.now() - started) / 1000).toFixed(1));
  };
  const withEngine = async (dir: string, threads: number, fn: (e: OnnxInferenceEngine) => Promise<Run>): Promise<Run> => {
    const engine = await loadEngine({ modelDir: dir, providers: ["cpu"], threads });
    try {
      return await fn(engine);
    } finally {
      await engine.close();
    }
  };
  const fusedDir = await fusedCopy(modelDir);
  try {
    await timed("node-1t", () => engineResponses(reference, promptIds, options.tokens, 1));
    await timed("node-2t", () => withEngine(modelDir, 2, (e) => engineResponses(e, promptIds, options.tokens, 1)));
    await timed(`node-1t-batch${BATCH}`, () => engineResponses(reference, promptIds, options.tokens, BATCH));
    await timed("node-1t-fused", () => withEngine(fusedDir, 1, (e) => engineResponses(e, promptIds, options.tokens, 1)));
    await timed("wasm-1t", () => wasmResponses(modelDir, promptIds, options.tokens));

    // The reference's top-2 logit gap at a divergent step: logits after prompt + the common prefix.
    const gapAt = async (prompt: number, prefix: number[]): Promise<number> => {
      const [r] = await reference.model.generateBatch([{ promptIds: [...promptIds[prompt], ...prefix], maxNewTokens: 1 }], { collectLogits: true });
      const logits = [...r.stepLogits![0]].sort((x, y) => y - x);
      return logits[0] - logits[1];
    };
    const names = Object.keys(runs);
    const pairs = [];
    for (let i = 0; i < names.length; i++) {
      for (let j = i + 1; j < names.length; j++) {
        const [a, b] = [runs[names[i]].responses, runs[names[j]].responses];
        const differences = [];
        for (let p = 0; p < prompts.length; p++) {
          const step = firstDifference(a[p], b[p]);
          if (step < 0) continue;
          differences.push({ prompt: prompts[p], step, top2LogitGap: Number((await gapAt(p, a[p].slice(0, step))).toExponential(3)) });
        }
        pairs.push({
          configurations: [names[i], names[j]],
          identical: prompts.length - differences.length,
          share: (prompts.length - differences.length) / prompts.length,
          firstDivergentStep: quantiles(differences.map((d) => d.step)),
          top2LogitGap: quantiles(differences.map((d) => d.top2LogitGap)),
          maxLogitDifference: maxLogitDifference(runs[names[i]], runs[names[j]]),
          differences,
        });
      }
    }

    const stamp = provenance(`npm run bench:agreement -- --prompts ${options.prompts} --tokens ${options.tokens} --model ${options.model}`);
    const out = {
      ...stamp,
      model: { dir: path.relative(ROOT, modelDir), hash: reference.modelHash },
      prompts: prompts.length,
      tokens: options.tokens,
      configurations: names,
      seconds,
      meanResponseTokens: Object.fromEntries(names.map((n) => [n, Number((runs[n].responses.reduce((s, r) => s + r.length, 0) / prompts.length).toFixed(1))])),
      minTop2LogitGap: Object.fromEntries(names.map((n) => [n, Number(runs[n].minTop2Gap.toExponential(3))])),
      pairs,
      notes:
        `greedy decoding; a response is its token ids up to EOS or the token cap; maxLogitDifference compares the last-position logits of every step of the first ${LOGIT_PROMPTS} prompts (up to the first divergent step); minTop2LogitGap is each configuration's closest near-tie over all steps; top2LogitGap is the reference (node-1t, alone) engine's gap between its two largest logits after the prompt and the common prefix, at the first divergent step`,
    };
    console.table(pairs.map((p) => ({ pair: p.configurations.join(" vs "), identical: `${p.identical}/${prompts.length}`, "first divergent step (min/median)": p.firstDivergentStep ? `${p.firstDivergentStep.min}/${p.firstDivergentStep.median}` : "-", "top-2 gap (median)": p.top2LogitGap?.median ?? "-", "max |Δ logit|": p.maxLogitDifference })));
    mkdirSync(path.join(ROOT, "bench", "out"), { recursive: true });
    writeFileSync(path.join(ROOT, "bench", "out", "agreement.json"), JSON.stringify(out, null, 2) + "\n");
    console.log("wrote bench/out/agreement.json");
  } finally {
    await reference.close();
    await fs.rm(fusedDir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  process.stderr.write(`error: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});

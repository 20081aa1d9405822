/**
 * Where decode time goes: `npm run bench:inference:profile [-- --preset gpt2-small --tokens 16]`.
 * Prints tables and writes bench/out/inference-profile.json.
 *
 * 1. The optimized graph onnxruntime runs (node counts by op type, written with optimizedModelFilePath): which
 *    fusions happened, and whether the output layer multiplies by a constant (Transpose folded at load).
 * 2. onnxruntime's own profile (enableProfiling) of greedy decoding at batch 1 and 8, same session options as
 *    the engine (but on the calling thread, not in the engine's worker): share of kernel time per op type, and
 *    per decode step the time in MatMul, in other kernels and between kernels (median over the steps).
 * 3. The output layer's MatMul ([rows, D] × [D, V]) alone, at 1 and 8 rows, on 1 and all threads: GB/s of weight
 *    read and GFLOP/s — what onnxruntime's kernel reaches without the rest of the model around it.
 * 4. The kernel floor, side by side in alternating rounds: the engine's batch-1 decode step (the real engine, in its
 *    worker) against a graph of only the step's weight MatMuls (each layer's QKV, attention output and MLP matrices
 *    and the output layer, distinct weights of the same shapes, nothing else but a Slice per layer) on the same
 *    session options, and both against the machine's read bandwidth measured before and after in this process.
 *    Engine ÷ MatMuls says what the rest of the model and the JavaScript cost; MatMuls ÷ read says how close
 *    onnxruntime's kernel gets to the bandwidth bound of bench:inference.
 */
import { mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Command } from "commander";
import { onnx } from "onnx-proto";
import * as ort from "onnxruntime-node";
import { buildModel, MODEL_PRESETS, type ModelPreset, type PresetName } from "../oracle/src/inference/buildModel";
import { ElemType, OnnxGraphBuilder } from "../oracle/src/inference/builder/onnxGraph";
import { integerOption } from "../oracle/src/cli/support";
import { DecoderModel } from "../oracle/src/inference/decoderModel";
import { loadEngine } from "../oracle/src/inference";
import { readModelFolder, type ModelFolder } from "../oracle/src/inference/modelFolder";
import { sessionOptions } from "../oracle/src/inference/providers";
import { Prng } from "../oracle/src/prng";
import { ModelTokenizer } from "../oracle/src/inference/tokenizer";
import { presetName } from "./benchOptions";
import { fastestOf, measureBandwidths } from "./inferenceBandwidth";
import { BENCH_PROMPTS, engineRun, interleavedTimings, median, stepQuartiles, type GenerationRun } from "./inferenceRates";
import { npmCommand, provenance } from "./provenance";

const ROOT = path.resolve(__dirname, "..");
/** The command line; a bad value or an unknown option is commander's one-line error (exit 1). */
function parseOptions(): { preset: PresetName; tokens: number } {
  return new Command("bench:inference:profile")
    .description("where decode time goes: optimized graph, onnxruntime profile, output-layer MatMul, kernel floor")
    .option("--preset <name>", "built-in preset, built in models/<preset> when missing", presetName, "gpt2-small")
    .option("--tokens <n>", "new tokens per generation", integerOption(2, 1024), 16)
    .parse(process.argv)
    .opts<{ preset: PresetName; tokens: number }>();
}

interface ProfileEvent {
  cat: string;
  name: string;
  ts: number;
  dur: number;
  args?: { op_name?: string };
}

async function optimizedGraph(graphPath: string, scratch: string): Promise<{ nodes: number; byOp: Record<string, number>; outputLayerWeightConstant: boolean }> {
  const file = path.join(scratch, "optimized.onnx");
  // weights go to a side file, so the graph file stays small enough to decode
  const extra = { session: { optimized_model_external_initializers_file_name: "optimized.onnx_data", optimized_model_external_initializers_min_size_in_bytes: "1024" } };
  const options = { graphOptimizationLevel: "all", optimizedModelFilePath: file, logSeverityLevel: 3, extra } as ort.InferenceSession.SessionOptions;
  await (await ort.InferenceSession.create(graphPath, options)).release(); // creating the session writes the file
  const graph = onnx.ModelProto.decode(readFileSync(file)).graph!;
  const byOp: Record<string, number> = {};
  for (const n of graph.node ?? []) {
    const op = (n.domain ? `${n.domain}:` : "") + n.opType;
    byOp[op] = (byOp[op] ?? 0) + 1;
  }
  const initializers = new Set((graph.initializer ?? []).map((t) => t.name));
  const head = (graph.node ?? []).find((n) => n.output?.includes("logits"));
  return { nodes: graph.node?.length ?? 0, byOp, outputLayerWeightConstant: !!head && initializers.has(head.input![1]) };
}

async function profileDecode(folder: ModelFolder, tokenizer: ModelTokenizer, batch: number, tokens: number, scratch: string) {
  const prefix = path.join(scratch, `profile-b${batch}`);
  // the engine's own options (one intra-op thread per core), plus profiling
  const session = await ort.InferenceSession.create(folder.graphPath, { ...sessionOptions("cpu", {}), enableProfiling: true, profileFilePrefix: prefix });
  const model = DecoderModel.fromSession(session, folder, tokenizer.vocabSize);
  const requests = BENCH_PROMPTS.slice(0, batch).map((p) => ({ promptIds: tokenizer.encode(p), maxNewTokens: tokens }));
  await model.generateBatch(requests.map((r) => ({ ...r, maxNewTokens: 2 }))); // warm-up
  await model.generateBatch(requests);
  await model.release(); // writes the profile
  const file = readdirSync(scratch).find((f) => f.startsWith(path.basename(prefix)) && f.endsWith(".json"))!;
  const events = JSON.parse(readFileSync(path.join(scratch, file), "utf8")) as ProfileEvent[];
  const runs = events.filter((e) => e.cat === "Session" && e.name === "model_run").sort((a, b) => a.ts - b.ts);
  const kernels = events.filter((e) => e.cat === "Node" && e.name.endsWith("_kernel_time"));
  const decodeRuns = runs.slice(-(tokens - 1)); // the last generation's steps after its prefill
  const share: Record<string, number> = {};
  const steps = decodeRuns.map((run) => {
    let matmul = 0;
    let other = 0;
    for (const k of kernels) {
      if (k.ts < run.ts || k.ts > run.ts + run.dur) continue;
      const op = k.args?.op_name ?? "?";
      share[op] = (share[op] ?? 0) + k.dur;
      if (op === "MatMul") matmul += k.dur;
      else other += k.dur;
    }
    return { total: run.dur, matmul, other, between: run.dur - matmul - other };
  });
  const kernelTotal = Object.values(share).reduce((a, b) => a + b, 0);
  return {
    batch,
    stepMs: median(steps.map((s) => s.total)) / 1000,
    matmulMs: median(steps.map((s) => s.matmul)) / 1000,
    otherKernelsMs: median(steps.map((s) => s.other)) / 1000,
    betweenKernelsMs: median(steps.map((s) => s.between)) / 1000,
    kernelShare: Object.fromEntries(Object.entries(share).sort((a, b) => b[1] - a[1]).map(([op, us]) => [op, us / kernelTotal])),
  };
}

async function outputLayerMatMul(dModel: number, vocab: number, scratch: string) {
  const g = new OnnxGraphBuilder();
  const x = g.input("x", ElemType.FLOAT, ["rows", dModel]);
  const weight = new Float32Array(dModel * vocab).map((_, i) => ((i * 2654435761) % 1000) / 1e5);
  g.output("y", ElemType.FLOAT, ["rows", vocab]);
  g.node("MatMul", [x, g.floatTensor("w", [dModel, vocab], weight)], {}, ["y"]);
  const file = writeGraph(g, scratch, "matmul");
  const results = [];
  for (const threads of [1, os.cpus().length]) {
    const s = await ort.InferenceSession.create(file, { graphOptimizationLevel: "all", intraOpNumThreads: threads, interOpNumThreads: 1 });
    for (const rows of [1, 8]) {
      const feeds = { x: new ort.Tensor("float32", new Float32Array(rows * dModel).fill(1), [rows, dModel]) };
      for (let i = 0; i < 3; i++) await s.run(feeds);
      let best = Infinity;
      for (let i = 0; i < 20; i++) {
        const t = performance.now();
        await s.run(feeds);
        best = Math.min(best, (performance.now() - t) / 1000);
      }
      results.push({ threads, rows, ms: best * 1000, weightGBps: (dModel * vocab * 4) / best / 1e9, gflops: (2 * rows * dModel * vocab) / best / 1e9 });
    }
    await s.release();
  }
  return results;
}

/**
 * A graph of one decode step's weight MatMuls at batch 1 and nothing else (a Slice turns each layer's QKV output
 * back into D columns). Weights are distinct (onnxruntime shares identical initializers, which would let a chain
 * run from cache) and scaled so activations stay near 1 through the chain (no denormals).
 */
function weightMatMulChain(shape: ModelPreset, scratch: string): { file: string; weightBytes: number } {
  const { nEmbd: d, nLayer, vocabSize } = shape;
  const g = new OnnxGraphBuilder();
  const prng = new Prng(1);
  let weightBytes = 0;
  const weight = (rows: number, cols: number): string => {
    // uniform(-a, a) with a = √(3 / rows) keeps the output's variance equal to the input's
    const data = prng.fillUniform(new Float32Array(rows * cols), Math.sqrt(3 / rows));
    weightBytes += data.byteLength;
    return g.floatTensor(`w${weightBytes}`, [rows, cols], data);
  };
  const [starts, ends, axes] = [g.int64Tensor("starts", [1], [0]), g.int64Tensor("ends", [1], [d]), g.int64Tensor("axes", [1], [1])];
  let x = g.input("x", ElemType.FLOAT, [1, d]);
  for (let layer = 0; layer < nLayer; layer++) {
    x = g.op("Slice", [g.op("MatMul", [x, weight(d, 3 * d)]), starts, ends, axes]);
    x = g.op("MatMul", [x, weight(d, d)]);
    x = g.op("MatMul", [g.op("MatMul", [x, weight(d, 4 * d)]), weight(4 * d, d)]);
  }
  g.output("y", ElemType.FLOAT, [1, vocabSize]);
  g.node("MatMul", [x, weight(d, vocabSize)], {}, ["y"]);
  return { file: writeGraph(g, scratch, "chain"), weightBytes };
}

/** Writes `name`.onnx with its weights in `name`.onnx_data under `dir`; returns the graph's path. */
function writeGraph(g: OnnxGraphBuilder, dir: string, name: string): string {
  const { graph, external } = g.serialize({ opset: 17, producer: "bench", externalDataFile: `${name}.onnx_data` });
  const file = path.join(dir, `${name}.onnx`);
  writeFileSync(file, graph);
  writeFileSync(path.join(dir, `${name}.onnx_data`), Buffer.concat(external!));
  return file;
}

async function kernelFloor(preset: PresetName, modelDir: string, tokens: number, scratch: string) {
  const shape = MODEL_PRESETS[preset];
  const chain = weightMatMulChain(shape, scratch);
  const options = sessionOptions("cpu", {});
  const session = await ort.InferenceSession.create(chain.file, options);
  const engine = await loadEngine({ modelDir, providers: ["cpu"] });
  try {
    const feeds = { x: new ort.Tensor("float32", new Float32Array(shape.nEmbd).fill(1), [1, shape.nEmbd]) };
    // as many back-to-back passes as the engine makes for `tokens` tokens; the first counts as its "prefill"
    const chainRun: GenerationRun = async (n) => {
      const finished: number[] = [];
      for (let i = 0; i < n; i++) {
        await session.run(feeds);
        finished.push(performance.now());
      }
      return finished;
    };
    const before = await measureBandwidths();
    const [engineTiming, chainTiming] = await interleavedTimings([{ rows: 1, run: engineRun(engine, 1, true) }, { rows: 1, run: chainRun }], tokens, 4);
    const read = fastestOf([before, await measureBandwidths()]).readAll;
    const engineMs = stepQuartiles(engineTiming).median;
    const matmulsMs = stepQuartiles(chainTiming).median;
    const gbps = (ms: number): number => chain.weightBytes / (ms / 1000) / 1e9;
    return {
      weightMB: chain.weightBytes / 1e6,
      threads: options.intraOpNumThreads,
      engineStepMs: engineMs,
      matmulsOnlyStepMs: matmulsMs,
      engineGBps: gbps(engineMs),
      matmulsOnlyGBps: gbps(matmulsMs),
      readAllThreadsGBps: read / 1e9,
      engineOverMatmulsOnly: engineMs / matmulsMs,
      matmulsOnlyOverRead: gbps(matmulsMs) / (read / 1e9),
    };
  } finally {
    await Promise.all([engine.close(), session.release()]);
  }
}

async function main(): Promise<void> {
  const { preset, tokens } = parseOptions();
  const modelDir = path.join(ROOT, "models", preset);
  const folder = await readModelFolder(modelDir).catch(async () => {
    await buildModel(modelDir, preset);
    return readModelFolder(modelDir);
  });
  const tokenizer = new ModelTokenizer(folder.tokenizerJson, folder.tokenizerConfig);
  const scratch = mkdtempSync(path.join(os.tmpdir(), "inference-profile-"));
  ort.env.logLevel = "error";
  try {
    const loadAtStart = os.loadavg()[0];
    const graph = await optimizedGraph(folder.graphPath, scratch);
    const decode = [await profileDecode(folder, tokenizer, 1, tokens, scratch), await profileDecode(folder, tokenizer, 8, tokens, scratch)];
    const shape = MODEL_PRESETS[preset];
    const matmul = await outputLayerMatMul(shape.nEmbd, shape.vocabSize, scratch);
    const floor = await kernelFloor(preset, modelDir, tokens, scratch);
    const out = { ...provenance(npmCommand("bench:inference:profile")), preset, tokens, loadAverage1m: { start: loadAtStart, end: os.loadavg()[0] }, optimizedGraph: graph, decode, outputLayerMatMul: matmul, kernelFloor: floor };
    console.log(`optimized graph: ${graph.nodes} nodes; output layer weight constant: ${graph.outputLayerWeightConstant}`);
    console.log(graph.byOp);
    console.table(decode.map(({ kernelShare, ...d }) => ({ ...d, matmulShare: kernelShare.MatMul })));
    console.table(matmul);
    console.log(
      `kernel floor (batch 1, ${floor.threads} threads, ${floor.weightMB.toFixed(0)} MB of weights): engine step ${floor.engineStepMs.toFixed(2)} ms (${floor.engineGBps.toFixed(1)} GB/s), ` +
        `weight MatMuls alone ${floor.matmulsOnlyStepMs.toFixed(2)} ms (${floor.matmulsOnlyGBps.toFixed(1)} GB/s), read ${floor.readAllThreadsGBps.toFixed(1)} GB/s → ` +
        `engine ÷ MatMuls ${floor.engineOverMatmulsOnly.toFixed(2)}×, MatMuls ÷ read ${(100 * floor.matmulsOnlyOverRead).toFixed(0)} %`,
    );
    mkdirSync(path.join(ROOT, "bench", "out"), { recursive: true });
    writeFileSync(path.join(ROOT, "bench", "out", "inference-profile.json"), JSON.stringify(out, null, 2) + "\n");
    console.log(`load average ${out.loadAverage1m.start} → ${out.loadAverage1m.end}; wrote bench/out/inference-profile.json`);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

main().catch((err) => {
  process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});

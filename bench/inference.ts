/**
 * Inference benchmark: `npm run bench:inference [-- --presets tiny,small,gpt2-small --tokens 32]`.
 * Prints a table and writes bench/out/inference.json.
 *
 * For each built-in preset (models/<preset>, built if missing), on CPU:
 * - decode tokens/s at batch 1 and aggregate tokens/s at batch 8, with the KV cache (engine) and without it
 *   (every step recomputes the whole sequence); prefill is not counted (see bench/inferenceRates.ts).
 * - for gpt2-small (GPT-2 small's shape, 124M fp32 params) also: transformers.js on the same folder, timed in
 *   alternation with the engine at batch 1 (their ratio is the comparison that survives a busy machine); the
 *   memory-bandwidth bound (weight bytes read per decoded token vs the machine's best measured bandwidth, see
 *   bench/inferenceBandwidth.ts); peak RSS of the engine alone.
 * - the trained model (models/trained): the same greedy tokens as transformers.js on a set of prompts
 *   (bench/inferenceTrained.ts); `-- --trained-only` runs only that and writes bench/out/inference-trained.json.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { Command } from "commander";
import * as os from "node:os";
import * as path from "node:path";
import { buildModel, DEFAULT_TRAINED_MODEL_DIR, MODEL_PRESETS, type PresetName } from "../oracle/src/inference/buildModel";
import { integerOption } from "../oracle/src/cli/support";
import { gpt2ParamCount } from "../oracle/src/inference/builder/gpt2Graph";
import { loadEngine, type OnnxInferenceEngine } from "../oracle/src/inference";
import { readModelFolder } from "../oracle/src/inference/modelFolder";
import { sessionOptions } from "../oracle/src/inference/providers";
import { anonHugePagesKiB, fastestOf, HUGE_PAGES_TUNABLE, measureBandwidths, measureOnHugePages, type Bandwidths } from "./inferenceBandwidth";
import { BENCH_PROMPTS, engineRun, interleavedTimings, stepQuartiles, tokPerSec, type StepQuartiles } from "./inferenceRates";
import { presetList } from "./benchOptions";
import { compareTrainedWithTransformersJs, type TrainedAgreement } from "./inferenceTrained";
import { loadTransformersJs } from "./inferenceTransformersJs";
import { provenance } from "./provenance";

const ROOT = path.resolve(__dirname, "..");
function gbps(b: Bandwidths & { samples: number }) {
  return { copyStream: b.copyStream / 1e9, read1Thread: b.read1 / 1e9, readAllThreads: b.readAll / 1e9, threads: b.threads, samples: b.samples };
}

/** The command line; a bad value or an unknown option is commander's one-line error (exit 1). */
function parseOptions(): { presets: PresetName[]; tokens?: number; trainedOnly?: boolean } {
  return new Command("bench:inference")
    .description("decode tokens/s of the built-in presets on CPU; for gpt2-small also transformers.js, the bandwidth bound and peak RSS")
    .option("--presets <list>", "comma-separated presets, built in models/<preset> when missing", presetList, ["tiny", "small", "gpt2-small"])
    .option("--tokens <n>", "new tokens per generation (default: 16 for gpt2-small, 32 for the others)", integerOption(2, 1024))
    .option("--trained-only", "only compare the trained model's greedy tokens with transformers.js (bench/out/inference-trained.json)")
    .parse(process.argv)
    .opts<{ presets: PresetName[]; tokens?: number; trainedOnly?: boolean }>();
}

/** The trained model's greedy tokens, engine vs transformers.js (no timing). */
async function trainedAgreement(): Promise<TrainedAgreement> {
  process.stdout.write("comparing greedy tokens of models/trained with transformers.js…\n");
  const engine = await loadEngine({ modelDir: DEFAULT_TRAINED_MODEL_DIR, providers: ["cpu"] });
  try {
    return await compareTrainedWithTransformersJs(engine);
  } finally {
    await engine.close();
  }
}

function trainedLine(t: TrainedAgreement): string {
  return `trained model (${t.modelHash.slice(0, 10)}…): same greedy tokens as transformers.js for ${t.sameTokens} of ${t.prompts} prompts (${t.engineTokens} tokens, at most ${t.tokens} each)`;
}

async function ensurePreset(preset: PresetName): Promise<string> {
  const dir = path.join(ROOT, "models", preset);
  try {
    await readModelFolder(dir);
  } catch {
    process.stdout.write(`building ${preset} model…\n`);
    await buildModel(dir, preset);
  }
  return dir;
}

interface PresetResult {
  params: number;
  modelHash: string;
  tokens: number;
  batch1: { cached: number; uncached: number };
  batch8: { cached: number; uncached: number };
  /** quartiles of the decode step with the KV cache, ms: how much the steps behind each median spread */
  cachedStepMs: { batch1: StepQuartiles; batch8: StepQuartiles };
}

interface SideBySide {
  version: string;
  tokens: number;
  engine: number;
  /** transformers.js as it comes: onnxruntime picks the thread count */
  transformersJs: number;
  /** engine ÷ transformers.js, both timed in the same rounds */
  ratio: number;
  /** greedy ids of the bench prompt equal in both */
  sameTokens: boolean;
  /** the engine's intra-op threads (one per core) */
  engineThreads: number;
  /** like for like: transformers.js given the engine's thread count through session_options, own rounds */
  sameThreads: { engine: number; transformersJs: number; ratio: number };
}

async function measurePreset(engine: OnnxInferenceEngine, tokens: number, repeats: number): Promise<Omit<PresetResult, "params" | "modelHash" | "tokens">> {
  const [b1, b8] = await interleavedTimings([{ rows: 1, run: engineRun(engine, 1, true) }, { rows: 8, run: engineRun(engine, 8, true) }], tokens, repeats);
  const [u1, u8] = await interleavedTimings([{ rows: 1, run: engineRun(engine, 1, false) }, { rows: 8, run: engineRun(engine, 8, false) }], tokens, Math.min(repeats, 2));
  return {
    batch1: { cached: tokPerSec(b1), uncached: tokPerSec(u1) },
    batch8: { cached: tokPerSec(b8), uncached: tokPerSec(u8) },
    cachedStepMs: { batch1: stepQuartiles(b1), batch8: stepQuartiles(b8) },
  };
}

/**
 * transformers.js and the engine at batch 1 on the same prompt, alternating round by round: first transformers.js
 * as it comes, then with the engine's thread count (loaded only then, so its idle threads never spin next to the
 * first pair).
 */
async function sideBySide(engine: OnnxInferenceEngine, tokens: number, repeats: number): Promise<SideBySide> {
  const promptIds = engine.tokenizer.encode(BENCH_PROMPTS[0]);
  const compare = async (sessionOptions?: Record<string, unknown>) => {
    const tjs = await loadTransformersJs(engine.modelDir, sessionOptions);
    try {
      const ours = (await engine.model.generateBatch([{ promptIds, maxNewTokens: tokens }]))[0].tokenIds;
      const theirs = await tjs.greedy(promptIds, tokens);
      const [e, t] = await interleavedTimings([{ rows: 1, run: engineRun(engine, 1, true) }, { rows: 1, run: tjs.run(promptIds) }], tokens, repeats);
      return { version: tjs.version, engine: tokPerSec(e), transformersJs: tokPerSec(t), sameTokens: JSON.stringify(ours) === JSON.stringify(theirs) };
    } finally {
      await tjs.dispose();
    }
  };
  const engineThreads = sessionOptions("cpu", {}).intraOpNumThreads!;
  const asItComes = await compare();
  const like = await compare({ intraOpNumThreads: engineThreads, interOpNumThreads: 1 });
  return {
    version: asItComes.version,
    tokens,
    engine: asItComes.engine,
    transformersJs: asItComes.transformersJs,
    ratio: asItComes.engine / asItComes.transformersJs,
    sameTokens: asItComes.sameTokens && like.sameTokens,
    engineThreads,
    sameThreads: { engine: like.engine, transformersJs: like.transformersJs, ratio: like.engine / like.transformersJs },
  };
}

async function main(): Promise<void> {
  const loadAtStart = os.loadavg()[0];
  const options = parseOptions();
  if (options.trainedOnly) {
    const trained = await trainedAgreement();
    console.log(trainedLine(trained));
    mkdirSync(path.join(ROOT, "bench", "out"), { recursive: true });
    const stamped = { ...provenance("npm run bench:inference -- --trained-only"), trained };
    writeFileSync(path.join(ROOT, "bench", "out", "inference-trained.json"), JSON.stringify(stamped, null, 2) + "\n");
    console.log("wrote bench/out/inference-trained.json");
    return;
  }
  const presets = options.presets;
  const results: Partial<Record<PresetName, PresetResult>> = {};
  let compared: SideBySide | undefined;
  let peakRssMiB = 0;
  let engineHugePagesMiB = 0;
  // Bandwidth is sampled after the last preset's engine runs (before transformers.js) and twice at the end, where
  // each sample also has a twin in a child process on huge pages; the bound uses the fastest of them all.
  const bandwidthSamples: Bandwidths[] = [];
  for (const preset of presets) {
    const dir = await ensurePreset(preset);
    const big = preset === "gpt2-small";
    const tokens = options.tokens ?? (big ? 16 : 32);
    // Several runs: the machine is shared; the median step over all of them is what an undisturbed step takes.
    const repeats = big ? 4 : preset === "small" ? 3 : 5;
    const engine = await loadEngine({ modelDir: dir, providers: ["cpu"] });
    try {
      await engineRun(engine, 8, true)(2); // warm-up: first runs allocate arenas
      process.stdout.write(`measuring ${preset}…\n`);
      results[preset] = { params: gpt2ParamCount(MODEL_PRESETS[preset]), modelHash: engine.modelHash, tokens, ...(await measurePreset(engine, tokens, repeats)) };
      // the engines' own peak, before transformers.js loads a second copy of the weights (maxRSS only grows)
      if (!compared) peakRssMiB = process.resourceUsage().maxRSS / 1024;
      if (big) engineHugePagesMiB = anonHugePagesKiB() / 1024;
      // Only once the last peak RSS is read: the bandwidth buffers take 1 GB and maxRSS never comes down.
      if (preset === presets[presets.length - 1]) bandwidthSamples.push(await measureBandwidths());
      if (big) {
        process.stdout.write("measuring transformers.js on the same folder…\n");
        compared = await sideBySide(engine, tokens, repeats);
      }
    } finally {
      await engine.close();
    }
  }

  const trained = await trainedAgreement();

  const hugePageSamples: (Bandwidths & { hugePagesKiB: number })[] = [];
  for (let i = 0; i < 2; i++) {
    bandwidthSamples.push(await measureBandwidths());
    hugePageSamples.push(await measureOnHugePages());
  }
  const bandwidths = fastestOf(bandwidthSamples);
  const onHugePages = fastestOf(hugePageSamples);
  const bandwidth = Math.max(...[bandwidths, onHugePages].flatMap((b) => [b.copyStream, b.read1, b.readAll]));
  const gpt2 = results["gpt2-small"];
  const shape = MODEL_PRESETS["gpt2-small"];
  // Per decoded token every weight matrix is read once; of the embeddings only the tied output layer (V×D) is
  // read in full (the token and position lookups read one row each).
  const weightBytesPerToken = (gpt2ParamCount(shape) - shape.nPositions * shape.nEmbd) * 4;
  const boundTokPerSec = bandwidth / weightBytesPerToken;
  const stamp = provenance(`npm run bench:inference -- --presets ${presets.join(",")}${options.tokens === undefined ? "" : ` --tokens ${options.tokens}`}`);
  const out = {
    ...stamp,
    // The 1-minute load average says how much else ran on the machine (figures are median steps, but a busy
    // shared machine still lowers them).
    machine: { ...stamp.machine, provider: "cpu", loadAverage1m: { start: loadAtStart, end: os.loadavg()[0] } },
    tokPerSec: gpt2 ? { engine: gpt2.batch1.cached, noCache: gpt2.batch1.uncached, transformersJs: compared?.transformersJs ?? null } : null,
    engineVsTransformersJs: compared ?? null,
    boundTokPerSec: gpt2 ? boundTokPerSec : null,
    fractionOfBound: gpt2 ? gpt2.batch1.cached / boundTokPerSec : null,
    batch8TokPerSec: gpt2 ? gpt2.batch8.cached : null,
    batch8Speedup: gpt2 ? gpt2.batch8.cached / gpt2.batch1.cached : null,
    peakRssMiB,
    bandwidthGBps: {
      ...gbps(bandwidths),
      // hugePagesMiB: the least any sample's process held on huge pages (0 = the kernel gave none)
      onHugePages: { ...gbps(onHugePages), hugePagesMiB: Math.min(...hugePageSamples.map((h) => h.hugePagesKiB)) / 1024 },
      usedForBound: bandwidth / 1e9,
    },
    // How much of the engine's memory sat on 2 MiB pages: 0 unless the kernel's THP mode is `always` or GLIBC_TUNABLES asks.
    hugePages: { glibcTunables: process.env.GLIBC_TUNABLES ?? null, engineAnonHugePagesMiB: engineHugePagesMiB },
    weightBytesPerToken,
    model: gpt2 ? { preset: "gpt2-small", params: gpt2.params, hash: gpt2.modelHash } : null,
    trained,
    notes:
      `decode tokens/s = rows / median decode step (gap between consecutive forward passes) over every step of every run, prefill excluded; the bound uses the fastest of the three bandwidth measures, each the fastest of bandwidthGBps.samples samples (after the last preset's engine runs, twice at the end) in this process and of bandwidthGBps.onHugePages.samples in child processes with GLIBC_TUNABLES=${HUGE_PAGES_TUNABLE}; peakRssMiB is the engine's before transformers.js loads; the engine runs one intra-op thread per core in a worker thread; transformersJs is transformers.js as it comes (onnxruntime's thread default), engineVsTransformersJs.sameThreads gives it the engine's thread count`,
    presets: results,
  };

  const rows = Object.entries(results).map(([name, r]) => ({
    preset: name,
    params: r!.params.toLocaleString("en-US"),
    "b1 cached": r!.batch1.cached.toFixed(1),
    "b1 no cache": r!.batch1.uncached.toFixed(1),
    "b8 cached": r!.batch8.cached.toFixed(1),
    "b8 no cache": r!.batch8.uncached.toFixed(1),
    "b8/b1": (r!.batch8.cached / r!.batch1.cached).toFixed(2),
  }));
  console.table(rows);
  const gb = (x: number): string => (x / 1e9).toFixed(1);
  const bandwidthLine = (b: Bandwidths): string => `copy (STREAM) ${gb(b.copyStream)}, read 1 thread ${gb(b.read1)}, read ${b.threads} threads ${gb(b.readAll)}`;
  console.log(`bandwidth GB/s: ${bandwidthLine(bandwidths)}; on huge pages: ${bandwidthLine(onHugePages)}`);
  console.log(`engine memory on huge pages: ${engineHugePagesMiB.toFixed(0)} MiB (GLIBC_TUNABLES=${process.env.GLIBC_TUNABLES ?? "unset"})`);
  if (gpt2) {
    console.log(
      `gpt2-small: bound ${boundTokPerSec.toFixed(1)} tok/s (${(weightBytesPerToken / 1e6).toFixed(0)} MB/token at ${gb(bandwidth)} GB/s); engine ${gpt2.batch1.cached.toFixed(1)} tok/s = ${(100 * out.fractionOfBound!).toFixed(0)} % of bound; batch 8 ${out.batch8Speedup!.toFixed(2)}× batch 1`,
    );
    const { batch1: s1, batch8: s8 } = gpt2.cachedStepMs;
    const ms = (q: StepQuartiles): string => `${q.p25.toFixed(1)} / ${q.median.toFixed(1)} / ${q.p75.toFixed(1)} ms (mean ${q.mean.toFixed(1)})`;
    console.log(`gpt2-small decode step p25 / median / p75: batch 1 ${ms(s1)}, batch 8 ${ms(s8)}; from the means batch 8 would be ${((8 * s1.mean) / s8.mean).toFixed(2)}×`);
  }
  if (compared) {
    console.log(
      `side by side (batch 1, same rounds): engine ${compared.engine.toFixed(1)} tok/s (${compared.engineThreads} threads), transformers.js ${compared.version} as it comes ${compared.transformersJs.toFixed(1)} tok/s → ${compared.ratio.toFixed(2)}×; same greedy tokens: ${compared.sameTokens}`,
    );
    const like = compared.sameThreads;
    console.log(`like for like (transformers.js also on ${compared.engineThreads} threads, own rounds): engine ${like.engine.toFixed(1)}, transformers.js ${like.transformersJs.toFixed(1)} tok/s → ${like.ratio.toFixed(2)}×`);
  }
  console.log(trainedLine(trained));
  console.log(`peak RSS ${out.peakRssMiB.toFixed(0)} MiB; load average ${out.machine.loadAverage1m.start} → ${out.machine.loadAverage1m.end}`);
  mkdirSync(path.join(ROOT, "bench", "out"), { recursive: true });
  writeFileSync(path.join(ROOT, "bench", "out", "inference.json"), JSON.stringify(out, null, 2) + "\n");
  console.log("wrote bench/out/inference.json");
}

main().catch((err) => {
  process.stderr.write(`error: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});

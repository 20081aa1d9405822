/**
 * GPU inference run: `tsx bench/gpu/run.ts [--dry-run] [--providers webgpu,cuda] [--preset gpt2-small]`.
 * Writes bench/out/gpu.json.
 *
 * 1. checks the GPU (nvidia-smi), builds the model with the project's deterministic builder if missing;
 * 2. CPU reference: greedy ids of every prompt (each alone) and CPU decode tokens/s at batch 1 and 8;
 * 3. each GPU provider, tried alone: did it load, agreement = fraction of prompts whose greedy ids equal the
 *    CPU's, decode tokens/s at batch 1 and 8 (webgpu with the KV cache in GPU memory and, for comparison, without);
 * 4. PyTorch eager on the same weight bytes (bench/gpu/pytorch_eager.py): tokens/s and its agreement with the CPU.
 *
 * --dry-run is the CPU half, for machines without a GPU: no nvidia-smi; the "device" side is the CPU engine
 * with 1 thread (so the determinism check runs end to end) and the eager side runs on numpy when PyTorch is
 * missing. Decode tokens/s exclude prefill (see bench/inferenceRates.ts).
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, promises as fs, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Command } from "commander";
import { loadEngine, type OnnxInferenceEngine } from "../../oracle/src/inference";
import { buildModel, MODEL_PRESETS, type PresetName } from "../../oracle/src/inference/buildModel";
import { integerOption } from "../../oracle/src/cli/support";
import { presetName } from "../benchOptions";
import { gpt2ParamCount } from "../../oracle/src/inference/builder/gpt2Graph";
import { BENCH_PROMPTS, decodeRate } from "../inferenceRates";
import { npmCommand, provenance } from "../provenance";
import { writeWeightManifest } from "./weightManifest";

const ROOT = process.env.CHAT_ORACLE_ROOT ?? path.resolve(__dirname, "../..");

interface Options {
  dryRun?: true;
  preset: PresetName;
  model?: string;
  tokens: number;
  repeats?: number;
  providers: string;
  python: string;
  out: string;
}

/** The command line; a bad value or an unknown option is commander's one-line error (exit 1). */
function parseOptions(): Options {
  return new Command("bench:gpu")
    .description("GPU decode rate and agreement with the CPU, per execution provider, and PyTorch eager on the same weights")
    .option("--dry-run", "the CPU half only, for machines without a GPU")
    .option("--preset <name>", "built-in preset, built when missing", presetName, "gpt2-small")
    .option("--model <dir>", "model folder (default: models/<preset>)")
    .option("--tokens <n>", "new tokens per generation", integerOption(2, 1024), 32)
    .option("--repeats <n>", "timed runs per measure (default: 1 with --dry-run, else 3)", integerOption(1, 100))
    .option("--providers <list>", "GPU execution providers to try, each alone", "webgpu,cuda")
    .option("--python <path>", "interpreter for the PyTorch eager comparison", "python3")
    .option("--out <file>", "where to write the JSON", path.join(ROOT, "bench", "out", "gpu.json"))
    .parse(process.argv)
    .opts<Options>();
}

function log(message: string): void {
  process.stdout.write(`[gpu-bench] ${message}\n`);
}

function gpuInfo(): string | null {
  try {
    return execFileSync("nvidia-smi", ["--query-gpu=name,memory.total,driver_version", "--format=csv,noheader"], { encoding: "utf8" }).trim();
  } catch {
    return null;
  }
}

async function greedyIds(engine: OnnxInferenceEngine, tokens: number): Promise<number[][]> {
  const out: number[][] = [];
  for (const prompt of BENCH_PROMPTS) out.push((await engine.generate({ prompt, maxNewTokens: tokens })).tokenIds);
  return out;
}

function agreement(a: number[][], b: number[][]): number {
  return a.filter((ids, i) => JSON.stringify(ids) === JSON.stringify(b[i])).length / a.length;
}

interface DeviceRun {
  provider: string;
  label: string;
  loaded: boolean;
  error?: string;
  kvLocation?: string;
  agreement?: number;
  tokPerSecB1?: number;
  tokPerSecB8?: number;
}

async function measure(engine: OnnxInferenceEngine, tokens: number, repeats: number): Promise<{ b1: number; b8: number }> {
  await decodeRate(engine, 8, 3, true, 1); // warm-up: kernels, arenas
  return { b1: await decodeRate(engine, 1, tokens, true, repeats), b8: await decodeRate(engine, 8, tokens, true, repeats) };
}

function runEager(python: string, args: string[]): Record<string, unknown> {
  const script = path.join(ROOT, "bench", "gpu", "pytorch_eager.py");
  const run = spawnSync(python, [script, ...args], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  if (run.error || run.status !== 0) {
    const reason = run.error?.message ?? run.stderr.trim().split("\n").slice(-1)[0] ?? `exit ${run.status}`;
    return { error: reason };
  }
  return JSON.parse(run.stdout.trim().split("\n").slice(-1)[0]);
}

function hasPythonModule(python: string, module: string): boolean {
  return spawnSync(python, ["-c", `import ${module}`]).status === 0;
}

async function main(): Promise<void> {
  const options = parseOptions();
  const dryRun = options.dryRun === true;
  const { preset, tokens, python } = options;
  const modelDir = path.resolve(options.model ?? path.join(ROOT, "models", preset));
  const repeats = options.repeats ?? (dryRun ? 1 : 3);
  const providers = options.providers.split(",").filter(Boolean);
  const outFile = path.resolve(options.out);

  const gpu = dryRun ? null : gpuInfo();
  log(dryRun ? "dry run: CPU half only" : `gpu: ${gpu ?? "nvidia-smi not found"}`);
  if (!existsSync(path.join(modelDir, "config.json"))) {
    log(`building ${preset} model in ${modelDir}`);
    await buildModel(modelDir, preset);
  }

  log("cpu reference");
  const cpu = await loadEngine({ modelDir, providers: ["cpu"] });
  const modelHash = cpu.modelHash;
  const cpuIds = await greedyIds(cpu, tokens);
  const cpuRates = await measure(cpu, tokens, repeats);
  await cpu.close();
  log(`cpu: ${cpuRates.b1.toFixed(1)} tok/s at batch 1, ${cpuRates.b8.toFixed(1)} at batch 8`);

  const runs: DeviceRun[] = [];
  const variants: Array<{ provider: string; label: string; threads?: number; kvOnDevice?: boolean }> = dryRun
    ? [{ provider: "cpu", label: "cpu (1 thread, dry run)", threads: 1 }]
    : providers.flatMap((p) => (p === "webgpu" ? [{ provider: p, label: "webgpu" }, { provider: p, label: "webgpu (kv on host)", kvOnDevice: false }] : [{ provider: p, label: p }]));
  for (const v of variants) {
    log(`trying ${v.label}`);
    let engine: OnnxInferenceEngine | undefined;
    try {
      engine = await loadEngine({ modelDir, providers: [v.provider], threads: v.threads, kvOnDevice: v.kvOnDevice });
      const ids = await greedyIds(engine, tokens);
      const rates = await measure(engine, tokens, repeats);
      runs.push({ provider: v.provider, label: v.label, loaded: true, kvLocation: engine.model.kvLocation, agreement: agreement(ids, cpuIds), tokPerSecB1: rates.b1, tokPerSecB8: rates.b8 });
      log(`${v.label}: agreement ${agreement(ids, cpuIds)}, ${rates.b1.toFixed(1)} tok/s at batch 1, ${rates.b8.toFixed(1)} at batch 8`);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      runs.push({ provider: v.provider, label: v.label, loaded: false, error: message.split("\n")[0] });
      log(`${v.label}: failed: ${message.split("\n")[0]}`);
    } finally {
      await engine?.close();
    }
  }

  // PyTorch eager on the same bytes. Dry run: numpy when PyTorch is missing (checks weights + architecture).
  const workDir = await fs.mkdtemp(path.join(os.tmpdir(), "gpu-bench-"));
  const manifest = await writeWeightManifest(modelDir, workDir);
  const promptFile = path.join(workDir, "prompts.json");
  const tokenizerEngine = await loadEngine({ modelDir, providers: ["cpu"] });
  writeFileSync(promptFile, JSON.stringify(BENCH_PROMPTS.map((p) => tokenizerEngine.tokenizer.encode(p))));
  await tokenizerEngine.close();
  const torchAvailable = hasPythonModule(python, "torch");
  const backend = torchAvailable ? "torch" : "numpy";
  const device = dryRun || !torchAvailable ? "cpu" : "cuda";
  log(`eager reference: ${backend} on ${device}`);
  const eagerArgs = ["--manifest", manifest, "--prompts", promptFile, "--tokens", String(tokens), "--backend", backend, "--device", device, "--repeats", String(repeats)];
  const eager = runEager(python, eagerArgs);
  await fs.rm(workDir, { recursive: true, force: true });
  const eagerAgreement = Array.isArray(eager.ids) ? agreement(eager.ids as number[][], cpuIds) : null;
  log(eager.error ? `eager failed: ${eager.error}` : `eager: agreement ${eagerAgreement}, ${Number(eager.tokPerSecB1).toFixed(1)} tok/s at batch 1`);

  const best = runs.filter((r) => r.loaded && !dryRun).sort((a, b) => (b.tokPerSecB1 ?? 0) - (a.tokPerSecB1 ?? 0))[0];
  const shown = best ?? (dryRun ? runs[0] : undefined);
  const stamp = provenance(npmCommand("bench:gpu"));
  const out = {
    provider: best ? best.label : dryRun ? "cpu (dry run)" : "none",
    tokPerSec: { engine: shown?.tokPerSecB1 ?? null, pytorchEager: (eager.tokPerSecB1 as number | undefined) ?? null, cpu: cpuRates.b1 },
    batch8TokPerSec: shown?.tokPerSecB8 ?? null,
    agreement: shown?.agreement ?? null,
    ...stamp,
    dryRun,
    machine: { ...stamp.machine, gpu },
    model: { preset, params: gpt2ParamCount(MODEL_PRESETS[preset]), hash: modelHash, tokens },
    cpu: { tokPerSecB1: cpuRates.b1, tokPerSecB8: cpuRates.b8 },
    runs,
    eager: { backend, device, agreementWithCpu: eagerAgreement, ...Object.fromEntries(Object.entries(eager).filter(([k]) => k !== "ids")) },
  };
  mkdirSync(path.dirname(outFile), { recursive: true });
  writeFileSync(outFile, JSON.stringify(out, null, 2) + "\n");
  log(`wrote ${outFile}`);
}

main().catch((err) => {
  process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});

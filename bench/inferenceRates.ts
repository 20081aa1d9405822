/**
 * Timing helpers shared by bench/inference.ts and bench/gpu/run.ts.
 * A run records when each of its forward passes finished; a decode step's time is the gap between two
 * consecutive passes (the whole loop: the pass, choosing the token, building the next feeds), so the first pass
 * (prefill) is never counted. Decode rate = rows / median decode step over every step of every run: on a shared
 * machine the median ignores the steps that another process disturbed, in either direction. (The first version
 * took rows × (N − 1) / (fastest N-token run − fastest 1-token run); when the fastest 1-token run was itself
 * disturbed that difference shrank and the rate came out too high, by 40 % in some batch-8 runs.)
 */
import type { OnnxInferenceEngine } from "../oracle/src/inference";

export const BENCH_PROMPTS = [
  "The oracle",
  "Hello, what is a blockchain?",
  "Proof of stake",
  "A committee of validators runs the same model and",
  "Attention lets every token look at the tokens before it.",
  "区块链",
  "Greedy decoding gives the same tokens",
  "x",
];

/** Runs one generation of at most `tokens` new tokens per row; resolves to the times (ms, any fixed origin) at which its forward passes finished. */
export type GenerationRun = (tokens: number) => Promise<number[]>;

const WARM_UP_ROUNDS = 2;

export interface DecodeTiming {
  rows: number;
  /** every decode step of every run, seconds */
  stepSeconds: number[];
  /** forward passes per run (prefill + decode steps) */
  steps: number;
}

export function median(values: readonly number[]): number {
  return medianOfSorted([...values].sort((a, b) => a - b));
}

function medianOfSorted(sorted: readonly number[]): number {
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export interface StepQuartiles {
  p25: number;
  median: number;
  p75: number;
  /** the mean counts every disturbed step too */
  mean: number;
  steps: number;
}

/** 25th / 50th / 75th percentile and mean of the decode steps, in ms (nearest rank). */
export function stepQuartiles(t: DecodeTiming): StepQuartiles {
  const sorted = [...t.stepSeconds].sort((a, b) => a - b);
  const at = (q: number): number => 1000 * sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  const mean = (1000 * sorted.reduce((sum, x) => sum + x, 0)) / sorted.length;
  return { p25: at(0.25), median: 1000 * medianOfSorted(sorted), p75: at(0.75), mean, steps: sorted.length };
}

export function tokPerSec(t: DecodeTiming): number {
  return t.rows / median(t.stepSeconds);
}

/**
 * Times several runners in alternation (round r runs each of them once), so that a disturbance of the shared
 * machine hits all of them alike; returns one timing per runner, in order.
 */
export async function interleavedTimings(runners: ReadonlyArray<{ rows: number; run: GenerationRun }>, tokens: number, repeats: number): Promise<DecodeTiming[]> {
  const timings: DecodeTiming[] = runners.map((r) => ({ rows: r.rows, stepSeconds: [], steps: 0 }));
  // Untimed rounds first: until V8 has optimized the per-step JavaScript (a few hundred steps), a tiny model's
  // batch-8 step takes 1.5–2 ms instead of 0.35 ms; on gpt2-small this is noise, on tiny it is the whole figure.
  for (let round = 0; round < WARM_UP_ROUNDS; round++) for (const runner of runners) await runner.run(tokens);
  for (let round = 0; round < repeats; round++) {
    for (const [i, runner] of runners.entries()) {
      const finished = await runner.run(tokens);
      const t = timings[i];
      if (t.steps && finished.length !== t.steps) throw new Error(`a runner took ${t.steps} steps, then ${finished.length}: generation is not deterministic`);
      t.steps = finished.length;
      for (let s = 1; s < finished.length; s++) t.stepSeconds.push((finished[s] - finished[s - 1]) / 1000);
    }
  }
  for (const t of timings) if (t.steps < 2) throw new Error("generation stopped after one token (EOS); choose other prompts");
  return timings;
}

/** The engine's generateBatch over the first `batch` bench prompts, as a GenerationRun. */
export function engineRun(engine: OnnxInferenceEngine, batch: number, useCache: boolean): GenerationRun {
  const promptIds = BENCH_PROMPTS.slice(0, batch).map((p) => engine.tokenizer.encode(p));
  return async (tokens) => {
    const finished: number[] = [];
    await engine.model.generateBatch(
      promptIds.map((ids) => ({ promptIds: ids, maxNewTokens: tokens })),
      { useCache, onStep: (at) => finished.push(at) },
    );
    return finished;
  };
}

/** Decode tokens/s (aggregate over the batch): rows / median decode step over `repeats` runs. */
export async function decodeRate(engine: OnnxInferenceEngine, batch: number, tokens: number, useCache: boolean, repeats: number): Promise<number> {
  const [timing] = await interleavedTimings([{ rows: batch, run: engineRun(engine, batch, useCache) }], tokens, repeats);
  return tokPerSec(timing);
}

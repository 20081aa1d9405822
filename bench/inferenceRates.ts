/**
 * Timing helpers shared by bench/inference.ts and bench/gpu/run.ts.
 * Decode rate = rows × (steps − 1) / (time(steps tokens) − time(1 token)): the prompt's prefill is not counted.
 * Each of the two times is the fastest of several runs, taken separately: on a shared machine the fastest run is
 * the least disturbed one, and taking the best *ratio* instead would reward a run whose 1-token baseline
 * happened to be slowed down.
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

/** Runs one generation of at most `tokens` new tokens per row; resolves to the decode steps it took. */
export type GenerationRun = (tokens: number) => Promise<number>;

export interface DecodeTiming {
  rows: number;
  /** fastest run of 1 new token (prefill + first token), seconds */
  oneSeconds: number;
  /** fastest run of `steps` new tokens, seconds */
  fullSeconds: number;
  steps: number;
}

export function tokPerSec(t: DecodeTiming): number {
  return (t.rows * (t.steps - 1)) / Math.max(t.fullSeconds - t.oneSeconds, 1e-9);
}

async function timed(run: GenerationRun, tokens: number): Promise<{ seconds: number; steps: number }> {
  const started = performance.now();
  const steps = await run(tokens);
  return { seconds: (performance.now() - started) / 1000, steps };
}

/**
 * Times several runners in alternation (round r runs each of them once), so that a disturbance of the shared
 * machine hits all of them alike; returns one timing per runner, in order.
 */
export async function interleavedTimings(runners: ReadonlyArray<{ rows: number; run: GenerationRun }>, tokens: number, repeats: number): Promise<DecodeTiming[]> {
  const timings: DecodeTiming[] = runners.map((r) => ({ rows: r.rows, oneSeconds: Infinity, fullSeconds: Infinity, steps: 0 }));
  for (let round = 0; round < repeats; round++) {
    for (const [i, runner] of runners.entries()) {
      const one = await timed(runner.run, 1);
      const full = await timed(runner.run, tokens);
      const t = timings[i];
      if (t.steps && full.steps !== t.steps) throw new Error(`a runner took ${t.steps} steps, then ${full.steps}: generation is not deterministic`);
      t.steps = full.steps;
      t.oneSeconds = Math.min(t.oneSeconds, one.seconds);
      t.fullSeconds = Math.min(t.fullSeconds, full.seconds);
    }
  }
  for (const t of timings) if (t.steps < 2) throw new Error("generation stopped after one token (EOS); choose other prompts");
  return timings;
}

/** The engine's generateBatch over the first `batch` bench prompts, as a GenerationRun. */
export function engineRun(engine: OnnxInferenceEngine, batch: number, useCache: boolean): GenerationRun {
  const promptIds = BENCH_PROMPTS.slice(0, batch).map((p) => engine.tokenizer.encode(p));
  return async (tokens) => {
    const results = await engine.model.generateBatch(
      promptIds.map((ids) => ({ promptIds: ids, maxNewTokens: tokens })),
      { useCache },
    );
    return Math.max(...results.map((r) => r.tokenIds.length));
  };
}

/** Decode tokens/s (aggregate over the batch), fastest 1-token and N-token runs of `repeats`. */
export async function decodeRate(engine: OnnxInferenceEngine, batch: number, tokens: number, useCache: boolean, repeats: number): Promise<number> {
  const [timing] = await interleavedTimings([{ rows: batch, run: engineRun(engine, batch, useCache) }], tokens, repeats);
  return tokPerSec(timing);
}

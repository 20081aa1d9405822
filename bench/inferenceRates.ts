/**
 * Timing helpers shared by bench/inference.ts and bench/gpu/run.ts.
 * Decode rate = rows × (N − 1) / (time(N tokens) − time(1 token)): the prompt's prefill is not counted.
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

/** Seconds for one batch of `batch` prompts generating `tokens` tokens each. */
export async function timeBatch(engine: OnnxInferenceEngine, batch: number, tokens: number, useCache: boolean): Promise<number> {
  const requests = BENCH_PROMPTS.slice(0, batch).map((p) => ({ promptIds: engine.tokenizer.encode(p), maxNewTokens: tokens }));
  const started = performance.now();
  await engine.model.generateBatch(requests, { useCache });
  return (performance.now() - started) / 1000;
}

/** Best decode tokens/s (aggregate over the batch) of `repeats` runs. */
export async function decodeRate(engine: OnnxInferenceEngine, batch: number, tokens: number, useCache: boolean, repeats: number): Promise<number> {
  let best = 0;
  for (let r = 0; r < repeats; r++) {
    const one = await timeBatch(engine, batch, 1, useCache);
    const full = await timeBatch(engine, batch, tokens, useCache);
    best = Math.max(best, (batch * (tokens - 1)) / Math.max(full - one, 1e-9));
  }
  return best;
}

import { NonRetryableError } from "../errors";
import { Prng } from "../prng";

export interface SamplingOptions {
  temperature: number;
  topK?: number;
  topP?: number;
  seed: number;
}

export function validateSampling(s: SamplingOptions): void {
  if (!(Number.isFinite(s.temperature) && s.temperature > 0)) throw new NonRetryableError(`sampling.temperature must be > 0, got ${s.temperature}`);
  if (s.topK !== undefined && !(Number.isInteger(s.topK) && s.topK >= 1)) throw new NonRetryableError(`sampling.topK must be an integer >= 1, got ${s.topK}`);
  if (s.topP !== undefined && !(s.topP > 0 && s.topP <= 1)) throw new NonRetryableError(`sampling.topP must be in (0, 1], got ${s.topP}`);
  if (!Number.isSafeInteger(s.seed) || s.seed < 0) throw new NonRetryableError(`sampling.seed must be a non-negative safe integer, got ${s.seed}`);
}

/** Index of the largest logit; the lowest index wins a tie so every validator picks the same token. */
export function argmax(logits: Float32Array, offset: number, size: number): number {
  let best = 0;
  let bestValue = logits[offset];
  for (let i = 1; i < size; i++) {
    const v = logits[offset + i];
    if (v > bestValue) {
      bestValue = v;
      best = i;
    }
  }
  return best;
}

/**
 * Picks the next token from one row of logits: temperature, then top-k, then top-p (nucleus), then one draw
 * from the request's own PRNG. Candidates are ordered by (logit desc, id asc) and probabilities summed in
 * float64 in that order, so the draw is reproducible for a given seed.
 */
export class TokenSampler {
  private readonly prng: Prng;

  constructor(private readonly options: SamplingOptions) {
    validateSampling(options);
    this.prng = new Prng(options.seed);
  }

  next(logits: Float32Array, offset: number, size: number): number {
    const { temperature, topK, topP } = this.options;
    const ids = Array.from({ length: size }, (_, i) => i);
    ids.sort((a, b) => logits[offset + b] - logits[offset + a] || a - b);
    const keep = Math.min(size, topK ?? size);
    const top = ids.slice(0, keep);
    const maxLogit = logits[offset + top[0]];
    const weights = top.map((id) => Math.exp((logits[offset + id] - maxLogit) / temperature));
    let total = weights.reduce((a, b) => a + b, 0);
    let cut = top.length;
    if (topP !== undefined && topP < 1) {
      let cumulative = 0;
      for (let i = 0; i < top.length; i++) {
        cumulative += weights[i] / total;
        if (cumulative >= topP) {
          cut = i + 1;
          break;
        }
      }
      total = weights.slice(0, cut).reduce((a, b) => a + b, 0);
    }
    let draw = this.prng.nextFloat() * total;
    for (let i = 0; i < cut; i++) {
      draw -= weights[i];
      if (draw < 0) return top[i];
    }
    return top[cut - 1];
  }
}

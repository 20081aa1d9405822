/**
 * The repository's one seeded PRNG: model weights, seeded sampling, the PoW/PoS simulator, Monte Carlo odds,
 * randomized tests and benchmarks all draw from it, so a run replays from its printed seed.
 *
 * sfc32: integer-only arithmetic (Math.imul, shifts), so the same seed gives the same stream on every platform and
 * Node version. A numeric seed is spread over the 128-bit state through splitmix32 (both 32-bit halves folded in);
 * a text seed through SHA-256. Floats are built from whole random bits, so derived values are byte-identical
 * everywhere (the tiny model's weights are pinned on this).
 */
import { createHash } from "node:crypto";

export class Prng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number | string) {
    const [a, b, c, d] = typeof seed === "string" ? stateFromText(seed) : stateFromInteger(seed);
    this.a = a;
    this.b = b;
    this.c = c;
    this.d = d;
    for (let i = 0; i < 12; i++) this.nextUint32();
  }

  nextUint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1) with 24-bit resolution (exact in float32). */
  nextFloat(): number {
    return (this.nextUint32() >>> 8) / 16777216;
  }

  /** Uniform in [0, 1) with 53 random bits (full float64 resolution). */
  nextDouble(): number {
    return (this.nextUint32() * 2 ** 21 + (this.nextUint32() >>> 11)) / 2 ** 53;
  }

  /** Uniform integer in [0, n). */
  nextInt(n: number): number {
    return Math.floor(this.nextFloat() * n);
  }

  /** Fills `out` with uniform values in [-limit, limit), rounded to float32. */
  fillUniform(out: Float32Array, limit: number): Float32Array {
    for (let i = 0; i < out.length; i++) out[i] = (this.nextFloat() * 2 - 1) * limit;
    return out;
  }
}

/** A `() => number` stream of uniform floats in [0, 1) (53 bits), for code that takes a `Math.random`-like function. */
export function seededRandom(seed: number | string): () => number {
  const prng = new Prng(seed);
  return () => prng.nextDouble();
}

function stateFromInteger(seed: number): number[] {
  if (!Number.isSafeInteger(seed) || seed < 0) throw new RangeError(`seed must be a non-negative safe integer, got ${seed}`);
  // Fold both 32-bit halves of the seed in, so seeds above 2^32 stay distinct.
  let state = (seed >>> 0) ^ Math.imul(Math.floor(seed / 0x1_0000_0000) >>> 0, 0x9e3779b9);
  const next = (): number => {
    state = (state + 0x9e3779b9) | 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
  return [next(), next(), next(), next()];
}

function stateFromText(seed: string): number[] {
  const words = createHash("sha256").update(seed).digest();
  return [words.readInt32LE(0), words.readInt32LE(4), words.readInt32LE(8), words.readInt32LE(12)];
}

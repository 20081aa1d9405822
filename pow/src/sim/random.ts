/**
 * A seeded PRNG (sfc32, 128-bit state seeded from SHA-256 of a string), so every simulation is reproducible from
 * its `--seed`. Math.random is never used by the simulator.
 */
import { createHash } from "node:crypto";

export class Random {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: string) {
    const words = createHash("sha256").update(`pow-sim:${seed}`).digest();
    this.a = words.readInt32LE(0);
    this.b = words.readInt32LE(4);
    this.c = words.readInt32LE(8);
    this.d = words.readInt32LE(12);
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

  /** Uniform in [0, 1) with 53 random bits. */
  next(): number {
    return (this.nextUint32() * 2 ** 21 + (this.nextUint32() >>> 11)) / 2 ** 53;
  }

  /** Exponential waiting time with the given rate (mean 1 / rate). */
  exponential(rate: number): number {
    return -Math.log(1 - this.next()) / rate;
  }

  /** Pareto with scale 1 and shape `alpha` (heavy-tailed wealth). */
  pareto(alpha: number): number {
    return (1 - this.next()) ** (-1 / alpha);
  }

  /** Index drawn with probability weights[i] / Σ weights. */
  weightedIndex(weights: readonly number[], total: number): number {
    let x = this.next() * total;
    for (let i = 0; i < weights.length; i++) {
      x -= weights[i];
      if (x < 0) return i;
    }
    return weights.length - 1;
  }

  /** A derived, independent stream (for run r of a Monte Carlo, or one component of a simulation). */
  fork(label: string | number): Random {
    return new Random(`${this.nextUint32()}:${label}`);
  }
}

/** A 0x-prefixed bytes32 seed for the sortition tree's draws. */
export function bytes32Seed(seed: string): string {
  return "0x" + createHash("sha256").update(`pos-sim:${seed}`).digest("hex");
}

/**
 * The simulator's random draws over the shared seeded PRNG (seeded from text), so every simulation is reproducible
 * from its `--seed`. Math.random is never used by the simulator.
 */
import { createHash } from "node:crypto";
import { Prng } from "../../../oracle/src/prng";

export class Random extends Prng {
  constructor(seed: string) {
    super(`pow-sim:${seed}`);
  }

  /** Uniform in [0, 1) with 53 random bits. */
  next(): number {
    return this.nextDouble();
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

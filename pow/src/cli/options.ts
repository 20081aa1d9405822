/** The simulator's wealth options: --hashrates, --hashrates-file or --miners/--distribution. */
import type { WealthDistribution } from "../sim/wealth";
import { checkWealth, generateWealth, readWealthFile } from "../sim/wealth";

/** A bad option value: reported as one line, exit code 2. */
export class UsageError extends Error {}

export const DISTRIBUTIONS: WealthDistribution[] = ["equal", "uniform", "pareto", "geometric"];

export interface WealthOptions {
  miners: number;
  distribution: string;
  hashrates?: number[];
  hashratesFile?: string;
  totalHashrate: number;
  seed: string;
}

/** The wealth vector from --hashrates, --hashrates-file or --miners/--distribution, scaled to --total-hashrate H/s. */
export function wealthFromOptions(options: WealthOptions): number[] {
  let values: number[];
  if (options.hashrates !== undefined) values = options.hashrates;
  else if (options.hashratesFile !== undefined) values = readWealthFile(options.hashratesFile);
  else {
    if (!DISTRIBUTIONS.includes(options.distribution as WealthDistribution)) {
      throw new UsageError(`--distribution must be one of ${DISTRIBUTIONS.join(", ")}, got "${options.distribution}"`);
    }
    if (!Number.isInteger(options.miners) || options.miners < 1) throw new UsageError(`--miners must be a positive integer, got ${options.miners}`);
    values = generateWealth(options.distribution as WealthDistribution, options.miners, options.seed);
  }
  checkWealth(values);
  if (!(options.totalHashrate > 0)) throw new UsageError(`--total-hashrate must be positive, got ${options.totalHashrate}`);
  // Explicit hashrates are taken as given; generated ones are shares, scaled to the total.
  if (options.hashrates !== undefined || options.hashratesFile !== undefined) return values;
  const total = values.reduce((a, b) => a + b, 0);
  return values.map((v) => (v / total) * options.totalHashrate);
}

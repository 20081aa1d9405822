/**
 * Fairness of block rewards in the sense of Huang, Tang, Xu, Ye, Zhou and Zhang, "Do the Rich Get Richer? Fairness
 * Analysis for Blockchain Incentives", SIGMOD 2021. For a participant with initial share a of the resource
 * (hashrate or stake) and share λ of the rewards at the end:
 *  - expectational fairness: E[λ] = a;
 *  - robust (ε, δ)-fairness: Pr[(1 - ε) a ≤ λ ≤ (1 + ε) a] ≥ 1 - δ.
 * We estimate both by Monte Carlo over independent runs (different seeds) of the same configuration.
 */

export interface ParticipantFairness {
  participant: number;
  initialShare: number;
  meanRewardShare: number;
  /** E[λ] / a: 1 is expectationally fair. */
  expectationalRatio: number;
  /** Standard error of E[λ] / a over the runs. */
  ratioStdError: number;
  /** Fraction of runs with λ outside [(1 - ε) a, (1 + ε) a]: the smallest δ for which (ε, δ)-fairness holds. */
  deltaAtEpsilon: number;
  /** The (1 - δ) quantile of |λ / a - 1|: the smallest ε for which (ε, δ)-fairness holds. */
  epsilonAtDelta: number;
  robustlyFair: boolean;
}

export interface FairnessReport {
  epsilon: number;
  delta: number;
  runs: number;
  participants: ParticipantFairness[];
  /** max over participants of |E[λ] / a - 1|. */
  worstExpectationalDeviation: number;
  /** Participants satisfying (ε, δ)-fairness. */
  robustlyFairCount: number;
}

export function fairness(initialShares: readonly number[], rewardSharesByRun: readonly (readonly number[])[], epsilon: number, delta: number): FairnessReport {
  const runs = rewardSharesByRun.length;
  if (runs === 0) throw new RangeError("fairness needs at least one run");
  const participants = initialShares.map((a, i): ParticipantFairness => {
    const ratios = rewardSharesByRun.map((shares) => (a > 0 ? shares[i] / a : 1));
    const mean = ratios.reduce((s, r) => s + r, 0) / runs;
    const variance = runs > 1 ? ratios.reduce((s, r) => s + (r - mean) ** 2, 0) / (runs - 1) : 0;
    const deviations = ratios.map((r) => Math.abs(r - 1)).sort((x, y) => x - y);
    const outside = deviations.filter((d) => d > epsilon).length / runs;
    const quantileIndex = Math.min(runs - 1, Math.max(0, Math.ceil((1 - delta) * runs) - 1));
    return {
      participant: i, initialShare: a, meanRewardShare: mean * a, expectationalRatio: mean,
      ratioStdError: Math.sqrt(variance / runs), deltaAtEpsilon: outside, epsilonAtDelta: deviations[quantileIndex],
      robustlyFair: outside <= delta,
    };
  });
  return {
    epsilon, delta, runs, participants,
    worstExpectationalDeviation: Math.max(...participants.map((p) => Math.abs(p.expectationalRatio - 1))),
    robustlyFairCount: participants.filter((p) => p.robustlyFair).length,
  };
}

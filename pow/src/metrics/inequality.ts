/** Concentration measures of a vector of rewards or stakes. */

/** Gini coefficient: 0 when everyone holds the same, → 1 when one participant holds everything. */
export function gini(values: readonly number[]): number {
  const n = values.length;
  const total = values.reduce((a, b) => a + b, 0);
  if (n === 0 || total === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  // G = Σ (2i - n - 1) x_(i) / (n Σ x), i = 1..n over the sorted values.
  let weighted = 0;
  sorted.forEach((x, i) => {
    weighted += (2 * (i + 1) - n - 1) * x;
  });
  return weighted / (n * total);
}

/** Nakamoto coefficient: the fewest participants that together hold more than `threshold` of the total. */
export function nakamotoCoefficient(values: readonly number[], threshold = 0.5): number {
  const total = values.reduce((a, b) => a + b, 0);
  if (total === 0) return 0;
  const sorted = [...values].sort((a, b) => b - a);
  let held = 0;
  for (let i = 0; i < sorted.length; i++) {
    held += sorted[i];
    if (held > threshold * total) return i + 1;
  }
  return sorted.length;
}

/** Nearest-rank percentile of already sorted numbers. */
export function percentile(sorted, q) {
  if (sorted.length === 0) return null
  const rank = Math.ceil(q * sorted.length)
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]
}

/** n, min, p50, p90, p99, max and mean of a list of numbers, rounded to `digits`. */
export function summarize(values, digits = 1) {
  const sorted = [...values].sort((a, b) => a - b)
  const r = (v) => (v === null ? null : Math.round(v * 10 ** digits) / 10 ** digits)
  const mean = sorted.length === 0 ? null : sorted.reduce((a, b) => a + b, 0) / sorted.length
  return {
    n: sorted.length,
    min: r(sorted[0] ?? null),
    p50: r(percentile(sorted, 0.5)),
    p90: r(percentile(sorted, 0.9)),
    p99: r(percentile(sorted, 0.99)),
    max: r(sorted.at(-1) ?? null),
    mean: r(mean),
  }
}

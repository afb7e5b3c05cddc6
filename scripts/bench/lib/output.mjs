// Benchmarks print exactly one JSON object on stdout; everything else (progress, warnings)
// goes to stderr, so `node scripts/bench/x.mjs > result.json` captures only the result.

/** A progress line on stderr, with the seconds since the benchmark started. */
export function note(...parts) {
  const seconds = (performance.now() / 1000).toFixed(1).padStart(6)
  process.stderr.write(`[bench ${seconds}s] ${parts.join(' ')}\n`)
}

/** The one result, as a single line of JSON on stdout. */
export function printResult(result) {
  process.stdout.write(`${JSON.stringify(result)}\n`)
}

/** Rounds to `digits` decimals (for readable JSON), leaving null and undefined alone. */
export function round(value, digits = 2) {
  if (value === null || value === undefined || !Number.isFinite(value)) return value ?? null
  const f = 10 ** digits
  return Math.round(value * f) / f
}

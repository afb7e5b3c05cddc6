const DURATION_PART = /(\d+)(ms|s|m|h|d)/g
const DURATION_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }

/**
 * Milliseconds in a duration string such as "1h30m"; the schema `Duration` guarantees the shape.
 * Apart from the schemas so that a command parsing a flag does not load zod at start.
 */
export function durationMs(duration: string): number {
  let total = 0
  let consumed = 0
  for (const match of duration.matchAll(DURATION_PART)) {
    total += Number(match[1]) * (DURATION_MS[match[2] ?? ''] ?? 0)
    consumed += match[0].length
  }
  if (consumed === 0 || consumed !== duration.length) throw new RangeError(`not a duration: ${JSON.stringify(duration)}`)
  return total
}

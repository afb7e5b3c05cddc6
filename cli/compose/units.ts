/**
 * Compose's spellings of durations and sizes, turned into Shoal's. Compose follows Go and Docker:
 * durations such as `1m30s`, `1.5s` or `250ms` (units h, m, s, ms, us, ns), sizes such as `512m`
 * or `1gb`, where a memory limit or a tmpfs size counts in powers of 1024 and a log size in powers
 * of 1000. Shoal writes whole units (`1500ms`, `512Mi`, `10M`), so each conversion says when it
 * had to round.
 */

const NS_PER: Readonly<Record<string, number>> = { h: 3.6e12, m: 6e10, s: 1e9, ms: 1e6, us: 1e3, µs: 1e3, ns: 1 }
const GO_DURATION_PART = /(\d+(?:\.\d*)?|\.\d+)(h|ms|m|s|us|µs|ns)/gy

export interface Converted<T> {
  readonly value: T
  /** Set when the value had to change to fit Shoal's spelling (rounded up to whole milliseconds). */
  readonly rounded?: true
}

/** A Go duration (`1m30s`, `1.5s`, `100ms`, `0`) as a Shoal duration (`1m30s`, `1500ms`, `0s`); null when it is not one. */
export function composeDuration(text: unknown): Converted<string> | null {
  if (typeof text !== 'string') return null
  const trimmed = text.trim()
  if (trimmed === '0') return { value: '0s' }
  let ns = 0
  let consumed = 0
  GO_DURATION_PART.lastIndex = 0
  for (let match = GO_DURATION_PART.exec(trimmed); match !== null; match = GO_DURATION_PART.exec(trimmed)) {
    ns += Number(match[1]) * (NS_PER[match[2] ?? ''] ?? 0)
    consumed = GO_DURATION_PART.lastIndex
  }
  if (consumed === 0 || consumed !== trimmed.length) return null
  const ms = Math.ceil(Math.round(ns) / 1e6)
  const rounded = ms * 1e6 !== Math.round(ns)
  return rounded ? { value: shoalDuration(ms), rounded: true } : { value: shoalDuration(ms) }
}

/** Milliseconds in Shoal's spelling, largest units first: 90000 → 1m30s, 1500 → 1s500ms. */
export function shoalDuration(ms: number): string {
  if (ms === 0) return '0s'
  const parts: string[] = []
  let rest = ms
  for (const [unit, size] of [
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ] as const) {
    const whole = Math.floor(rest / size)
    if (whole > 0) parts.push(`${whole}${unit}`)
    rest -= whole * size
  }
  if (rest > 0) parts.push(`${rest}ms`)
  return parts.join('')
}

const SIZE = /^(\d+(?:\.\d+)?) ?([kKmMgGtTpP])?([iI])?([bB])?$/
const POWER: Readonly<Record<string, number>> = { '': 0, k: 1, m: 2, g: 3, t: 4, p: 5 }

/**
 * A Docker size (`512m`, `1gb`, `64k`, `1024`, or a number of bytes) in bytes. `base` is 1024 for
 * memory limits and tmpfs sizes (Docker's RAMInBytes), 1000 for log sizes (its FromHumanSize).
 */
export function composeBytes(text: unknown, base: 1000 | 1024): number | null {
  if (typeof text === 'number') return Number.isInteger(text) && text >= 0 ? text : null
  if (typeof text !== 'string') return null
  const match = SIZE.exec(text.trim())
  if (!match) return null
  const bytes = Number(match[1]) * base ** (POWER[(match[2] ?? '').toLowerCase()] ?? 0)
  return Number.isFinite(bytes) ? Math.round(bytes) : null
}

/** Bytes in Shoal's memory spelling: the largest unit of the same base that divides it (`512Mi`, `10M`), else the count. */
export function shoalBytes(bytes: number, base: 1000 | 1024): string | number {
  const units = base === 1024 ? ['Ti', 'Gi', 'Mi', 'Ki'] : ['T', 'G', 'M', 'k']
  for (const [index, unit] of units.entries()) {
    const size = base ** (units.length - index)
    if (bytes >= size && bytes % size === 0) return `${bytes / size}${unit}`
  }
  return bytes
}

import { z } from 'zod'

const MEMORY_UNITS: Readonly<Record<string, number>> = {
  '': 1,
  k: 1e3,
  K: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  Ki: 1024,
  Mi: 1024 ** 2,
  Gi: 1024 ** 3,
  Ti: 1024 ** 4,
}
const MEMORY_PATTERN = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|K|M|G|T)?$/
const CPU_PATTERN = /^(\d+(?:\.\d+)?)(m)?$/
const DURATION_PART = /(\d+)(ms|s|m|h|d)/g
const DURATION_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }

/** Memory as Kubernetes writes it ("128Mi", "1G") or a byte count; never negative. */
export const MemoryQuantity = z.union([
  z.number().int().nonnegative(),
  z.string().regex(MEMORY_PATTERN, 'must be a non-negative memory quantity such as 128Mi, 1Gi, 500M or a byte count'),
])
export type MemoryQuantity = z.infer<typeof MemoryQuantity>

/** CPU in cores (0.5) or millicores ("500m"); never negative. */
export const CpuQuantity = z.union([z.number().nonnegative(), z.string().regex(CPU_PATTERN, 'must be a non-negative CPU quantity such as 0.5, 2 or 500m')])
export type CpuQuantity = z.infer<typeof CpuQuantity>

export function memoryBytes(quantity: MemoryQuantity): number {
  if (typeof quantity === 'number') return quantity
  const match = MEMORY_PATTERN.exec(quantity)
  if (!match) throw new RangeError(`not a memory quantity: ${JSON.stringify(quantity)}`)
  return Math.round(Number(match[1]) * (MEMORY_UNITS[match[2] ?? ''] ?? 1))
}

export function cpuMillis(quantity: CpuQuantity): number {
  if (typeof quantity === 'number') return Math.round(quantity * 1000)
  const match = CPU_PATTERN.exec(quantity)
  if (!match) throw new RangeError(`not a CPU quantity: ${JSON.stringify(quantity)}`)
  const value = Number(match[1])
  return Math.round(match[2] === 'm' ? value : value * 1000)
}

/** Milliseconds in a duration string such as "1h30m"; the schema `Duration` guarantees the shape. */
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

import { z } from 'zod'

export { durationMs } from './duration.js'

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

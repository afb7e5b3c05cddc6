import type { Demand } from './demand.js'
import { compareText } from './order.js'

const SINGULAR_VERBS: Readonly<Record<string, string>> = { are: 'is', have: 'has', do: 'does', lack: 'lacks' }

/** "lack capability gpu" → "lacks capability gpu", "are offline" → "is offline". */
export function singular(reason: string): string {
  const space = reason.indexOf(' ')
  const verb = space === -1 ? reason : reason.slice(0, space)
  const rest = space === -1 ? '' : reason.slice(space)
  return (SINGULAR_VERBS[verb] ?? `${verb}s`) + rest
}

/** A count with the reason agreeing with it: "1 is offline", "3 lack capability gpu". */
export function counted(count: number, reason: string): string {
  return `${count} ${count === 1 ? singular(reason) : reason}`
}

/** Counts per reason, most common first, then by reason, as a record in that order. */
export function tally(reasons: readonly string[]): Record<string, number> {
  const counts = new Map<string, number>()
  for (const reason of reasons) counts.set(reason, (counts.get(reason) ?? 0) + 1)
  const entries = [...counts].sort(([a, x], [b, y]) => y - x || compareText(a, b))
  return Object.fromEntries(entries)
}

export interface OutcomeFigures {
  readonly mode: Demand['mode']
  readonly desired: number
  readonly placed: number
  readonly pending: number
  readonly waiting: number
  readonly matching: number
  readonly nodes: number
  readonly filtered: Readonly<Record<string, number>>
}

/**
 * One line an operator can read: what is placed, what is pending, and why nodes were left out.
 *   "3/3 replicas placed; 5/5 nodes match"
 *   "1/3 replicas placed, 2 pending (at most one per node); 1/5 nodes match: 3 lack capability gpu, 1 is offline"
 *   "4 copies placed (1 on an offline node), 1 pending; 4/6 nodes match: 1 has insufficient memory, 1 is offline"
 */
export function describeOutcome(figures: OutcomeFigures): string {
  const { mode, desired, placed, pending, waiting, matching, nodes, filtered } = figures
  let head = mode === 'every-node' ? `${placed} ${placed === 1 ? 'copy' : 'copies'} placed` : `${placed}/${desired} replicas placed`
  if (waiting > 0) head += ` (${waiting} on ${waiting === 1 ? 'an offline node' : 'offline nodes'})`
  if (pending > 0) head += `, ${pending} pending`
  if (pending > 0 && mode === 'replicated' && matching > 0) head += ' (at most one per node)'
  const reasons = Object.entries(filtered).map(([reason, count]) => counted(count, reason))
  const tail = `${matching}/${nodes} nodes match${reasons.length > 0 ? `: ${reasons.join(', ')}` : ''}`
  return `${head}; ${tail}`
}

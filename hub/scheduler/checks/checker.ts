import type { Demand } from '../demand.js'
import type { Amounts, CheckName, Rejection, SchedulerNode } from '../types.js'

/**
 * How a rule treats copies that are already placed:
 * - `eligibility`: the node must go on meeting it, or its copies are removed (labels, arch, …);
 * - `admission`: gates new copies only; existing ones stay (cordoned, offline);
 * - `capacity`: gates new copies, and kept copies are re-counted against it.
 */
export type CheckKind = 'eligibility' | 'admission' | 'capacity'

/** One feasibility rule: null when the node passes, otherwise why it does not. */
export interface Checker {
  readonly name: CheckName
  readonly kind: CheckKind
  /** `used` is what other placements already take on this node. */
  check(node: SchedulerNode, demand: Demand, used: Amounts): Rejection | null
}

/** "capability gpu" or "capabilities gpu, cuda". */
export function listed(singular: string, plural: string, items: readonly string[]): string {
  return `${items.length === 1 ? singular : plural} ${items.join(', ')}`
}

import type { Demand } from './demand.js'
import { compareText } from './order.js'
import type { Move, Placement, Rejection, Removal, SchedulerNode } from './types.js'
import type { UsageLedger } from './usage.js'

/** What one scheduling pass shares across deployments. */
export interface PassContext {
  /** Sorted by id. */
  readonly nodes: readonly SchedulerNode[]
  readonly nodeById: ReadonlyMap<string, SchedulerNode>
  readonly ledger: UsageLedger
  readonly now: number
}

/** One deployment's state during a pass: what it keeps, adds, removes and moves. */
export interface Work {
  readonly demand: Demand
  /** The first eligibility check each node fails, or null; these never change within a pass. */
  readonly eligibility: ReadonlyMap<string, Rejection | null>
  /** Copies in the result on online nodes or on nodes offline within grace (and every every-node copy). */
  copies: Placement[]
  /** Replicated copies on nodes offline past grace, longest offline first: in the result until replaced. */
  stranded: Placement[]
  readonly added: Placement[]
  readonly removed: Removal[]
  readonly moved: Move[]
}

export function nodeOf(context: PassContext, placement: Placement): SchedulerNode {
  const found = context.nodeById.get(placement.nodeId)
  if (found === undefined) throw new Error(`placement on unknown node ${placement.nodeId} reached the scheduler pass`)
  return found
}

export function copyOf(work: Work, nodeId: string, replica: number): Placement {
  return { deployment: work.demand.name, nodeId, workload: work.demand.name, replica }
}

/** Longest offline first (an unknown start first of all), then by node id. */
export function staleness(context: PassContext): (a: Placement, b: Placement) => number {
  const since = (placement: Placement): number => nodeOf(context, placement).offlineSince ?? Number.NEGATIVE_INFINITY
  return (a, b) => {
    const x = since(a)
    const y = since(b)
    if (x !== y) return x < y ? -1 : 1
    return compareText(a.nodeId, b.nodeId)
  }
}

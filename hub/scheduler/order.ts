import type { Placement, SchedulerNode } from './types.js'

/** Code-unit order, independent of the locale, so every machine sorts alike. */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

export function byNodeId(a: SchedulerNode, b: SchedulerNode): number {
  return compareText(a.id, b.id)
}

/** The order of the result: deployment, node, then the rest so duplicates in the input sort alike too. */
export function byPlacement(a: Placement, b: Placement): number {
  return compareText(a.deployment, b.deployment) || compareText(a.nodeId, b.nodeId) || a.replica - b.replica || compareText(a.workload, b.workload)
}

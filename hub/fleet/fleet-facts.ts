import type { HubStore } from '../store/hub-store.js'
import type { WorkloadStatusRecord } from '../store/status-repository.js'

/** What a node's view needs besides the node; `fleetFacts` reads it for all nodes in two queries. */
export interface NodeFacts {
  readonly workloads: readonly WorkloadStatusRecord[]
  readonly latestGeneration: number
}

/** Every node's workload statuses and latest generation, read in two queries. */
export function fleetFacts(store: HubStore): (nodeId: string) => NodeFacts {
  const workloads = new Map<string, WorkloadStatusRecord[]>()
  for (const record of store.status.workloads()) {
    const list = workloads.get(record.nodeId)
    if (list) list.push(record)
    else workloads.set(record.nodeId, [record])
  }
  const heads = store.desired.heads()
  return (nodeId) => ({ workloads: workloads.get(nodeId) ?? [], latestGeneration: heads.get(nodeId)?.generation ?? 0 })
}

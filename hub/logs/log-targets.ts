import type { PlacementRecord } from '../store/deployment-repository.js'
import type { HubStore } from '../store/hub-store.js'
import { DeploymentNotFoundError, NodeNotFoundError } from '../store/not-found.js'

export interface LogTarget {
  readonly nodeId: string
  readonly workload: string
}

/**
 * Where a deployment's logs are: its placements, plus workloads nodes still report (a
 * replica being moved away still has a log). One entry per (node, workload), sorted.
 */
export function logTargets(
  placements: readonly Pick<PlacementRecord, 'nodeId' | 'workload'>[],
  reported: readonly { readonly nodeId: string; readonly name: string }[],
  node: string | null,
): LogTarget[] {
  const all = new Map<string, LogTarget>()
  for (const p of placements) all.set(`${p.nodeId}/${p.workload}`, { nodeId: p.nodeId, workload: p.workload })
  for (const r of reported) all.set(`${r.nodeId}/${r.name}`, { nodeId: r.nodeId, workload: r.name })
  return [...all.values()]
    .filter((t) => node === null || t.nodeId === node)
    .sort((a, b) => (a.nodeId === b.nodeId ? a.workload.localeCompare(b.workload) : a.nodeId.localeCompare(b.nodeId)))
}

/** The deployment has no copy to read logs from (on that node, or anywhere yet). */
export class WorkloadNotPlacedError extends Error {
  constructor(
    readonly deployment: string,
    readonly nodeId: string | null,
  ) {
    super(
      nodeId === null
        ? `deployment ${deployment} runs on no node yet; see shoal describe deployment ${deployment} for why`
        : `a workload of deployment ${deployment} on node ${nodeId} not found`,
    )
    this.name = 'WorkloadNotPlacedError'
  }
}

/** Where to read a deployment's logs (optionally on one node), or why nowhere. */
export function resolveLogTargets(store: HubStore, deployment: string, nodeId: string | null): LogTarget[] {
  if (!store.deployments.get(deployment)) throw new DeploymentNotFoundError(deployment)
  if (nodeId !== null && !store.nodes.exists(nodeId)) throw new NodeNotFoundError(nodeId)
  const placements = store.deployments.placements().filter((p) => p.deployment === deployment)
  const targets = logTargets(placements, store.status.workloads({ deployment }), nodeId)
  if (targets.length === 0) throw new WorkloadNotPlacedError(deployment, nodeId)
  return targets
}

// Which copies a terminal can open in, from what the deployment and node pages already fetched.
import type { DeploymentDetail, NodeDetail, NodeView, WorkloadStatusView } from '../api/types'
import type { TerminalChoice } from './terminal-panel'

/** The running (not init) containers of a several-container copy, or none for a one-container copy. */
function containersOf(status: WorkloadStatusView | null | undefined): string[] {
  return (status?.containers ?? []).filter((c) => !c.init).map((c) => c.name)
}

/** One choice per copy (per container of a several-container copy), named by its node. */
export function deploymentChoices(deployment: DeploymentDetail, nodes: ReadonlyMap<string, NodeView>): TerminalChoice[] {
  return deployment.placements.flatMap((p) => {
    const offline = nodes.get(p.nodeId)?.online === false ? ' (offline)' : ''
    const copy = deployment.mode === 'every-node' ? p.nodeId : `${p.nodeId} · replica ${p.replica}`
    const containers = containersOf(p.status)
    if (containers.length === 0) return [{ key: `${p.nodeId}/${p.workload}`, label: `${copy}${offline}`, deployment: deployment.name, node: p.nodeId }]
    return containers.map((container) => ({
      key: `${p.nodeId}/${p.workload}/${container}`,
      label: `${copy} · ${container}${offline}`,
      deployment: deployment.name,
      node: p.nodeId,
      container,
    }))
  })
}

/** One choice per workload placed on the node (per container of a several-container one). */
export function nodeChoices(node: NodeDetail): TerminalChoice[] {
  const status = new Map(node.workloadStatus.map((w) => [w.name, w]))
  return [...node.placements]
    .sort((a, b) => a.workload.localeCompare(b.workload))
    .flatMap((p) => {
      const containers = containersOf(status.get(p.workload))
      if (containers.length === 0) return [{ key: p.workload, label: p.workload, deployment: p.deployment, node: node.id }]
      return containers.map((container) => ({
        key: `${p.workload}/${container}`,
        label: `${p.workload} · ${container}`,
        deployment: p.deployment,
        node: node.id,
        container,
      }))
    })
}

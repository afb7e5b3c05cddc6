import { createHash } from 'node:crypto'
import { API_VERSION, canonicalJson, nextGeneration, type UnsignedDesiredDocument, type Workload } from '../../protocol/index.js'
import type { DeploymentRecord, PlacementRecord } from '../store/deployment-repository.js'

/** Per node, the workloads its placements call for, sorted by name so equal content hashes equal. */
export function workloadsByNode(placements: readonly Omit<PlacementRecord, 'createdAt'>[], deployments: readonly DeploymentRecord[]): Map<string, Workload[]> {
  const byName = new Map(deployments.map((d) => [d.name, d]))
  const result = new Map<string, Workload[]>()
  for (const placement of placements) {
    const deployment = byName.get(placement.deployment)
    if (!deployment) continue
    const list = result.get(placement.nodeId) ?? []
    list.push({ name: placement.workload, deployment: deployment.name, revision: deployment.revision, template: deployment.manifest.spec.template })
    result.set(placement.nodeId, list)
  }
  for (const list of result.values()) list.sort((a, b) => a.name.localeCompare(b.name))
  return result
}

export function contentHash(workloads: readonly Workload[]): string {
  return createHash('sha256').update(canonicalJson(workloads)).digest('hex')
}

/**
 * The next document for a node, or null when its content is unchanged: the generation moves
 * only when what the node must run moves, so agents are not woken for nothing.
 */
export function nextDocument(
  nodeId: string,
  workloads: readonly Workload[],
  current: { generation: number; contentHash: string } | null,
  issuedAt: string,
): { document: UnsignedDesiredDocument; contentHash: string } | null {
  const hash = contentHash(workloads)
  if (current && current.contentHash === hash) return null
  return {
    document: { apiVersion: API_VERSION, kind: 'NodeDesiredState', nodeId, generation: nextGeneration(current?.generation), issuedAt, workloads: [...workloads] },
    contentHash: hash,
  }
}

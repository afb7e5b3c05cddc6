import { createHash } from 'node:crypto'
import {
  API_VERSION,
  MAX_REVERT_WINDOW_SECONDS,
  canonicalJson,
  durationMs,
  nextGeneration,
  type ContainerTemplate,
  type UnsignedDesiredDocument,
  type Workload,
} from '../../protocol/index.js'
import type { RolloutRecord } from '../rollout/rollout-types.js'
import type { DeploymentRecord } from '../store/deployment-repository.js'

export interface RevisionPlacement {
  readonly nodeId: string
  readonly workload: string
  readonly deployment: string
  readonly revision: number
}

/** A stored revision's template; null when it is gone. */
export type TemplateLookup = (deployment: string, revision: number) => ContainerTemplate | null

/**
 * The workload one copy runs: its assigned revision's template and, while a rollout moves it
 * off a stable revision, that revision as the fallback its agent may put back by itself.
 */
export function workloadFor(
  placement: RevisionPlacement,
  deployment: DeploymentRecord,
  rollout: RolloutRecord | null,
  templateOf: TemplateLookup,
): Workload | null {
  const template = placement.revision === deployment.revision ? deployment.manifest.spec.template : templateOf(deployment.name, placement.revision)
  if (template === null) return null
  const workload: Workload = { name: placement.workload, deployment: deployment.name, revision: placement.revision, template }
  const stable = rollout?.stableRevision ?? null
  if (rollout === null || rollout.phase !== 'progressing' || stable === null || stable === placement.revision || placement.revision !== rollout.revision)
    return workload
  const fallback = templateOf(deployment.name, stable)
  if (fallback === null) return workload
  const revertWindowSeconds = Math.min(MAX_REVERT_WINDOW_SECONDS, Math.max(1, Math.round(durationMs(deployment.manifest.spec.strategy.revertWindow) / 1000)))
  return { ...workload, fallback: { revision: stable, template: fallback, revertWindowSeconds } }
}

/** Per node, the workloads its placements call for, sorted by name so equal content hashes equal. */
export function workloadsByNode<P extends RevisionPlacement>(placements: readonly P[], build: (placement: P) => Workload | null): Map<string, Workload[]> {
  const result = new Map<string, Workload[]>()
  for (const placement of placements) {
    const workload = build(placement)
    if (!workload) continue
    const list = result.get(placement.nodeId) ?? []
    list.push(workload)
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
    document: {
      apiVersion: API_VERSION,
      kind: 'NodeDesiredState',
      nodeId,
      generation: nextGeneration(current?.generation),
      issuedAt,
      workloads: [...workloads],
    },
    contentHash: hash,
  }
}

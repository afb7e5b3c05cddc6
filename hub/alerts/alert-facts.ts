import { condition } from '../rollout/rollout-conditions.js'
import type { DeploymentOutcome } from '../scheduler/types.js'
import { desiredCopies, readyCopies } from '../deployments/copy-counts.js'
import type { HubStore } from '../store/hub-store.js'
import type { PlacementRecord } from '../store/deployment-repository.js'
import type { WorkloadStatusRecord } from '../store/status-repository.js'
import type { AlertFacts } from './alert-rules.js'

/** Pauses someone must end; a timed canary pause ends by itself. */
const HUMAN_PAUSES = new Set(['Paused', 'AwaitingPromotion'])

function grouped<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>()
  for (const item of items) {
    const list = groups.get(key(item))
    if (list) list.push(item)
    else groups.set(key(item), [item])
  }
  return groups
}

/**
 * What the alert rules read, from the store in a handful of queries (nodes, placements,
 * statuses, rollouts read once each); `outcome` is the scheduler's latest figure per deployment.
 */
export function gatherAlertFacts(store: HubStore, outcome: (deployment: string) => DeploymentOutcome | null): AlertFacts {
  const statuses = store.status.workloads()
  const placements = grouped<PlacementRecord>(store.deployments.placements(), (p) => p.deployment)
  const statusesOf = grouped<WorkloadStatusRecord>(statuses, (s) => s.deployment)
  return {
    nodes: store.nodes.list().map((node) => ({
      id: node.id,
      online: node.online,
      offlineSince: node.offlineSince ? Date.parse(node.offlineSince) : null,
      enrolledAt: Date.parse(node.createdAt),
      memory: node.lastHeartbeat?.memory ?? null,
      disk: node.lastHeartbeat?.disk ?? null,
    })),
    deployments: store.deployments.list().map((deployment) => {
      const placed = placements.get(deployment.name) ?? []
      return {
        name: deployment.name,
        desired: desiredCopies(deployment, outcome(deployment.name), placed.length),
        ready: readyCopies(deployment, statusesOf.get(deployment.name) ?? [], placed, (p) => p.revision),
      }
    }),
    rollouts: [...store.rollouts.list().values()].map((record) => {
      const failed = condition(record.conditions, 'RolloutFailed')
      const paused = condition(record.conditions, 'RolloutPaused')
      return {
        deployment: record.deployment,
        revision: record.revision,
        failed: failed?.status === 'True' ? { message: `${failed.reason}: ${failed.message}`, since: Date.parse(failed.lastTransitionTime) } : null,
        paused: paused?.status === 'True' && HUMAN_PAUSES.has(paused.reason) ? { message: paused.message, since: Date.parse(paused.lastTransitionTime) } : null,
      }
    }),
    crashLoops: statuses
      .filter((s) => s.state === 'crash-loop')
      .map((s) => ({ nodeId: s.nodeId, workload: s.name, deployment: s.deployment, since: Date.parse(s.hubSince) })),
  }
}

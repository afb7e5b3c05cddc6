import { desiredReplicas, type DeploymentSpec, type RolloutStrategy, type WorkloadStatus } from '../../protocol/index.js'
import type { Placement } from '../scheduler/types.js'
import { planRollout, surgeFor } from './plan-rollout.js'
import type { ObservedCopy, RolloutPlan, RolloutRecord } from './rollout-types.js'

export interface RolloutDeploymentInput {
  readonly name: string
  readonly revision: number
  readonly strategy: RolloutStrategy
  /** Replicas asked for (null for every-node): copies with a higher ordinal are surge copies. */
  readonly replicas: number | null
}

/** A placed copy with the revision the planner gave it. */
export interface AssignedPlacement extends Placement {
  readonly revision: number
  readonly readySince: number | null
}

export interface FleetRolloutInput {
  readonly deployments: readonly RolloutDeploymentInput[]
  /** The scheduler's answer for this pass: which copies exist and where. */
  readonly scheduled: readonly Placement[]
  /** What the store says each copy (by `nodeId/workload`) was assigned before this pass. */
  readonly assigned: ReadonlyMap<string, { readonly revision: number | null; readonly readySince: number | null }>
  readonly nodes: ReadonlyMap<string, { readonly labels: Readonly<Record<string, string>>; readonly online: boolean }>
  /** The agents' latest reports, by `nodeId/workload`. */
  readonly statuses: ReadonlyMap<string, Pick<WorkloadStatus, 'deployment' | 'revision' | 'state' | 'health' | 'exitCode' | 'message' | 'revert' | 'prefetch'>>
  readonly records: ReadonlyMap<string, RolloutRecord>
  readonly now: number
}

export interface FleetRolloutResult {
  readonly placements: readonly AssignedPlacement[]
  readonly plans: ReadonlyMap<string, RolloutPlan>
  /** The earliest time a pass is due without any report arriving. */
  readonly wakeAt: number | null
}

export const copyKey = (nodeId: string, workload: string): string => `${nodeId}/${workload}`

/**
 * Every deployment's rollout step for one pass of the fleet controller, with no I/O: the
 * scheduler decides where copies are, this decides which revision each of them runs.
 */
export function planFleetRollouts(input: FleetRolloutInput): FleetRolloutResult {
  const byDeployment = new Map<string, Placement[]>()
  for (const placement of input.scheduled) {
    const list = byDeployment.get(placement.deployment) ?? []
    list.push(placement)
    byDeployment.set(placement.deployment, list)
  }
  const placements: AssignedPlacement[] = []
  const plans = new Map<string, RolloutPlan>()
  let wakeAt: number | null = null
  for (const deployment of input.deployments) {
    const own = byDeployment.get(deployment.name) ?? []
    const copies = own.map((p) => {
      const key = copyKey(p.nodeId, p.workload)
      const node = input.nodes.get(p.nodeId)
      const stored = input.assigned.get(key)
      const status = input.statuses.get(key)
      return {
        key,
        nodeId: p.nodeId,
        nodeLabels: node?.labels ?? {},
        online: node?.online ?? false,
        assigned: stored?.revision ?? null,
        readySince: stored?.readySince ?? null,
        observed: status && status.deployment === deployment.name ? observedCopy(status) : null,
        surge: deployment.replicas !== null && p.replica >= deployment.replicas,
      }
    })
    const plan = planRollout({
      deployment: { name: deployment.name, revision: deployment.revision, strategy: deployment.strategy },
      record: input.records.get(deployment.name) ?? null,
      copies,
      now: input.now,
    })
    plans.set(deployment.name, plan)
    const byKey = new Map(plan.copies.map((c) => [c.key, c]))
    for (const p of own) {
      const decided = byKey.get(copyKey(p.nodeId, p.workload))
      if (decided) placements.push({ ...p, revision: decided.revision, readySince: decided.readySince })
    }
    if (plan.wakeAt !== null && (wakeAt === null || plan.wakeAt < wakeAt)) wakeAt = plan.wakeAt
  }
  return { placements, plans, wakeAt }
}

function observedCopy(status: Pick<WorkloadStatus, 'revision' | 'state' | 'health' | 'ready' | 'exitCode' | 'message' | 'revert' | 'prefetch'>): ObservedCopy {
  return {
    revision: status.revision,
    state: status.state,
    health: status.health,
    ready: status.ready ?? null,
    exitCode: status.exitCode ?? null,
    message: status.message ?? null,
    revertedFrom: status.revert?.fromRevision ?? null,
    prefetch: status.prefetch ?? null,
  }
}

/**
 * The replicas to schedule for a replicated deployment: its own, plus maxSurge extra while a
 * rollout away from a previous revision runs (or is about to start). Extra copies get the next
 * ordinals, so the planner knows them as surge copies; once the rollout is complete the
 * scheduler drops back to the deployment's replicas.
 */
export function scheduledReplicas(spec: DeploymentSpec, revision: number, record: RolloutRecord | null): number | null {
  if (spec.mode === 'every-node') return null
  const replicas = desiredReplicas(spec)
  const surge = surgeFor(spec.strategy, replicas)
  if (surge === 0 || replicas === 0 || record === null) return replicas
  const rolling = record.revision !== revision || (record.phase === 'progressing' && record.stableRevision !== null)
  return rolling ? replicas + surge : replicas
}

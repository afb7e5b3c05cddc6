import { type CronJob, type DeploymentSpec, type DesiredCronJob, MAX_NODE_CRON_JOBS, nodeCronJobSpec, RolloutStrategy } from '../../protocol/index.js'
import { ELIGIBILITY, firstRejection } from '../scheduler/checks/chain.js'
import { devicesCheck } from '../scheduler/checks/node-policy.js'
import { type Demand, demandOf } from '../scheduler/demand.js'
import type { Rejection, SchedulerNode } from '../scheduler/types.js'

/**
 * The scheduler's checks a cron job's nodes must pass: what the node is (labels, arch,
 * capabilities, profile, its policy for the template) and the devices it has. Not its state or
 * room: like a Kubernetes DaemonSet's pods, a node's cron jobs stay through cordon and drain
 * (those move replicated work; a nightly export on every store is the store's own), and an
 * offline node keeps firing them from its stored document, which is the point. A run takes room
 * only while it runs, so resources are not reserved for it either.
 */
const CRON_CHECKS = [...ELIGIBILITY, devicesCheck]

/** An every-node deployment's view of the cron job's placement and template, for the checks. */
const PLACEMENT_ONLY: Omit<DeploymentSpec, 'selector' | 'requires' | 'template'> = {
  mode: 'every-node',
  offlineGrace: '5m',
  strategy: RolloutStrategy.parse({}),
  revisionHistoryLimit: 1,
}

export function cronDemand(job: CronJob): Demand {
  const { selector, requires, jobTemplate } = job.spec
  return demandOf({
    name: job.metadata.name,
    revision: 1,
    spec: { ...PLACEMENT_ONLY, ...(selector ? { selector } : {}), ...(requires ? { requires } : {}), template: jobTemplate.template },
  })
}

/** Why the node does not run the cron job's schedule, or null when it does. */
export function cronRejection(demand: Demand, node: SchedulerNode): Rejection | null {
  return firstRejection(CRON_CHECKS, node, demand, { cpuMillis: 0, memoryBytes: 0, gpus: 0 })
}

export interface CronPlacement {
  /** Per node, the cron jobs its document carries, by name; nodes with none are absent. */
  readonly byNode: ReadonlyMap<string, readonly DesiredCronJob[]>
  /** Per cron job, the nodes that run it. */
  readonly nodesOf: ReadonlyMap<string, readonly string[]>
  /** Matches beyond a node's MAX_NODE_CRON_JOBS, left out (the last by name). */
  readonly leftOut: readonly { readonly nodeId: string; readonly cronJob: string }[]
}

/**
 * Which nodes run which cron jobs: every node that passes the checks runs the schedule by itself
 * (there are no replicas). A node gets at most MAX_NODE_CRON_JOBS, the first by name. Pure.
 */
export function placeCronJobs(jobs: readonly CronJob[], nodes: readonly SchedulerNode[]): CronPlacement {
  const sorted = [...jobs].sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0))
  const byNode = new Map<string, DesiredCronJob[]>()
  const nodesOf = new Map<string, string[]>()
  const leftOut: { nodeId: string; cronJob: string }[] = []
  for (const job of sorted) {
    const demand = cronDemand(job)
    const entry: DesiredCronJob = { name: job.metadata.name, spec: nodeCronJobSpec(job.spec) }
    const placed: string[] = []
    for (const node of nodes) {
      if (cronRejection(demand, node) !== null) continue
      const list = byNode.get(node.id) ?? []
      if (list.length >= MAX_NODE_CRON_JOBS) {
        leftOut.push({ nodeId: node.id, cronJob: job.metadata.name })
        continue
      }
      list.push(entry)
      byNode.set(node.id, list)
      placed.push(node.id)
    }
    nodesOf.set(job.metadata.name, placed)
  }
  return { byNode, nodesOf, leftOut }
}

import type { DeploymentSpec } from '../../protocol/manifest.js'
import type { NodePolicy } from '../../protocol/node-policy.js'

/** Amounts of the resources the scheduler counts. CPU in millicores, memory in bytes. */
export interface Amounts {
  readonly cpuMillis: number
  readonly memoryBytes: number
  readonly gpus: number
}

/** A node as the scheduler sees it: what it is, what it has, and whether it can take work. */
export interface SchedulerNode {
  readonly id: string
  readonly labels: Readonly<Record<string, string>>
  readonly capabilities: readonly string[]
  readonly arch: string
  readonly profile: string
  readonly capacity: Amounts
  /** Held back by the node's firmware profile for the OS and the agent. */
  readonly reserved: { readonly cpuMillis: number; readonly memoryBytes: number }
  readonly cordoned: boolean
  readonly online: boolean
  /** Milliseconds since the epoch when the node went offline; null while online or when unknown. */
  readonly offlineSince: number | null
  /** Device paths the node last reported present (those its policy's patterns match); empty when it never reported any. */
  readonly devices: readonly string[]
  /** What the node lets its containers have; DEFAULT_NODE_POLICY for a node that never reported one. */
  readonly policy: NodePolicy
}

export interface SchedulerDeployment {
  readonly name: string
  readonly revision: number
  readonly spec: DeploymentSpec
}

/** One copy of a deployment on one node. */
export interface Placement {
  readonly deployment: string
  readonly nodeId: string
  /** Unique on the node. A node holds at most one copy of a deployment, so this is the deployment name. */
  readonly workload: string
  /** Ordinal of a replicated copy (0, 1, …), stable across moves; always 0 for every-node copies. */
  readonly replica: number
}

export type CheckName = 'selector' | 'arch' | 'capabilities' | 'profile' | 'data-affinity' | 'policy' | 'devices' | 'cordoned' | 'ready' | 'resources'

/**
 * Why one check turned a node down. `reason` is written for several nodes
 * ("lack capability gpu", "are offline") so it reads after a count; `singular()` in
 * explain.ts turns it into "lacks capability gpu" for one.
 */
export interface Rejection {
  readonly check: CheckName
  readonly reason: string
}

/** A replicated copy taken off a node offline past grace and started on another. */
export interface Move {
  readonly replica: number
  readonly from: string
  readonly to: string
}

export interface Removal {
  readonly placement: Placement
  readonly reason: string
}

export interface DeploymentOutcome {
  /** Replicas asked for; for every-node, the nodes that hold a copy or would take one but lack room. */
  readonly desired: number
  /** Copies in the result, including those on offline nodes. */
  readonly placed: number
  /** Copies that have no node yet. */
  readonly pending: number
  /** Copies in the result whose node is offline (within grace, stranded, or an every-node copy). */
  readonly waiting: number
  /** Nodes where a new copy could be placed now, counting a node's own copy as absent. */
  readonly matching: number
  readonly nodes: number
  /** "1/3 replicas placed, 2 pending; 1/5 nodes match: 3 lack capability gpu, 1 is offline" */
  readonly explanation: string
  /** Nodes that do not match, by the first check each one failed, most common first. */
  readonly filtered: Readonly<Record<string, number>>
  readonly added: readonly Placement[]
  readonly removed: readonly Removal[]
  readonly moved: readonly Move[]
}

export interface ScheduleResult {
  /** Sorted by deployment, then node id. */
  readonly placements: readonly Placement[]
  /** One entry per deployment, in name order. */
  readonly perDeployment: ReadonlyMap<string, DeploymentOutcome>
  /** Every current placement that is not in the result, including those of deleted deployments. */
  readonly removed: readonly Removal[]
}

export type SchedulerInputErrorCode = 'duplicate-node' | 'duplicate-deployment'

/** The caller handed the scheduler two nodes or two deployments with one name. */
export class SchedulerInputError extends Error {
  constructor(
    readonly code: SchedulerInputErrorCode,
    readonly id: string,
  ) {
    super(`${code === 'duplicate-node' ? 'node' : 'deployment'} ${JSON.stringify(id)} appears twice in the scheduler input; pass each once`)
    this.name = 'SchedulerInputError'
  }
}

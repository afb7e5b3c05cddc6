import type { HealthState, PrefetchState, PrefetchStatus, RolloutStrategy, WorkloadState } from '../../protocol/index.js'

/** What the agent last reported for one copy. */
export interface ObservedCopy {
  readonly revision: number
  readonly state: WorkloadState
  readonly health: HealthState
  /** The agent's readiness verdict; null from agents that predate it. */
  readonly ready: boolean | null
  readonly exitCode: number | null
  readonly message: string | null
  /** The agent put its fallback back on its own (it could not reach the hub), away from this revision. */
  readonly revertedFrom: number | null
  /** How the pull-ahead of the revision this copy moves to next stands (strategy.prefetch); null when not reported. */
  readonly prefetch: PrefetchStatus | null
}

/** One placed copy of the deployment, as the rollout planner sees it. */
export interface RolloutCopy {
  /** `nodeId/workload`: unique across the fleet. */
  readonly key: string
  readonly nodeId: string
  readonly nodeLabels: Readonly<Record<string, string>>
  readonly online: boolean
  /** The revision the hub last told this copy to run; null for a copy the scheduler just placed. */
  readonly assigned: number | null
  /** Hub time (ms) since which the copy has been seen ready at its assigned revision; null if not. */
  readonly readySince: number | null
  readonly observed: ObservedCopy | null
  /** A copy beyond the deployment's replicas, placed for maxSurge while the rollout runs. */
  readonly surge?: boolean
}

export type RolloutPhase = 'progressing' | 'complete' | 'failed'

export interface CopyFailure {
  readonly nodeId: string
  readonly reason: string
}

export interface RolloutFailure {
  /** `HealthGateFailed` or `ProgressDeadlineExceeded`. */
  readonly reason: string
  readonly message: string
  readonly nodes: readonly CopyFailure[]
  /** Every updated copy was sent back to `stableRevision`. */
  readonly rolledBack: boolean
}

export type ConditionType = 'Progressing' | 'Available' | 'RolloutPaused' | 'RolloutFailed'

export interface RolloutCondition {
  readonly type: ConditionType
  readonly status: 'True' | 'False'
  readonly reason: string
  readonly message: string
  readonly observedRevision: number
  /** ISO time the status last changed. */
  readonly lastTransitionTime: string
}

/** A deployment's rollout as stored: everything the planner needs to resume after a hub restart. */
export interface RolloutRecord {
  readonly deployment: string
  /** The revision being rolled out (the deployment's current one). */
  readonly revision: number
  /** The last revision that was fully available; null before the first rollout completed. */
  readonly stableRevision: number | null
  readonly phase: RolloutPhase
  /** Paused by the operator: no copy starts moving until resumed. */
  readonly paused: boolean
  /** Canary: index of the step being worked on; equal to the number of steps once past the last. */
  readonly step: number
  /** Canary: when the current step's copies were all updated (its pause started); null before. */
  readonly stepDoneAt: number | null
  /** Canary: the operator promoted past the current step's pause. */
  readonly promoted: boolean
  readonly startedAt: number
  /** Last time a copy became updated or a wave started; the progress deadline counts from here. */
  readonly lastProgressAt: number
  /** The most copies seen updated at once in this rollout: progress is a new high. */
  readonly updated: number
  readonly failure: RolloutFailure | null
  readonly conditions: readonly RolloutCondition[]
}

/** Where one copy stands against the revision being rolled out. */
export type GateState =
  /** Still told to run another revision. */
  | 'old'
  /** Told to run the new revision; not updated yet (starting, pulling, minReadySeconds running). */
  | 'progressing'
  /** Runs the new revision, passed its health check and stayed ready for minReadySeconds. */
  | 'updated'
  /** Runs the new revision and fails: crash loop, unhealthy, image not pulled, exited, reverted locally. */
  | 'failed'
  /** Its node is offline: nothing can be known or proven. */
  | 'offline'

export interface CopyPlan {
  readonly key: string
  readonly nodeId: string
  /** The revision this copy must run after this step. */
  readonly revision: number
  readonly readySince: number | null
  readonly gate: GateState
  /** Why the copy is where it is: "waiting for site=b", "crash-loop: exit code 1". */
  readonly reason: string | null
  /** Canary step or partition value the copy belongs to, for the console's waves. */
  readonly wave: string | null
  /** strategy.prefetch: the node's pull-ahead of the target revision for a copy not moved yet; null otherwise. */
  readonly prefetch: PrefetchState | null
}

export interface RolloutEvent {
  readonly type: string
  readonly severity: 'info' | 'warning' | 'error'
  readonly message: string
  readonly data?: Readonly<Record<string, string | number | boolean | null>>
}

export interface RolloutDeployment {
  readonly name: string
  readonly revision: number
  readonly strategy: RolloutStrategy
}

export interface RolloutInput {
  readonly deployment: RolloutDeployment
  readonly record: RolloutRecord | null
  readonly copies: readonly RolloutCopy[]
  readonly now: number
}

export interface RolloutPlan {
  readonly record: RolloutRecord
  readonly copies: readonly CopyPlan[]
  readonly events: readonly RolloutEvent[]
  /** The earliest time something may change without a report (minReadySeconds, a pause, the deadline). */
  readonly wakeAt: number | null
  /** A canary step whose copies are all updated and whose pause holds the rollout. */
  readonly hold: StepHold
}

export type StepHold = { readonly kind: 'manual'; readonly step: number } | { readonly kind: 'timed'; readonly step: number; readonly until: number } | null

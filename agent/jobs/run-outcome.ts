import type { WorkloadState } from '../../protocol/index.js'

/** What the reconciler last recorded for one container of a run (agent/store: workload_state). */
export interface RunMemberState {
  readonly state: WorkloadState
  readonly exitCode: number | null
}

export type RunOutcome =
  | { readonly finished: false }
  | {
      readonly finished: true
      readonly outcome: 'succeeded' | 'failed'
      /** The first non-zero exit code of its containers, 0 when all exited 0; null when it was stopped. */
      readonly exitCode: number | null
      /** Why it failed, for the event: `NonZeroExit` or `DeadlineExceeded`; null on success. */
      readonly reason: 'NonZeroExit' | 'DeadlineExceeded' | null
    }

export interface RunProgress {
  /** The states recorded for the run's containers (one, or one per container of a several-container run). */
  readonly members: readonly RunMemberState[]
  /** How many containers the run has, init containers included: until each has a state, it has not finished. */
  readonly expectedMembers: number
  readonly startedAt: number
  /** The jobTemplate's activeDeadline in ms; null: none. */
  readonly activeDeadlineMs: number | null
}

/**
 * Whether a run has finished, and how: once every container has exited (its restartPolicy is
 * never, so `exited` is final), it succeeded if all exited 0. A run still going when its
 * activeDeadline has passed fails with DeadlineExceeded (the agent then stops it). Other states
 * (pending, pulling, failed to create) are left to the reconciler's retries and the deadline.
 * Pure.
 */
export function runOutcome(progress: RunProgress, now: number): RunOutcome {
  const { members } = progress
  const allExited = members.length >= progress.expectedMembers && members.length > 0 && members.every((m) => m.state === 'exited')
  if (allExited) {
    const failedCode = members.find((m) => m.exitCode !== 0)
    if (failedCode === undefined) return { finished: true, outcome: 'succeeded', exitCode: 0, reason: null }
    return { finished: true, outcome: 'failed', exitCode: failedCode.exitCode, reason: 'NonZeroExit' }
  }
  if (progress.activeDeadlineMs !== null && now - progress.startedAt >= progress.activeDeadlineMs) {
    return { finished: true, outcome: 'failed', exitCode: null, reason: 'DeadlineExceeded' }
  }
  return { finished: false }
}

/**
 * The recorded states of a run workload's containers: its own record for one container, or its
 * members' (`<workload>.<container>`, agent/reconcile/copy-members.ts) for several.
 */
export function runMembers(records: readonly ({ readonly name: string } & RunMemberState)[], workload: string): RunMemberState[] {
  return records.filter((r) => r.name === workload || r.name.startsWith(`${workload}.`)).map((r) => ({ state: r.state, exitCode: r.exitCode }))
}

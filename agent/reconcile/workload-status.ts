import type { HealthState, WorkloadState } from '../../protocol/index.js'
import type { ContainerWorkload, ObservedContainer } from '../runtime/runtime.js'
import { isCrashLooping, shouldRestart } from './crash-policy.js'

export interface DerivedState {
  readonly state: WorkloadState
  readonly health: HealthState
  readonly exitCode: number | null
  readonly message: string | null
}

/** What the agent knows beyond the engine: its last error and the crashes it saw. */
export interface WorkloadHistory {
  readonly lastError: string | null
  readonly recentCrashes: readonly number[]
  /** Exit code of the latest crash the agent saw (the engine resets it when it restarts the container). */
  readonly lastExitCode: number | null
  /** Set while the executor is pulling the workload's image. */
  readonly pulling?: boolean
  /** Why its image pull waits for the node's bandwidth rules, and until when (agent/bandwidth). */
  readonly pullDeferred?: string
}

/** The state to report for a workload, from its container (if any) and its history. Pure. */
export function deriveWorkloadState(
  workload: ContainerWorkload,
  container: ObservedContainer | undefined,
  history: WorkloadHistory,
  now: number,
): DerivedState {
  const looping = isCrashLooping(history.recentCrashes, now)
  if (container === undefined) {
    if (history.pulling) return { state: 'pulling', health: 'none', exitCode: null, message: `pulling ${workload.template.image}` }
    if (history.pullDeferred) return { state: 'pull-deferred', health: 'none', exitCode: null, message: history.pullDeferred }
    if (history.lastError) return { state: 'failed', health: 'none', exitCode: null, message: history.lastError }
    return { state: 'pending', health: 'none', exitCode: null, message: null }
  }
  const health = container.health
  const exitCode = container.state === 'exited' || container.state === 'dead' ? container.exitCode : history.lastExitCode
  switch (container.state) {
    case 'running':
      return looping
        ? { state: 'crash-loop', health, exitCode, message: crashMessage(history, exitCode) }
        : { state: 'running', health, exitCode: null, message: null }
    case 'restarting':
      return { state: looping ? 'crash-loop' : 'starting', health, exitCode, message: looping ? crashMessage(history, exitCode) : null }
    case 'created':
      return { state: history.lastError ? 'failed' : 'starting', health, exitCode: null, message: history.lastError }
    case 'paused':
      return { state: 'stopped', health, exitCode: null, message: 'container is paused' }
    case 'removing':
      return { state: 'stopped', health, exitCode, message: 'container is being removed' }
    case 'exited':
    case 'dead':
      if (!shouldRestart(workload.template.restartPolicy, exitCode)) {
        return {
          state: 'exited',
          health: 'none',
          exitCode,
          message: `exited with code ${exitCode ?? 'unknown'}; restart policy ${workload.template.restartPolicy}`,
        }
      }
      return looping
        ? { state: 'crash-loop', health: 'none', exitCode, message: crashMessage(history, exitCode) }
        : { state: container.state === 'dead' ? 'failed' : 'exited', health: 'none', exitCode, message: history.lastError }
    default: {
      const unreachable: never = container.state
      throw new Error(`unknown container state ${String(unreachable)}`)
    }
  }
}

function crashMessage(history: WorkloadHistory, exitCode: number | null): string {
  return `crashed ${history.recentCrashes.length} times in the last 5 minutes (last exit code ${exitCode ?? 'unknown'}); backing off`
}

/**
 * Whether a copy may take work: running, its liveness neither starting nor failing, and its
 * readiness check (if it has one, as the agent last ran it) passing. Pure.
 */
export function isReady(state: WorkloadState, health: HealthState, readiness: HealthState | null): boolean {
  return state === 'running' && health !== 'starting' && health !== 'unhealthy' && (readiness === null || readiness === 'healthy')
}

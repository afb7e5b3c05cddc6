import type { GateState, ObservedCopy, RolloutCopy } from './rollout-types.js'

/** Running the revision, not reported unhealthy or not ready, not reverted away from it. */
export function isReady(observed: ObservedCopy | null, revision: number): boolean {
  return (
    observed !== null &&
    observed.revision === revision &&
    observed.revertedFrom === null &&
    observed.state === 'running' &&
    observed.health !== 'unhealthy' &&
    observed.health !== 'starting' &&
    observed.ready !== false
  )
}

/** Why a copy fails the health gate for `revision`, or null if it does not (yet). */
export function gateFailure(observed: ObservedCopy | null, revision: number): string | null {
  if (observed === null) return null
  if (observed.revertedFrom === revision) return `reverted locally to revision ${observed.revision}`
  if (observed.revision !== revision) return null
  const detail = observed.message ? `: ${observed.message}` : ''
  if (observed.state === 'crash-loop') return `crash-loop${detail}`
  if (observed.state === 'failed') return `failed${detail}`
  if (observed.state === 'exited' && observed.exitCode !== 0) return `exited with code ${observed.exitCode ?? 'unknown'}`
  if (observed.health === 'unhealthy') return `health check failing${detail}`
  return null
}

export interface CopyGate {
  readonly gate: GateState
  readonly reason: string | null
  /** Hub time since which the copy is ready at `revision`; null while it is not. */
  readonly readySince: number | null
  /** Counts as up for maxUnavailable: ready, and at the new revision for minReadySeconds. */
  readonly available: boolean
}

/** Where a copy stands if it runs `revision`, measured against the rollout's `target`. Pure. */
export function evaluateCopy(copy: RolloutCopy, revision: number, target: number, minReadyMs: number, now: number): CopyGate {
  const ready = copy.online && isReady(copy.observed, revision)
  const readySince = ready ? (copy.assigned === revision && copy.readySince !== null ? copy.readySince : now) : null
  // minReadySeconds is the new revision's bar: a copy of an older one that runs is up, however
  // recently it became ready (a strategy that raises the bar must not make the fleet look down).
  const available = readySince !== null && (revision !== target || now - readySince >= minReadyMs)
  if (revision !== target) return { gate: 'old', reason: null, readySince, available }
  if (!copy.online) return { gate: 'offline', reason: 'node offline', readySince, available }
  const failure = gateFailure(copy.observed, target)
  if (failure !== null) return { gate: 'failed', reason: failure, readySince, available }
  if (available) return { gate: 'updated', reason: null, readySince, available }
  return { gate: 'progressing', reason: progressReason(copy, target, readySince, minReadyMs, now), readySince, available }
}

function progressReason(copy: RolloutCopy, target: number, readySince: number | null, minReadyMs: number, now: number): string {
  if (readySince !== null) return `ready; counts as updated in ${Math.ceil((readySince + minReadyMs - now) / 1000)}s (minReadySeconds)`
  const observed = copy.observed
  if (observed === null || observed.revision !== target) return `waiting for the node to run revision ${target}`
  if (observed.health === 'starting') return 'health check starting'
  if (observed.state === 'running' && observed.ready === false) return observed.message ?? 'not ready'
  return observed.message ?? observed.state
}

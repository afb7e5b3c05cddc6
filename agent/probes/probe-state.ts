import { durationMs, type HealthCheck } from '../../protocol/index.js'

/** Where one check of one container stands; `starting` until it first passes or fails for good. */
export interface ProbeState {
  readonly status: 'starting' | 'healthy' | 'unhealthy'
  /** Consecutive failures that counted (those in the start period do not). */
  readonly failures: number
  readonly lastError: string | null
}

export const FIRST_PROBE_STATE: ProbeState = { status: 'starting', failures: 0, lastError: null }

export type ProbeOutcome = { readonly ok: true } | { readonly ok: false; readonly error: string }

/**
 * The state after one probe, as Docker's HEALTHCHECK counts: a pass makes the check healthy at
 * once; `retries` failures in a row make it unhealthy; failures inside `startPeriod` (measured
 * from the container's start) do not count, so a slow starter is not condemned while it boots.
 * Pure.
 */
export function afterProbe(state: ProbeState, outcome: ProbeOutcome, check: Pick<HealthCheck, 'retries' | 'startPeriod'>, sinceStartMs: number): ProbeState {
  if (outcome.ok) return { status: 'healthy', failures: 0, lastError: null }
  if (sinceStartMs < durationMs(check.startPeriod)) return { ...state, lastError: outcome.error }
  const failures = state.failures + 1
  return { status: failures >= check.retries ? 'unhealthy' : state.status, failures, lastError: outcome.error }
}

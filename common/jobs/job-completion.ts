/**
 * Completion accounting for a Job: from its copies (each one container run), how many copies to
 * start now and whether the job is complete, failed or still running. Pure; the agent records a
 * terminal outcome as soon as it is decided, and the first one stands. Success is exit code 0.
 */
import { backoffLimitExceeded, retryAt } from './retry-backoff.js'

/** One container run of the job. Failed runs stay in the list: they count against backoffLimit. */
export type JobCopy =
  | { readonly id: string; readonly phase: 'pending' | 'running' }
  | { readonly id: string; readonly phase: 'exited'; readonly exitCode: number; readonly finishedAt: number }

export interface JobCounts {
  /** Successful copies needed. */
  readonly completions: number
  /** Copies active at once, at most. */
  readonly parallelism: number
  /** Failed copies allowed; one more fails the job. */
  readonly backoffLimit: number
  /** How long the job may run from its start; null: no limit. */
  readonly activeDeadlineMs: number | null
  /** The first retry delay (RETRY_BASE_MS unless set: a test knob, so tests need not wait 10 s). */
  readonly retryBaseMs?: number
}

export interface JobTally {
  readonly succeeded: number
  readonly failed: number
  readonly active: number
}

export type JobFailureReason = 'BackoffLimitExceeded' | 'DeadlineExceeded'

/**
 * - `running`: start `startNow` copies now; `startLater` more may start at `startAt` (after the
 *   retry delay of the last failure; null when none wait); decide again then, at the next exit,
 *   or at `deadlineAt` (null: no deadline).
 * - `complete`: enough copies succeeded; stop `stop` (copies still active, no longer needed).
 * - `failed`: stop `stop`; the job will not complete.
 */
export type JobProgress =
  | {
      readonly kind: 'running'
      readonly startNow: number
      readonly startLater: number
      readonly startAt: number | null
      readonly deadlineAt: number | null
      readonly tally: JobTally
    }
  | { readonly kind: 'complete'; readonly stop: readonly string[]; readonly tally: JobTally }
  | { readonly kind: 'failed'; readonly reason: JobFailureReason; readonly stop: readonly string[]; readonly tally: JobTally }

export function jobProgress(counts: JobCounts, copies: readonly JobCopy[], startedAt: number, now: number): JobProgress {
  let succeeded = 0
  let failed = 0
  let lastFailureAt = Number.NEGATIVE_INFINITY
  const active: string[] = []
  for (const copy of copies) {
    if (copy.phase !== 'exited') active.push(copy.id)
    else if (copy.exitCode === 0) succeeded++
    else {
      failed++
      lastFailureAt = Math.max(lastFailureAt, copy.finishedAt)
    }
  }
  const tally: JobTally = { succeeded, failed, active: active.length }
  // Completion first: the work is done, whatever else has also happened by the time we look.
  if (succeeded >= counts.completions) return { kind: 'complete', stop: active, tally }
  if (backoffLimitExceeded(failed, counts.backoffLimit)) return { kind: 'failed', reason: 'BackoffLimitExceeded', stop: active, tally }
  const deadlineAt = counts.activeDeadlineMs === null ? null : startedAt + counts.activeDeadlineMs
  if (deadlineAt !== null && now >= deadlineAt) return { kind: 'failed', reason: 'DeadlineExceeded', stop: active, tally }

  // Never more active than parallelism, nor than the successes still needed.
  const wanted = Math.max(0, Math.min(counts.parallelism, counts.completions - succeeded) - active.length)
  // After a failure, new copies wait out the retry delay (the whole job waits, as in Kubernetes).
  const resumeAt = failed > 0 ? retryAt(failed, lastFailureAt, counts.retryBaseMs) : null
  const waiting = resumeAt !== null && now < resumeAt
  return {
    kind: 'running',
    startNow: waiting ? 0 : wanted,
    startLater: waiting ? wanted : 0,
    startAt: waiting && wanted > 0 ? resumeAt : null,
    deadlineAt,
    tally,
  }
}

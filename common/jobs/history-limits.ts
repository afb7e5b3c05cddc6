/**
 * Which finished runs of a cron job, or finished jobs, to forget: a cron job keeps its newest
 * successfulJobsHistoryLimit successful and failedJobsHistoryLimit failed runs (Kubernetes'
 * defaults, 3 and 1); a Job with ttlAfterFinished is forgotten that long after it finished.
 */

export const DEFAULT_SUCCESSFUL_HISTORY = 3
export const DEFAULT_FAILED_HISTORY = 1

export interface FinishedRun {
  readonly id: string
  readonly outcome: 'succeeded' | 'failed'
  readonly finishedAt: number
}

export interface HistoryLimits {
  readonly successful: number
  readonly failed: number
}

/** The ids of finished runs beyond the limits, oldest first. Ties in finishedAt go by id, so the answer is stable. */
export function runsToForget(
  runs: readonly FinishedRun[],
  limits: HistoryLimits = { successful: DEFAULT_SUCCESSFUL_HISTORY, failed: DEFAULT_FAILED_HISTORY },
): string[] {
  const newestFirst = [...runs].sort((a, b) => b.finishedAt - a.finishedAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0))
  const kept = { succeeded: 0, failed: 0 }
  const forget: FinishedRun[] = []
  for (const run of newestFirst) {
    const limit = run.outcome === 'succeeded' ? limits.successful : limits.failed
    if (kept[run.outcome] < limit) kept[run.outcome]++
    else forget.push(run)
  }
  return forget.reverse().map((run) => run.id)
}

/** When a finished job is forgotten under ttlAfterFinished (null: kept until deleted). */
export function expiresAt(finishedAt: number, ttlAfterFinishedMs: number | null): number | null {
  return ttlAfterFinishedMs === null ? null : finishedAt + ttlAfterFinishedMs
}

/** Whether a finished job's ttlAfterFinished has run out at `now`. */
export function ttlExpired(finishedAt: number, ttlAfterFinishedMs: number | null, now: number): boolean {
  const at = expiresAt(finishedAt, ttlAfterFinishedMs)
  return at !== null && now >= at
}

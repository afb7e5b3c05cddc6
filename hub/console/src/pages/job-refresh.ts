import { useEffect } from 'preact/hooks'
import type { Change } from '../api/types'
import type { Resource } from '../live'

/**
 * The change feed says when a Job or CronJob is applied or deleted (`job`, `cronjob`), and carries
 * a job's events (JobStarted, JobCopySucceeded / JobCopyFailed, JobComplete, JobFailed, from the
 * hub's planner) and a cron job's (JobRunSucceeded / JobRunFailed, CronJobSkipped, CronJobMissed,
 * as nodes report them).
 */
export function isJobChange(change: Change): boolean {
  if (change.type === 'job' || change.type === 'cronjob') return true
  return change.type === 'event' && (change.eventType.startsWith('Job') || change.eventType.startsWith('CronJob'))
}

/**
 * A cron job's next firing moves on with the clock, which puts nothing on the feed: the jobs
 * pages also refetch at this modest pace.
 */
export const JOB_POLL_MS = 10_000

/** Reloads the resource every `everyMs` while the page is open. */
export function usePoll(resource: Resource<unknown>, everyMs: number): void {
  const reload = resource.reload
  useEffect(() => {
    const timer = setInterval(() => reload(), everyMs)
    return () => clearInterval(timer)
  }, [everyMs])
}

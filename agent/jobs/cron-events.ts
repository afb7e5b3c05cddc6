import { MAX_ACTIVE_RUNS, type MissedFirings } from '../../common/jobs/fire-decision.js'
import type { NodeEvent } from '../../protocol/index.js'
import { cronKeyParts } from './cron-source.js'

/** Why a run failed: a container exited non-zero, its activeDeadline passed, a Replace firing stopped it, or its cron job left the static directory. */
export type RunFailReason = 'NonZeroExit' | 'DeadlineExceeded' | 'Replaced' | 'CronJobRemoved'

/** A finished run, as its event reports it. */
export interface FinishedRunReport {
  /** The cron job's key (cron-source.ts): its name, `hub/<name>` for the hub's. */
  readonly cronJob: string
  readonly workload: string
  readonly scheduledAt: number
  readonly startedAt: number
  readonly finishedAt: number
  readonly exitCode: number | null
  readonly outcome: 'succeeded' | 'failed'
  readonly reason: RunFailReason | null
  /** Which try of its firing it was (1: the first). */
  readonly attempt: number
  /** When the next try of the same firing starts (the backoffLimit allows one); null: none. */
  readonly retryAt: number | null
}

const iso = (ms: number): string => new Date(ms).toISOString()

/** `cronJob` is the name and `source` where it came from (static, hub): the hub records its own cron jobs' runs only. */
const jobData = (key: string): { cronJob: string; source: string } => {
  const { source, name } = cronKeyParts(key)
  return { cronJob: name, source }
}

/** `JobRunSucceeded` (info) or `JobRunFailed` (warning): one per run, sent once its outcome is recorded. */
export function runFinishedEvent(nodeId: string, at: string, run: FinishedRunReport): NodeEvent {
  const succeeded = run.outcome === 'succeeded'
  const failed = run.exitCode !== null ? `failed with exit code ${run.exitCode}` : `failed (${run.reason ?? 'unknown'})`
  const retry = run.retryAt !== null ? `; try ${run.attempt + 1} starts at ${iso(run.retryAt)}` : ''
  const how = succeeded ? 'succeeded' : `${failed}${run.attempt > 1 || run.retryAt !== null ? ` (try ${run.attempt})` : ''}${retry}`
  return {
    nodeId,
    type: succeeded ? 'JobRunSucceeded' : 'JobRunFailed',
    severity: succeeded ? 'info' : 'warning',
    workload: run.workload,
    message: `cron job ${run.cronJob}: the run for ${iso(run.scheduledAt)} ${how}`,
    at,
    data: {
      ...jobData(run.cronJob),
      scheduledAt: iso(run.scheduledAt),
      exitCode: run.exitCode,
      startedAt: iso(run.startedAt),
      finishedAt: iso(run.finishedAt),
      attempt: run.attempt,
      ...(run.reason !== null ? { reason: run.reason } : {}),
      ...(run.retryAt !== null ? { retryAt: iso(run.retryAt) } : {}),
    },
  }
}

/**
 * `CronJobSkipped` (warning): concurrencyPolicy Forbid and a run was still active at the firing, or
 * MAX_ACTIVE_RUNS of the cron job were.
 */
export function firingSkippedEvent(
  nodeId: string,
  at: string,
  cronJob: string,
  scheduledAt: number,
  running: readonly string[],
  reason: 'forbid-running' | 'active-limit',
): NodeEvent {
  const why = reason === 'forbid-running' ? 'concurrencyPolicy Forbid' : `at most ${MAX_ACTIVE_RUNS} runs of a cron job are active at once`
  return {
    nodeId,
    type: 'CronJobSkipped',
    severity: 'warning',
    message: `cron job ${cronJob}: the firing at ${iso(scheduledAt)} was skipped (${why}; ${running.length} run(s) still active)`,
    at,
    data: { ...jobData(cronJob), scheduledAt: iso(scheduledAt), reason, running: running.join(',') },
  }
}

/**
 * `CronJobMissed` (warning): firings that will never run, as one event however many there were
 * (the count stops at MISSED_COUNT_CAP; the latest few times are named), so a node that was off
 * for a month sends one event, not forty thousand.
 */
export function firingsMissedEvent(nodeId: string, at: string, cronJob: string, missed: MissedFirings): NodeEvent {
  const count = `${missed.count}${missed.countIsExact ? '' : '+'}`
  const latest = missed.latest.map(iso)
  return {
    nodeId,
    type: 'CronJobMissed',
    severity: 'warning',
    message: `cron job ${cronJob}: ${count} firing(s) missed (${MISSED_WORDS[missed.reason]}); the latest at ${latest.at(-1) ?? 'unknown'}`,
    at,
    data: { ...jobData(cronJob), reason: missed.reason, count: missed.count, countIsExact: missed.countIsExact, latest: latest.join(',') },
  }
}

const MISSED_WORDS: Record<MissedFirings['reason'], string> = {
  superseded: 'the agent was not running; only the latest due firing is acted on',
  'past-starting-deadline': 'found later than the startingDeadline',
  suspended: 'the cron job is suspended',
}

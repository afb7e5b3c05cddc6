/**
 * What the agent does about a cron job now: decided from the schedule, the last firing already
 * handled (which the agent persists before acting on a decision) and the wall clock. Pure; the
 * agent carries the decision out. The rules are in docs/jobs.md.
 */
import type { CronSchedule } from '../../protocol/cron/cron-schedule.js'
import { firingsBetween, latestFiringsBetween, nextFireAfter } from '../../protocol/cron/next-fire.js'
import type { ZoneClock } from '../../protocol/cron/time-zone.js'

export type ConcurrencyPolicy = 'Allow' | 'Forbid' | 'Replace'

export interface CronTiming {
  readonly schedule: CronSchedule
  /** The job's zone (the node's own for `timeZone: local`). */
  readonly clock: ZoneClock
  readonly concurrencyPolicy: ConcurrencyPolicy
  /** A firing later than this after its time is not started; null: no deadline. */
  readonly startingDeadlineMs: number | null
  readonly suspend: boolean
}

export interface FireState {
  /**
   * Firings at or before this instant are handled (started, skipped or missed) and never
   * considered again. The agent persists it before acting, and starts it at the time it first
   * accepted the cron job, so that firings from before it existed do not run.
   */
  readonly handledThrough: number
  /** Runs of this cron job still active, oldest first. */
  readonly activeRunIds: readonly string[]
}

/**
 * Why due firings were not run:
 * - `superseded`: a later firing was due too and runs (or is skipped) instead; the agent was not
 *   running when they fell due (the node was off, the agent stopped or late);
 * - `past-starting-deadline`: even the latest due firing is older than the starting deadline;
 * - `suspended`: they fell due while the job was suspended.
 */
export type MissedReason = 'superseded' | 'past-starting-deadline' | 'suspended'

/** Due firings that will never run: counted, with the latest few, so a report stays bounded. */
export interface MissedFirings {
  readonly reason: MissedReason
  /** How many; exact up to MISSED_COUNT_CAP, which it stops at. */
  readonly count: number
  readonly countIsExact: boolean
  /** The latest of them, oldest first, at most MISSED_TIMES_KEPT. */
  readonly latest: readonly number[]
}

/**
 * Runs of one cron job active at once, at most, whatever its concurrencyPolicy: a firing beyond
 * it is skipped. Without a bound, an Allow job whose runs cannot start (an image that never
 * pulls, a device that is gone) would add one waiting workload per firing for ever.
 */
export const MAX_ACTIVE_RUNS = 10

/** How many missed firings are counted one by one (a week of every minute is 10,080). */
export const MISSED_COUNT_CAP = 1_000
/** How many missed firing times a decision names. */
export const MISSED_TIMES_KEPT = 5

/**
 * The decision. Every kind but `wait` handles the due firings: the agent first persists
 * `handledThrough` as FireState.handledThrough, then acts, then waits for `next` (the first
 * firing after `handledThrough`; null: the schedule never fires again).
 * - `wait`: nothing is due; decide again at `until` (null: never, until the spec changes).
 * - `start`: start a run for `scheduledAt`.
 * - `skip`: Forbid, and a run is still active: `scheduledAt` is not run (and not run later).
 * - `replace`: Replace, and runs are active: stop `stop`, then start a run for `scheduledAt`.
 * - `missed`: firings were due but none is run (`missed.reason` says why).
 * `missed` on the others: older due firings that the one decided on superseded.
 */
export type FireDecision =
  | { readonly kind: 'wait'; readonly until: number | null }
  | {
      readonly kind: 'start'
      readonly scheduledAt: number
      readonly handledThrough: number
      readonly next: number | null
      readonly missed: MissedFirings | null
    }
  | {
      readonly kind: 'skip'
      readonly scheduledAt: number
      /** `forbid-running`: Forbid and a run is active; `active-limit`: MAX_ACTIVE_RUNS are active. */
      readonly reason: 'forbid-running' | 'active-limit'
      readonly running: readonly string[]
      readonly handledThrough: number
      readonly next: number | null
      readonly missed: MissedFirings | null
    }
  | {
      readonly kind: 'replace'
      readonly scheduledAt: number
      readonly stop: readonly string[]
      readonly handledThrough: number
      readonly next: number | null
      readonly missed: MissedFirings | null
    }
  | { readonly kind: 'missed'; readonly missed: MissedFirings; readonly handledThrough: number; readonly next: number | null }

/**
 * Decides about the firings in (handledThrough, now]. A clock stepped back before handledThrough
 * finds none and waits for the first firing after handledThrough: nothing fires twice. A clock
 * that jumped ahead (the node was off) finds many, and at most the latest one runs.
 */
export function decideFiring(timing: CronTiming, state: FireState, now: number): FireDecision {
  const { schedule, clock } = timing
  const from = state.handledThrough
  const first = nextFireAfter(schedule, clock, from)
  if (first === null || first > now) return { kind: 'wait', until: first }
  const latestDue = latestFiringsBetween(schedule, clock, from, now, MISSED_TIMES_KEPT + 1)
  const scheduledAt = latestDue.at(-1) as number

  const handled = { handledThrough: scheduledAt, next: nextFireAfter(schedule, clock, scheduledAt) }
  const missedAll = (reason: MissedReason): MissedFirings => missedFirings(timing, from, now, latestDue, reason)
  if (timing.suspend) return { kind: 'missed', missed: missedAll('suspended'), ...handled }
  if (timing.startingDeadlineMs !== null && now - scheduledAt > timing.startingDeadlineMs) {
    return { kind: 'missed', missed: missedAll('past-starting-deadline'), ...handled }
  }

  const older = latestDue.slice(0, -1)
  const missed = older.length === 0 ? null : missedFirings(timing, from, older.at(-1) as number, older, 'superseded')
  const active = state.activeRunIds
  if (active.length > 0 && timing.concurrencyPolicy === 'Forbid') {
    return { kind: 'skip', scheduledAt, reason: 'forbid-running', running: active, missed, ...handled }
  }
  if (active.length >= MAX_ACTIVE_RUNS && timing.concurrencyPolicy === 'Allow') {
    return { kind: 'skip', scheduledAt, reason: 'active-limit', running: active, missed, ...handled }
  }
  if (active.length > 0 && timing.concurrencyPolicy === 'Replace') return { kind: 'replace', scheduledAt, stop: active, missed, ...handled }
  return { kind: 'start', scheduledAt, missed, ...handled }
}

/** The firings in (from, through], whose latest are `latest` (oldest first), as a bounded report. */
function missedFirings(timing: CronTiming, from: number, through: number, latest: readonly number[], reason: MissedReason): MissedFirings {
  const counted = firingsBetween(timing.schedule, timing.clock, from, through, MISSED_COUNT_CAP)
  return {
    reason,
    count: counted.times.length,
    countIsExact: !counted.truncated,
    latest: latest.slice(-MISSED_TIMES_KEPT),
  }
}

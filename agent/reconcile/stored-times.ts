import { BACKOFF_MAX_MS } from './crash-policy.js'

/**
 * Times a previous run of the agent stored (crash times, backoff deadlines, revert window
 * starts), read again on this run's timeline. While the agent runs, it measures on a timeline
 * no wall-clock step can move (see steadyClock in common/clock.ts); between two runs nothing
 * can be trusted but the wall clock, which may have been stepped by years (a board without RTC,
 * then NTP). So each stored time is brought into what it can truly be, once, when a run starts:
 *
 * - A crash cannot have happened in the future: one stored after `now` happened at the latest
 *   now. It then counts for a full crash window, never for the years until the clock gets there.
 * - No deadline is ever set further ahead than its longest length: one further ahead than that
 *   was set on a clock that was ahead, and is cut to now + that length. A workload backs off at
 *   most as long as it would have, never for a year.
 * - A window cannot have started in the future: one stored after `now` starts now, so it lasts
 *   its full length once, never until the clock catches up.
 *
 * Times in the past are kept as they are: a clock that was stepped forward between two runs
 * makes old crashes older and deadlines passed, so the agent forgets a crash loop sooner (it
 * climbs the backoff ladder again from the first step), which costs a few restarts, never a
 * stopped workload. Pure.
 */

/** The longest deadline a workload record holds: restart and pull backoffs are both capped here. */
export const MAX_BACKOFF_DEADLINE_MS = BACKOFF_MAX_MS

/** Crash times as of `now`: none later than now, none that is not a number; in order. */
export function rebaseCrashes(crashes: readonly number[], now: number): number[] {
  return crashes
    .filter((at) => Number.isFinite(at))
    .map((at) => Math.min(at, now))
    .sort((a, b) => a - b)
}

/** A deadline as of `now`: at most `maxMs` ahead; 0 (none) stays 0, and one that is not a number is none. */
export function rebaseDeadline(until: number, now: number, maxMs: number): number {
  if (!Number.isFinite(until)) return 0
  return Math.min(until, now + maxMs)
}

/** A window's start as of `now`: never later than now. */
export function rebaseStart(startedAt: number, now: number): number {
  return Number.isFinite(startedAt) ? Math.min(startedAt, now) : now
}

export interface StoredTiming {
  readonly recentCrashes: readonly number[]
  readonly backoffUntil: number
}

/** A workload record's times as of `now`, or null when they are already what they can be. */
export function rebaseTiming(timing: StoredTiming, now: number): StoredTiming | null {
  const recentCrashes = rebaseCrashes(timing.recentCrashes, now)
  const backoffUntil = rebaseDeadline(timing.backoffUntil, now, MAX_BACKOFF_DEADLINE_MS)
  const same =
    backoffUntil === timing.backoffUntil &&
    recentCrashes.length === timing.recentCrashes.length &&
    recentCrashes.every((at, i) => at === timing.recentCrashes[i])
  return same ? null : { recentCrashes, backoffUntil }
}

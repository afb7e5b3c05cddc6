/**
 * When a cron schedule fires in a zone. Firings are instants (epoch ms) at whole minutes of the
 * zone's clock.
 *
 * Daylight-saving changes follow Vixie cron (docs/jobs.md):
 * - a schedule at fixed times of day (minute and hour fields not starting with `*`) whose time is
 *   skipped by a spring-forward gap fires once, at the first instant after the gap; a time
 *   repeated by a fall-back fold fires once, at its first occurrence;
 * - any other schedule follows the clock as it reads: skipped readings do not fire, and repeated
 *   readings fire each time they occur (an hourly job still runs every hour of the long night).
 */
import { type CronSchedule, matchesDay, neverFiresReason } from './cron-schedule.js'
import type { ZoneClock } from './time-zone.js'

const MINUTE = 60_000
const DAY = 86_400_000

/**
 * How far ahead the search looks, in years. A schedule that can fire at all fires within 28
 * years (the calendar repeats its weekdays and leap days; Feb 29 on a Monday is the rarest),
 * plus the non-leap century years.
 */
export const SEARCH_YEARS = 50

/** Restarts at offset changes and fold skips: about two per year searched, far below this. */
const MAX_STEPS = 10_000

/**
 * The first firing strictly after `after`, or null when the schedule never fires (such as
 * `0 0 30 2 *`) within SEARCH_YEARS.
 */
export function nextFireAfter(schedule: CronSchedule, clock: ZoneClock, after: number): number | null {
  if (neverFiresReason(schedule) !== null) return null
  // The search walks wall-clock readings at a constant offset and restarts at each offset change:
  // `from` is the instant it starts at (a candidate itself when `inclusive`), `offset` the offset there.
  let from = after
  let inclusive = false
  let offset = clock.offsetAt(from)
  const lastYear = new Date(after).getUTCFullYear() + SEARCH_YEARS
  for (let step = 0; step < MAX_STEPS; step++) {
    const first = inclusive ? Math.ceil(from / MINUTE) * MINUTE : Math.floor(from / MINUTE) * MINUTE + MINUTE
    const wall = nextMatchingWall(schedule, first + offset, lastYear)
    if (wall === null) return null
    const candidate = wall - offset
    const transition = clock.nextTransition(from, candidate)
    if (transition === null) {
      if (schedule.fixedTimeOfDay && isRepeat(clock, wall, candidate, offset)) {
        // Fired at its first occurrence, before the fold (and before `after`).
        from = candidate
        inclusive = false
        continue
      }
      return candidate
    }
    const newOffset = clock.offsetAt(transition)
    if (newOffset > offset) {
      // Spring forward: readings [transition + offset, transition + newOffset) never occur.
      if (schedule.fixedTimeOfDay && wall < transition + newOffset) return transition
      from = transition
    } else {
      // Fall back: readings [transition + newOffset, transition + offset) occur again. A fixed-time
      // schedule fired at them already, so it resumes where the first pass ended.
      from = schedule.fixedTimeOfDay ? transition + (offset - newOffset) : transition
    }
    inclusive = true
    offset = newOffset
  }
  return null
}

/** Whether `instant` is the second of two instants at which the clock reads `wall`. */
function isRepeat(clock: ZoneClock, wall: number, instant: number, offset: number): boolean {
  // Cheap test first: only where the offset has dropped within the day can a reading repeat.
  if (clock.offsetAt(instant - DAY) <= offset) return false
  const instants = clock.instantsAt(wall)
  return instants.kind === 'repeated' && instants.second === instant
}

/**
 * The first wall-clock reading at or after `start` (wall ms) that the schedule
 * matches, on the plain calendar (no zone), or null past the end of `lastYear`.
 */
function nextMatchingWall(schedule: CronSchedule, start: number, lastYear: number): number | null {
  // Offsets of whole seconds (local mean time, before 1900) leave the start off the minute.
  const date = new Date(Math.ceil(start / MINUTE) * MINUTE)
  let year = date.getUTCFullYear()
  let month = date.getUTCMonth() + 1
  let day = date.getUTCDate()
  let hour = date.getUTCHours()
  let minute = date.getUTCMinutes()
  const nextDay = (): void => {
    day++
    hour = 0
    minute = 0
  }
  while (year <= lastYear) {
    if (!schedule.months.includes(month) || day > daysInMonth(year, month)) {
      month++
      if (month > 12) {
        month = 1
        year++
      }
      day = 1
      hour = 0
      minute = 0
      continue
    }
    if (!matchesDay(schedule, day, weekdayOf(year, month, day))) {
      nextDay()
      continue
    }
    const matchedHour = schedule.hours.find((h) => h >= hour)
    if (matchedHour === undefined) {
      nextDay()
      continue
    }
    if (matchedHour > hour) minute = 0
    hour = matchedHour
    const matchedMinute = schedule.minutes.find((m) => m >= minute)
    if (matchedMinute === undefined) {
      hour++
      minute = 0
      if (hour > 23) nextDay()
      continue
    }
    return Date.UTC(year, month - 1, day, hour, matchedMinute)
  }
  return null
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate()
}

function weekdayOf(year: number, month: number, day: number): number {
  return new Date(Date.UTC(year, month - 1, day)).getUTCDay()
}

/** Firings in (from, to], ascending, at most `limit`; `truncated` when more lay beyond the limit. */
export interface Firings {
  readonly times: readonly number[]
  readonly truncated: boolean
}

/** The firings in (from, to], oldest first, at most `limit` of them: for catching up after downtime. */
export function firingsBetween(schedule: CronSchedule, clock: ZoneClock, from: number, to: number, limit: number): Firings {
  const times: number[] = []
  let cursor = from
  for (;;) {
    const next = nextFireAfter(schedule, clock, cursor)
    if (next === null || next > to) return { times, truncated: false }
    if (times.length >= limit) return { times, truncated: true }
    times.push(next)
    cursor = next
  }
}

/**
 * The latest `keep` firings in (from, to], oldest first. Looks back from `to` in doubling windows,
 * so a long downtime costs about as much as the firings kept, not all those missed.
 */
export function latestFiringsBetween(schedule: CronSchedule, clock: ZoneClock, from: number, to: number, keep: number): readonly number[] {
  if (keep <= 0 || to <= from) return []
  for (let window = 60 * MINUTE; ; window *= 2) {
    const start = Math.max(from, to - window)
    const latest: number[] = []
    for (let cursor = start; ; ) {
      const next = nextFireAfter(schedule, clock, cursor)
      if (next === null || next > to) break
      latest.push(next)
      if (latest.length > keep) latest.shift()
      cursor = next
    }
    if (latest.length >= keep || start === from) return latest
  }
}

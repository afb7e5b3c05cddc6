import { windowMinutes } from '../../protocol/index.js'
import { localParts, localToInstant } from './local-time.js'

/** Whether an instant falls inside one of the windows (local time; a window's end is not in it). Pure. */
export function inPullWindow(at: number, windows: readonly string[], zone: string): boolean {
  const minute = localParts(at, zone).minute
  return windows.some((window) => {
    const { start, end } = windowMinutes(window)
    return start < end ? minute >= start && minute < end : minute >= start || minute < end
  })
}

/**
 * The first instant at or after `from` inside one of the windows: `from` itself when it is
 * inside, else the next opening. Openings are looked for over the next three local days, which
 * covers any window (each opens every day) and a day the clocks skip its start. Pure.
 */
export function nextPullWindow(from: number, windows: readonly string[], zone: string): number {
  if (inPullWindow(from, windows, zone)) return from
  const today = localParts(from, zone)
  let best = Number.POSITIVE_INFINITY
  for (let day = 0; day <= 2; day++) {
    for (const window of windows) {
      const opens = localToInstant(today.year, today.month, today.day + day, windowMinutes(window).start, zone)
      if (opens > from && opens < best) best = opens
    }
  }
  return best
}

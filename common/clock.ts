/** Time, injected so backoff, grace periods and windows can be tested without sleeping. */
export interface Clock {
  /** Wall time, epoch ms: what timestamps carry. It can step (NTP, a board without RTC, an operator). */
  now(): number
  /**
   * Milliseconds since an arbitrary origin on a clock that never steps, for intervals. A clock
   * without it (a test's hand-moved clock) is taken to move only forward: now() stands in.
   */
  monotonic?(): number
}

/** The process's clocks: Date.now() for the wall, performance.now() (CLOCK_MONOTONIC) for intervals. */
export const systemClock: Clock = { now: () => Date.now(), monotonic: () => performance.now() }

export function isoNow(clock: Clock): string {
  return new Date(clock.now()).toISOString()
}

/** A reading for measuring intervals: the monotonic clock where there is one. */
export function monotonicNow(clock: Clock): number {
  return clock.monotonic ? clock.monotonic() : clock.now()
}

/**
 * A timeline for deadlines and windows that a wall-clock step cannot move: the wall time at the
 * first reading, advanced by the monotonic clock since. Its readings look like epoch ms (they
 * may be stored, and read again by a later process on its own timeline), but a step of the
 * wall clock after the first reading changes none of them.
 */
export function steadyClock(clock: Clock): () => number {
  const wallAtStart = clock.now()
  const monotonicAtStart = monotonicNow(clock)
  return () => wallAtStart + (monotonicNow(clock) - monotonicAtStart)
}

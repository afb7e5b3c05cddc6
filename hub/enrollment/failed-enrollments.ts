/** Failed enrollments one address may make per window before it must wait. */
export const MAX_FAILED_ENROLLMENTS = 10
export const FAILED_ENROLLMENT_WINDOW_MS = 60_000
/** Addresses remembered at most: a spray from many addresses cannot grow the hub's memory. */
const MAX_ADDRESSES = 10_000

interface Window {
  start: number
  failures: number
}

/**
 * Slows down guessing join tokens: an address whose enrollments failed (unknown, expired or
 * used-up token, malformed request) `max` times within a window is refused until the window
 * ends. Successful enrollments are never limited, so a fleet joining at once from one NAT is
 * not slowed. In memory, per hub process; a restart forgets it.
 */
export class FailedEnrollmentLimiter {
  private readonly windows = new Map<string, Window>()

  constructor(
    private readonly max = MAX_FAILED_ENROLLMENTS,
    private readonly windowMs = FAILED_ENROLLMENT_WINDOW_MS,
  ) {}

  /** Milliseconds this address must wait before trying again, or null if it may try now. */
  retryAfterMs(address: string, now: number): number | null {
    const window = this.windows.get(address)
    if (window === undefined) return null
    const ends = window.start + this.windowMs
    if (now >= ends || now < window.start) {
      this.windows.delete(address)
      return null
    }
    return window.failures >= this.max ? ends - now : null
  }

  recordFailure(address: string, now: number): void {
    let window = this.windows.get(address)
    if (window === undefined || now - window.start >= this.windowMs || now < window.start) {
      if (this.windows.size >= MAX_ADDRESSES) this.forgetEnded(now)
      if (this.windows.size >= MAX_ADDRESSES) this.windows.delete(this.windows.keys().next().value as string)
      window = { start: now, failures: 0 }
      this.windows.set(address, window)
    }
    window.failures++
  }

  private forgetEnded(now: number): void {
    for (const [address, window] of this.windows) if (now - window.start >= this.windowMs) this.windows.delete(address)
  }
}

/** Enrollments the hub takes in per second unless configured (`shoal hub serve --enroll-rate`). */
export const DEFAULT_ENROLL_RATE_PER_SECOND = 50
/** The longest wait a refused enrollment is told; past it the hint is no use anyway. */
export const MAX_ENROLL_RETRY_AFTER_MS = 300_000

/**
 * Admission for enrollment bursts: a token bucket refilled at `ratePerSecond`, holding at most
 * `burst` tokens (one second's worth unless set). An enrollment takes a token or is refused
 * with how long to wait. Refused requests are told successive slots, one token interval
 * apart, after every request already told to wait, so a burst of N comes back spread over
 * N / rate seconds instead of all at the next token. The slots are hints, not reservations
 * (a request carries nothing to recognise it by before its body is read): whoever asks when a
 * token is free gets it, and one refused again is told a later slot. Pure apart from its own
 * state; time is passed in. In memory, per hub process.
 */
export class EnrollmentAdmission {
  private tokens: number
  private updatedAt: number | null = null
  /** When the last slot promised to a refused request falls due. */
  private promisedUntil = Number.NEGATIVE_INFINITY
  private readonly intervalMs: number

  constructor(
    readonly ratePerSecond: number = DEFAULT_ENROLL_RATE_PER_SECOND,
    readonly burst: number = Math.max(1, Math.ceil(ratePerSecond)),
  ) {
    if (!(ratePerSecond > 0) || !Number.isFinite(ratePerSecond)) throw new RangeError(`enrollment rate must be a positive number, got ${ratePerSecond}`)
    if (!(burst >= 1) || !Number.isFinite(burst)) throw new RangeError(`enrollment burst must be at least 1, got ${burst}`)
    this.tokens = burst
    this.intervalMs = 1000 / ratePerSecond
  }

  /** Null: admitted (a token taken). Otherwise the milliseconds this request should wait. */
  admit(now: number): number | null {
    this.refill(now)
    if (this.tokens >= 1) {
      this.tokens -= 1
      return null
    }
    const nextToken = now + (1 - this.tokens) * this.intervalMs
    const slot = Math.max(nextToken, this.promisedUntil + this.intervalMs)
    const waitMs = Math.min(slot - now, MAX_ENROLL_RETRY_AFTER_MS)
    // Past the cap the promise is not kept anyway: do not push the horizon further.
    this.promisedUntil = now + waitMs
    return waitMs
  }

  private refill(now: number): void {
    // A clock that stepped back refills nothing (and never takes tokens away).
    if (this.updatedAt !== null && now > this.updatedAt) this.tokens = Math.min(this.burst, this.tokens + (now - this.updatedAt) / this.intervalMs)
    if (this.updatedAt === null || now > this.updatedAt) this.updatedAt = now
  }
}

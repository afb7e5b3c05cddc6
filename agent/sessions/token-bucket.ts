/**
 * A byte-rate cap: tokens accrue at `ratePerSecond` up to `burstBytes`, and a send takes what
 * it spends. Pure: the caller passes the (monotonic) time of each question.
 */
export class TokenBucket {
  private tokens: number
  private at: number

  constructor(
    readonly ratePerSecond: number,
    readonly burstBytes: number,
    nowMs: number,
  ) {
    if (!(ratePerSecond > 0) || !(burstBytes > 0))
      throw new RangeError(`a token bucket needs a positive rate and burst, not ${ratePerSecond}/s and ${burstBytes}`)
    this.tokens = burstBytes
    this.at = nowMs
  }

  /** Takes up to `want` tokens; returns how many it took (0 when empty). */
  take(want: number, nowMs: number): number {
    this.refill(nowMs)
    const taken = Math.max(0, Math.min(Math.floor(this.tokens), Math.floor(want)))
    this.tokens -= taken
    return taken
  }

  /** Milliseconds until `want` tokens (at most a burst) are there; 0 when they are now. */
  msUntil(want: number, nowMs: number): number {
    this.refill(nowMs)
    const missing = Math.min(want, this.burstBytes) - this.tokens
    return missing <= 0 ? 0 : Math.ceil((missing * 1000) / this.ratePerSecond)
  }

  private refill(nowMs: number): void {
    // A clock that goes backwards (it should not: monotonic) adds nothing rather than taking away.
    const elapsed = Math.max(0, nowMs - this.at)
    this.at = Math.max(this.at, nowMs)
    this.tokens = Math.min(this.burstBytes, this.tokens + (elapsed * this.ratePerSecond) / 1000)
  }
}

/** Rejections of one code reported one by one per window; past that they are only counted. */
export const REJECTIONS_PER_WINDOW = 10
export const REJECTION_WINDOW_MS = 60_000

interface Window {
  start: number
  reported: number
  suppressed: number
  last: string
}

/** Rejections of one code that were counted but not reported in a window that has ended. */
export interface SuppressedRejections {
  readonly code: string
  readonly count: number
  readonly lastReason: string
  readonly windowMs: number
}

/**
 * Keeps a flood of bad desired documents from becoming a flood of events: anyone who can
 * publish on the node's desired topic (the hub's broker rights on an external broker) could
 * otherwise fill the outbox and the hub's event log. Per rejection code, the first few of each
 * window are reported as they come; the rest become one summary with a count and the last
 * reason. Pure bookkeeping over the times it is given.
 */
export class RejectionLimiter {
  private readonly windows = new Map<string, Window>()

  constructor(
    private readonly perWindow = REJECTIONS_PER_WINDOW,
    private readonly windowMs = REJECTION_WINDOW_MS,
  ) {}

  /** True when this rejection should be reported now; false when it was only counted. */
  admit(code: string, reason: string, now: number): boolean {
    let window = this.windows.get(code)
    if (window === undefined || now - window.start >= this.windowMs || now < window.start) {
      window = { start: now, reported: 0, suppressed: 0, last: reason }
      this.windows.set(code, window)
    }
    window.last = reason
    if (window.reported < this.perWindow) {
      window.reported++
      return true
    }
    window.suppressed++
    return false
  }

  /** The summaries of windows that have ended with rejections counted but not reported; each is returned once. */
  due(now: number): SuppressedRejections[] {
    const due: SuppressedRejections[] = []
    for (const [code, window] of this.windows) {
      if (now - window.start < this.windowMs && now >= window.start) continue
      if (window.suppressed > 0) due.push({ code, count: window.suppressed, lastReason: window.last, windowMs: this.windowMs })
      this.windows.delete(code)
    }
    return due
  }
}

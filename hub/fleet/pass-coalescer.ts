/** Timers, injected so coalescing is testable without waiting. */
export interface TimerHost {
  setTimeout(fn: () => void, ms: number): unknown
  clearTimeout(handle: unknown): void
}

export const systemTimers: TimerHost = {
  setTimeout: (fn, ms) => {
    const handle = setTimeout(fn, ms)
    // A pending pass must not keep a stopping process alive.
    handle.unref()
    return handle
  },
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
}

/**
 * At most one run per window, trailing: the first request arms a timer, every request until it
 * fires joins that run, and the run sees all of them because it starts after the last. When a
 * thousand nodes come online within seconds, each presence change would otherwise cost a pass
 * over the whole fleet; here a burst costs one pass per window.
 */
export class PassCoalescer {
  private pending: { handle: unknown; reasons: Set<string> } | null = null
  private closed = false

  constructor(
    private readonly windowMs: number,
    private readonly run: (reason: string) => void,
    private readonly timers: TimerHost = systemTimers,
  ) {}

  request(reason: string): void {
    if (this.closed) return
    if (this.pending) {
      this.pending.reasons.add(reason)
      return
    }
    const reasons = new Set([reason])
    const handle = this.timers.setTimeout(() => {
      this.pending = null
      this.run([...reasons].join(','))
    }, this.windowMs)
    this.pending = { handle, reasons }
  }

  /** Whether a run is waiting for its window to end. */
  get armed(): boolean {
    return this.pending !== null
  }

  /** Drops a waiting run and refuses new requests. */
  close(): void {
    this.closed = true
    if (this.pending) this.timers.clearTimeout(this.pending.handle)
    this.pending = null
  }
}

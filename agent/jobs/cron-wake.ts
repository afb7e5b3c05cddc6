import type { Clock } from '../../common/clock.js'

/**
 * The longest single wait: the wall clock can step while a timer runs (timers follow the
 * monotonic clock), so a far-off firing is reached by waking at least this often and deciding
 * again from the wall clock.
 */
export const MAX_WAIT_MS = 3_600_000

/** One timer towards the next wall-clock instant the cron runner must look again at. */
export class CronWake {
  private timer: NodeJS.Timeout | null = null

  constructor(
    private readonly clock: Clock,
    private readonly wake: () => void,
  ) {}

  /** Replaces the pending wake; null: none needed (nothing will fire), though MAX_WAIT_MS still looks again. */
  at(instant: number | null): void {
    this.stop()
    const delay = instant === null ? MAX_WAIT_MS : Math.min(MAX_WAIT_MS, Math.max(0, instant - this.clock.now()))
    this.timer = setTimeout(() => {
      this.timer = null
      this.wake()
    }, delay)
    this.timer.unref()
  }

  stop(): void {
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
  }
}

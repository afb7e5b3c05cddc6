import type { Clock } from '../../common/clock.js'

/** A clock the test moves by hand; wall and monotonic move together unless told otherwise. */
export class HandClock implements Clock {
  wall = Date.UTC(2026, 11, 6, 12, 0, 0)
  mono = 1_000
  now(): number {
    return this.wall
  }
  monotonic(): number {
    return this.mono
  }
  advance(ms: number): void {
    this.wall += ms
    this.mono += ms
  }
}

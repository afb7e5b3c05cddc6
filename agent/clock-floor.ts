import type { NodeEvent } from '../protocol/index.js'

/**
 * No node running this release can truly be earlier than this: a clock below it is wrong.
 * Raised by hand at each release, a few days before it.
 */
export const RELEASE_FLOOR = Date.parse('2026-06-01T00:00:00Z')

/** The earliest the time can truly be: this release, or the newest document the hub signed for this node. */
export function trustedFloor(latestIssuedAt: string | null): number {
  const issued = latestIssuedAt === null ? Number.NaN : Date.parse(latestIssuedAt)
  return Number.isNaN(issued) ? RELEASE_FLOOR : Math.max(RELEASE_FLOOR, issued)
}

/**
 * Watches the wall clock against the trusted floor and says so when it falls below it, once
 * per episode (an error log and a `ClockBehind` event), and again when it recovers. Nothing is
 * judged by this clock: it is a message for the operator, who must fix the board's time.
 */
export class ClockWatch {
  private behind = false

  constructor(
    private readonly nodeId: string,
    /** Clock readings taken on the wall clock, and the floor as of now. */
    private readonly read: () => { readonly now: number; readonly floor: number },
  ) {}

  /** The event to report when the clock went below the floor or came back above it, else null. */
  check(): NodeEvent | null {
    const { now, floor } = this.read()
    const behind = now < floor
    if (behind === this.behind) return null
    this.behind = behind
    const at = new Date(now).toISOString()
    if (behind) {
      return {
        nodeId: this.nodeId,
        type: 'ClockBehind',
        severity: 'warning',
        message: `this node's clock reads ${at}, before ${new Date(floor).toISOString()} (the newest document signed by the hub, or this release): set its time (NTP, fake-hwclock, a real-time clock); workloads keep running`,
        at,
        data: { nodeTime: at, floor: new Date(floor).toISOString(), behindSeconds: Math.round((floor - now) / 1000) },
      }
    }
    return { nodeId: this.nodeId, type: 'ClockRecovered', severity: 'info', message: `this node's clock reads ${at} again, past the trusted floor`, at }
  }
}

import type { Logger } from 'pino'
import { RECONNECT_CAP_BOUNDS_MS, encodeMessage, type ReconnectHint } from '../../protocol/index.js'

/**
 * Reconnecting nodes a second that one hub takes comfortably: each costs it about 5 ms of CPU
 * (connect and password check, the retained desired document, presence, a heartbeat, an outbox
 * batch and its ack: the per-message costs in docs/benchmarks.md), so 200 a second is one core.
 */
export const RECONNECTS_PER_SECOND = 200

/**
 * The reconnect cap to hint to a fleet of `fleetSize` nodes. With full jitter, nodes come back
 * after an outage at a rate of up to 2 × fleetSize / cap (the most at the start: a node's wait
 * left over at the moment the hub returns is more often short than long), so the cap is
 * 2 × fleetSize / RECONNECTS_PER_SECOND, rounded up to a power of two seconds (the hint then
 * changes, and goes to every node, only a few times as a fleet grows), within 1 s and 60 s:
 * 1 s up to 100 nodes, 16 s for 1,000, 60 s from 3,200 on, where the peak rate exceeds the target
 * (at 10,000 nodes up to ~330 a second, ~170 on average: what agents without a hint do anyway).
 */
export function reconnectCapForFleet(fleetSize: number, perSecond: number = RECONNECTS_PER_SECOND): number {
  const spreadMs = ((2 * Math.max(0, fleetSize)) / perSecond) * 1_000
  let capMs: number = RECONNECT_CAP_BOUNDS_MS.min
  while (capMs < spreadMs && capMs < RECONNECT_CAP_BOUNDS_MS.max) capMs *= 2
  return Math.min(capMs, RECONNECT_CAP_BOUNDS_MS.max)
}

export interface ReconnectHinterOptions {
  /** Every enrolled node's id: all of them reconnect after a hub restart, online or not now. */
  readonly nodeIds: () => readonly string[]
  readonly publish: (nodeId: string, payload: Buffer) => Promise<void>
  readonly logger: Logger
  /** How long a counted fleet size is reused (default 10 s): nodes come online by the thousand. */
  readonly recountMs?: number
  readonly now?: () => number
}

/**
 * Tells nodes the reconnect cap for today's fleet: each node when it comes online (presence
 * online: every connect, and every retained presence an external broker replays when the hub
 * starts), and every node at once when the cap changes (the fleet crossed a power of two), so a
 * fleet that grew while connected does not keep a small fleet's cap for its next outage.
 */
export class ReconnectHinter {
  private counted: { at: number; ids: readonly string[]; capMs: number } | null = null
  /** The cap every node has been told since this hub started; null until the first count. */
  private announced: number | null = null
  private readonly now: () => number

  constructor(private readonly options: ReconnectHinterOptions) {
    this.now = options.now ?? Date.now
  }

  /** A node came online: send it the current hint, and everyone if the hint has changed. */
  nodeOnline(nodeId: string): void {
    const { capMs, ids } = this.count()
    if (this.announced !== null && capMs !== this.announced) {
      this.options.logger.info({ reconnectCapMs: capMs, was: this.announced, nodes: ids.length }, 'the reconnect hint changed; telling every node')
      for (const id of ids) this.send(id, capMs)
    } else {
      this.send(nodeId, capMs)
    }
    this.announced = capMs
  }

  private count(): { capMs: number; ids: readonly string[] } {
    const at = this.now()
    if (!this.counted || at - this.counted.at >= (this.options.recountMs ?? 10_000)) {
      const ids = this.options.nodeIds()
      this.counted = { at, ids, capMs: reconnectCapForFleet(ids.length) }
    }
    return this.counted
  }

  private send(nodeId: string, capMs: number): void {
    const hint: ReconnectHint = { kind: 'reconnect-hint', nodeId, reconnectCapMs: capMs }
    this.options
      .publish(nodeId, encodeMessage(hint))
      .catch((error: unknown) => this.options.logger.debug({ err: error, nodeId }, 'could not send the reconnect hint; the node gets it at its next connect'))
  }
}

import { type LinkTiming, ownPingMs, probeRidesAlong } from './link-timing.js'

export interface LinkWatchdogOptions {
  /** The link's keepalive period (ms) and whether probes ride along with heartbeats. */
  readonly periodMs: number
  readonly timing: Pick<LinkTiming, 'probeAfterMs'>
  /** Sends a probe (NATS: PING, written with whatever is pending) and resolves on its answer. */
  readonly probe: () => Promise<void>
  /** No answer within 1.5 own-ping periods of the last one: the link is dead. */
  readonly dead: () => void
  readonly now?: () => number
}

/**
 * Liveness of a broker link whose client library cannot move its own pings (nats.js pings on a
 * fixed timer): probes ride along with heartbeats (link-timing.ts says why), and a ping of its
 * own goes only when no answer came for an own-ping period; no answer half a period after that
 * and `dead` is called, as mqtt.js' keepalive manager does for MQTT. One per connection: `up` on
 * connect, `down` when it drops (answers to a previous connection's probes are ignored).
 */
export class LinkWatchdog {
  private timer: NodeJS.Timeout | null = null
  private lastProbeAt = Number.NEGATIVE_INFINITY
  private connection = 0
  private readonly now: () => number
  private readonly ownPingMs: number

  constructor(private readonly options: LinkWatchdogOptions) {
    this.now = options.now ?? (() => performance.now())
    this.ownPingMs = ownPingMs(options.periodMs, options.timing)
  }

  up(): void {
    this.connection++
    this.lastProbeAt = this.now()
    this.arm()
  }

  down(): void {
    this.connection++
    this.clear()
  }

  /** Called as a heartbeat is written: sends a probe with it when one is due. */
  alongside(): void {
    if (this.timer !== null && probeRidesAlong(this.now(), this.lastProbeAt, this.options.timing)) this.send()
  }

  private send(): void {
    const connection = this.connection
    this.lastProbeAt = this.now()
    this.options.probe().then(
      () => {
        if (connection === this.connection) this.arm()
      },
      // A probe rejected by a closing connection: `down` follows, the next `up` starts over.
      () => undefined,
    )
  }

  /** From the last answer (or connect): the own ping after a period, dead half a period later. */
  private arm(): void {
    this.clear()
    this.timer = setTimeout(() => {
      this.send()
      this.timer = setTimeout(() => {
        this.timer = null
        this.options.dead()
      }, this.ownPingMs / 2)
      this.timer.unref()
    }, this.ownPingMs)
    this.timer.unref()
  }

  private clear(): void {
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
  }
}

import { connect, type KV, type NatsConnection, type Subscription } from 'nats'
import type { Logger } from 'pino'
import { drainOrClose } from '../../common/nats/close-connection.js'
import { NATS_DESIRED_BUCKET, natsDesiredKey, natsInboxPrefix, natsSubject } from '../../protocol/index.js'
import { ReconnectBackoff } from './backoff.js'
import { DEFAULT_LINK_TIMING, type LinkTiming } from './link-timing.js'
import { LinkWatchdog } from './link-watchdog.js'
import type { ReconnectHints } from './reconnect-hint.js'
import { NotConnectedError, type AgentTransport, type BrokerCredentials, type OutboundChannel, type TransportHandlers } from './transport.js'

export interface NatsTransportOptions {
  /** `host:port` of each server; several for a cluster (nats.js also learns the others from the servers it reaches). */
  readonly servers: readonly string[]
  readonly nodeId: string
  readonly credentials: BrokerCredentials
  readonly logger: Logger
  readonly online: () => Buffer
  /** The hub's reconnect hint; without one the default backoff applies (250 ms doubling to 60 s). */
  readonly hints?: ReconnectHints
}

const KV_RETRY_MS = 5_000
/** The longest setTimeout Node honours (longer ones fire at once). */
const NATS_OWN_PINGS_OFF_MS = 2_147_483_647

/**
 * NATS core for acks, log requests and reports; the desired document comes from a JetStream
 * KV watch on this node's key (latest value first, then every update). The client never gives
 * up reconnecting (nats.js would close for good after 10 attempts by default).
 */
export class NatsTransport implements AgentTransport {
  readonly kind = 'nats'
  private connection: NatsConnection | null = null
  private isUp = false
  private closing = false
  private readonly subscriptions: Subscription[] = []
  private readonly logger: Logger
  private readonly backoff: ReconnectBackoff
  /**
   * nats.js asks for the wait before every turn of its dial loop and dials once that long has
   * passed since the last dial began, so one attempt's delay must stay the same until the next
   * dial: it is drawn anew at each dial ('reconnecting') and reset on 'reconnect'.
   */
  private reconnectDelay: number
  private timing: LinkTiming = DEFAULT_LINK_TIMING
  /** The desired-state watch running now: stopped on a reconnect, so that a new one is made at once. */
  private desiredWatch: { stop(): void } | null = null
  /** This connection's liveness (nats.js' own pings are off: they cannot ride along with heartbeats). */
  private watchdog: LinkWatchdog | null = null

  constructor(private readonly options: NatsTransportOptions) {
    this.logger = options.logger.child({ component: 'nats' })
    this.backoff = new ReconnectBackoff(() => options.hints?.current() ?? null)
    this.reconnectDelay = this.backoff.next()
  }

  get connected(): boolean {
    return this.isUp
  }

  start(handlers: TransportHandlers, timing: LinkTiming = DEFAULT_LINK_TIMING): void {
    this.timing = timing
    // connect() rejects when the server refuses the credentials for good (a revoked node):
    // say so instead of crashing the agent with an unhandled rejection; containers keep running.
    this.run(handlers).catch((error: unknown) => {
      this.isUp = false
      if (!this.closing) this.logger.error({ err: error }, 'cannot connect to NATS; working from the local store')
    })
  }

  private async run(handlers: TransportHandlers): Promise<void> {
    const { servers, nodeId, credentials } = this.options
    const nc = await connect({
      servers: [...servers],
      name: `shoal-agent-${nodeId}`,
      inboxPrefix: natsInboxPrefix(nodeId),
      maxReconnectAttempts: -1,
      waitOnFirstConnect: true,
      reconnectDelayHandler: () => this.reconnectDelay,
      // Off (the longest timer Node takes): LinkWatchdog pings instead, with heartbeats.
      pingInterval: NATS_OWN_PINGS_OFF_MS,
      ...(credentials.username ? { user: credentials.username } : {}),
      ...(credentials.password ? { pass: credentials.password } : {}),
    })
    if (this.closing) {
      await nc.close()
      return
    }
    this.connection = nc
    this.watchdog = new LinkWatchdog({
      periodMs: this.timing.natsPingIntervalMs,
      timing: this.timing,
      probe: () => nc.flush(),
      dead: () => {
        this.logger.warn('no PONG from NATS within 1.5 ping periods; reconnecting')
        nc.reconnect().catch((error: unknown) => this.logger.debug({ err: error }, 'NATS reconnect refused'))
      },
    })
    for (const channel of ['ack', 'logs-request', 'session-in'] as const) {
      const sub = nc.subscribe(natsSubject(nodeId, channel), {
        callback: (error, message) => {
          if (error) {
            this.logger.warn({ err: error, channel }, 'subscription error')
            return
          }
          const payload = Buffer.from(message.data)
          if (channel === 'ack' && this.options.hints?.offer(payload)) return
          handlers.onMessage(channel, payload)
        },
      })
      this.subscriptions.push(sub)
    }
    this.up(handlers)
    void this.watchDesired(nc, handlers)
    void nc.closed().then((error) => {
      this.isUp = false
      if (!this.closing) this.logger.error({ err: error }, 'NATS connection closed for good')
    })
    for await (const status of nc.status()) {
      if (status.type === 'disconnect') {
        this.watchdog?.down()
        this.isUp = false
        handlers.onDisconnected('disconnected')
      } else if (status.type === 'reconnecting') {
        this.reconnectDelay = this.backoff.next()
        this.logger.debug({ retryInMs: this.reconnectDelay, hintedCapMs: this.options.hints?.current() ?? null }, 'dialing NATS; the next try waits')
      } else if (status.type === 'reconnect') {
        this.backoff.reset()
        this.reconnectDelay = this.backoff.next()
        // A restarted server has lost the watch's consumer, and nats.js would notice only after two
        // missed idle heartbeats (watchIdleHeartbeatMs, minutes on the shipped profiles), then fail to
        // remake it through a subject nodes may not use. A new watch binds at once; it delivers the
        // latest value first, and generations make a repeat harmless.
        this.desiredWatch?.stop()
        this.up(handlers)
      }
    }
  }

  private up(handlers: TransportHandlers): void {
    this.isUp = true
    this.watchdog?.up()
    this.logger.info('connected to NATS')
    this.connection?.publish(natsSubject(this.options.nodeId, 'presence'), this.options.online())
    handlers.onConnected()
  }

  /** Binds to the hub's bucket (retrying until the hub has made it) and feeds every value of this node's key. */
  private async watchDesired(nc: NatsConnection, handlers: TransportHandlers): Promise<void> {
    while (!this.closing) {
      try {
        // checkAPI off: binding needs no account info, so nodes are not granted $JS.API.INFO
        const kv: KV = await nc.jetstream({ checkAPI: false }).views.kv(NATS_DESIRED_BUCKET, { bindOnly: true })
        slowWatchHeartbeat(kv, watchHeartbeatMs(this.timing, this.options.servers.length))
        const watch = await kv.watch({ key: natsDesiredKey(this.options.nodeId) })
        this.desiredWatch = watch
        for await (const entry of watch) {
          if (entry.operation === 'PUT') handlers.onMessage('desired', Buffer.from(entry.value))
        }
        if (this.desiredWatch === watch) this.desiredWatch = null
        // The watch ended (connection recycled): watch again; generations make repeats harmless.
      } catch (error) {
        if (this.closing) return
        this.logger.warn({ err: error }, `cannot watch desired state yet; retrying in ${KV_RETRY_MS / 1000}s`)
        await new Promise((resolve) => setTimeout(resolve, KV_RETRY_MS).unref())
      }
    }
  }

  publish(channel: OutboundChannel, payload: Buffer): Promise<void> {
    const nc = this.connection
    if (!nc || !this.isUp) return Promise.reject(new NotConnectedError(channel))
    try {
      nc.publish(natsSubject(this.options.nodeId, channel), payload)
      // In the same write as the heartbeat (nats.js sends what is pending when it writes a PING).
      if (channel === 'heartbeat') this.watchdog?.alongside()
      return Promise.resolve()
    } catch (error) {
      return Promise.reject(error as Error)
    }
  }

  async close(goodbye?: Buffer): Promise<void> {
    this.closing = true
    this.watchdog?.down()
    const nc = this.connection
    if (!nc) return
    if (goodbye && this.isUp) {
      nc.publish(natsSubject(this.options.nodeId, 'presence'), goodbye)
    }
    for (const sub of this.subscriptions) sub.unsubscribe()
    await drainOrClose(nc, this.logger)
  }
}

/**
 * nats.js 2.29's KV watch asks its consumer for an idle heartbeat every 5 s with no option to
 * change it; its consumer config comes from the bucket's `_buildCC`, wrapped here for this one
 * bucket view so the watch asks for `everyMs` instead. Left as it is if a nats.js version has no
 * such method (the watch then works, only with more idle bytes).
 */
export function slowWatchHeartbeat(kv: KV, everyMs: number): boolean {
  const view = kv as unknown as { _buildCC?: (...args: unknown[]) => Record<string, unknown> }
  const build = view._buildCC
  if (typeof build !== 'function') return false
  view._buildCC = (...args: unknown[]) => ({ ...build.apply(kv, args), idle_heartbeat: everyMs * 1_000_000 })
  return true
}

/**
 * The desired watch's idle heartbeat. On one server, four keepalive periods (LinkTiming): a
 * consumer lost on a live connection is rare there. On a cluster it is what losing the stream's
 * leader does to a node that stays connected to another server, and nats.js notices only after two
 * missed heartbeats, so the watch beats once a keepalive period: about 11 KB an hour more at a 30 s
 * heartbeat, for a new watch within about two periods (docs/brokers.md). Pure.
 */
export function watchHeartbeatMs(timing: Pick<LinkTiming, 'watchIdleHeartbeatMs' | 'natsPingIntervalMs'>, serverCount: number): number {
  return serverCount > 1 ? Math.min(timing.watchIdleHeartbeatMs, timing.natsPingIntervalMs) : timing.watchIdleHeartbeatMs
}

import { connect, type KV, type NatsConnection } from 'nats'
import type { Logger } from 'pino'
import { drainOrClose } from '../../common/nats/close-connection.js'
import { AGENT_PUBLISHED, NATS_DESIRED_BUCKET, natsDesiredKey, natsSubject, natsWildcard, parseNatsSubject } from '../../protocol/index.js'
import type { HubInboundChannel, HubTransport, HubTransportHandlers } from './hub-transport.js'
import { NatsConsumerWarden } from './nats-consumer-warden.js'

export interface NatsHubTransportOptions {
  /** nats://user:pass@host:4222 with the hub's own credentials. */
  readonly url: string
  readonly advertisedUrl?: string
  readonly logger: Logger
}

/**
 * The hub on NATS: desired documents in a JetStream KV bucket (history 1: latest value only),
 * reports and acks over core subjects. NATS has no will message: presence falls back to
 * heartbeats and the agents' own presence messages.
 */
export class NatsHubTransport implements HubTransport {
  readonly kind = 'nats'
  private connection: NatsConnection | null = null
  private kv: KV | null = null
  private readonly logger: Logger
  private readonly warden: NatsConsumerWarden

  constructor(private readonly options: NatsHubTransportOptions) {
    this.logger = options.logger.child({ component: 'nats-hub' })
    this.warden = new NatsConsumerWarden({ logger: this.logger })
  }

  get advertisedUrl(): string {
    if (this.options.advertisedUrl) return this.options.advertisedUrl
    const url = new URL(this.options.url)
    return `nats://${url.host}`
  }

  async start(handlers: HubTransportHandlers): Promise<void> {
    const url = new URL(this.options.url)
    const nc = await connect({
      servers: url.host,
      name: 'shoal-hub',
      maxReconnectAttempts: -1,
      reconnectTimeWait: 1_000,
      ...(url.username ? { user: decodeURIComponent(url.username) } : {}),
      ...(url.password ? { pass: decodeURIComponent(url.password) } : {}),
    })
    this.connection = nc
    void this.watchStatus(nc, handlers)
    this.kv = await nc.jetstream().views.kv(NATS_DESIRED_BUCKET, { history: 1 })
    const jsm = await nc.jetstreamManager()
    this.warden.start(nc, jsm)
    void this.warden.sweepNow(jsm)
    for (const channel of AGENT_PUBLISHED) {
      nc.subscribe(natsWildcard(channel), {
        callback: (error, message) => {
          if (error) {
            this.logger.warn({ err: error, channel }, 'subscription error')
            return
          }
          const parsed = parseNatsSubject(message.subject)
          if (parsed?.channel === 'session-out') handlers.onSessionFrame(parsed.nodeId, Buffer.from(message.data))
          else if (parsed) handlers.onMessage(parsed.nodeId, parsed.channel as HubInboundChannel, Buffer.from(message.data))
        },
      })
    }
    this.logger.info({ url: this.advertisedUrl }, 'connected to NATS')
  }

  async publishDesired(nodeId: string, payload: Buffer): Promise<void> {
    if (!this.kv) throw new Error('NATS transport is not started')
    await this.kv.put(natsDesiredKey(nodeId), payload)
  }

  publishAck(nodeId: string, payload: Buffer): Promise<void> {
    return this.publish(natsSubject(nodeId, 'ack'), payload)
  }

  publishLogRequest(nodeId: string, payload: Buffer): Promise<void> {
    return this.publish(natsSubject(nodeId, 'logs-request'), payload)
  }

  publishSession(nodeId: string, frame: Buffer): Promise<void> {
    return this.publish(natsSubject(nodeId, 'session-in'), frame)
  }

  disconnectNode(nodeId: string): void {
    // nats-server drops the node when it reloads the regenerated authorization (`--broker-auth-dir`).
    this.logger.info({ nodeId }, 'revoked; nats-server cuts the live connection when it reloads its users')
  }

  private async watchStatus(nc: NatsConnection, handlers: HubTransportHandlers): Promise<void> {
    for await (const status of nc.status()) if (status.type === 'disconnect') handlers.onLinkDown?.('the hub lost its connection to NATS')
  }

  async close(): Promise<void> {
    await this.warden.stop()
    if (this.connection) await drainOrClose(this.connection, this.logger)
  }

  private publish(subject: string, payload: Buffer): Promise<void> {
    if (!this.connection) return Promise.reject(new Error('NATS transport is not started'))
    this.connection.publish(subject, payload)
    return Promise.resolve()
  }
}

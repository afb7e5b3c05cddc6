import { connect, type JetStreamManager, type KV, type NatsConnection } from 'nats'
import type { Logger } from 'pino'
import { drainOrClose } from '../../common/nats/close-connection.js'
import { formatNatsServerList, parseNatsServerList, type NatsServerList } from '../../common/nats/nats-servers.js'
import { AGENT_PUBLISHED, NATS_DESIRED_BUCKET, natsDesiredKey, natsSubject, natsWildcard, parseNatsSubject } from '../../protocol/index.js'
import type { HubInboundChannel, HubTransport, HubTransportHandlers } from './hub-transport.js'
import { whenJetStreamAnswers } from './jetstream-ready.js'
import { NatsConsumerWarden } from './nats-consumer-warden.js'

export interface NatsHubTransportOptions {
  /** nats://user:pass@host:4222 with the hub's own credentials, or several such URLs separated by commas (a cluster). */
  readonly url: string
  readonly advertisedUrl?: string
  /** How many servers keep a copy of the desired-state bucket (`--nats-replicas`; 1 on a single server, 3 on a 3-server cluster). */
  readonly replicas?: number
  readonly logger: Logger
}

/** JetStream's stream behind the desired-state KV bucket. */
const DESIRED_STREAM = `KV_${NATS_DESIRED_BUCKET}`

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
  private readonly servers: NatsServerList
  private readonly replicas: number

  constructor(private readonly options: NatsHubTransportOptions) {
    this.logger = options.logger.child({ component: 'nats-hub' })
    this.warden = new NatsConsumerWarden({ logger: this.logger })
    this.servers = parseNatsServerList(options.url)
    this.replicas = options.replicas ?? 1
  }

  /** Every server the hub was given, without credentials: agents get the whole list, so they fail over as the hub does. */
  get advertisedUrl(): string {
    return this.options.advertisedUrl ?? formatNatsServerList({ servers: this.servers.servers })
  }

  async start(handlers: HubTransportHandlers): Promise<void> {
    const { servers, user, pass } = this.servers
    const nc = await connect({
      servers: [...servers],
      name: 'shoal-hub',
      maxReconnectAttempts: -1,
      reconnectTimeWait: 1_000,
      ...(user !== undefined ? { user } : {}),
      ...(pass !== undefined ? { pass } : {}),
    })
    this.connection = nc
    void this.watchStatus(nc, handlers)
    const jsm = await whenJetStreamAnswers(
      'opening the desired-state bucket',
      async () => {
        this.kv = await nc.jetstream().views.kv(NATS_DESIRED_BUCKET, { history: 1, replicas: this.replicas })
        const manager = await nc.jetstreamManager()
        await this.keepReplicas(manager)
        return manager
      },
      { logger: this.logger },
    )
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
    this.logger.info({ url: this.advertisedUrl, replicas: this.replicas }, 'connected to NATS')
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

  /**
   * nats.js creates the bucket with the replicas asked for but leaves an existing one as it is:
   * a hub moved from one server to a cluster (or told a new `--nats-replicas`) updates the
   * stream, which nats-server 2.9 does in place on a cluster.
   */
  private async keepReplicas(jsm: JetStreamManager): Promise<void> {
    const info = await jsm.streams.info(DESIRED_STREAM)
    const held = info.config.num_replicas
    if (held === this.replicas) return
    try {
      await jsm.streams.update(DESIRED_STREAM, { ...info.config, num_replicas: this.replicas })
      this.logger.info({ stream: DESIRED_STREAM, from: held, to: this.replicas }, 'changed the replicas of the desired-state bucket')
    } catch (error) {
      // The bucket works as it is: run on, and say what the operator asked for that the cluster refused.
      this.logger.error(
        { err: error, stream: DESIRED_STREAM, held, wanted: this.replicas },
        `cannot change the desired-state bucket from ${held} to ${this.replicas} replicas; running with ${held}`,
      )
    }
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

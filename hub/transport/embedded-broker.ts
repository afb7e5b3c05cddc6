import { Aedes, type AuthenticateError, type Client } from 'aedes'
import { createServer, type Server, type Socket } from 'node:net'
import { createServer as createTlsServer } from 'node:tls'
import type { Logger } from 'pino'
import { AGENT_PUBLISHED, HUB_PUBLISHED, mqttTopic, mqttWildcard, parseMqttTopic, type Channel } from '../../protocol/index.js'
import type { HubInboundChannel, HubTransport, HubTransportHandlers } from './hub-transport.js'
import { MAX_NODE_PACKET_BYTES, MqttPacketSizeGuard } from './mqtt-packet-guard.js'

export interface EmbeddedBrokerOptions {
  readonly host: string
  readonly port: number
  /** Host agents should dial (defaults to the listen host). */
  readonly advertisedHost?: string
  /** PEM certificate chain and key: agents then dial mqtts:// (TLS) instead of mqtt://. */
  readonly tls?: { readonly cert: string; readonly key: string }
  readonly logger: Logger
  /** The node these credentials belong to, or null; async so password hashing stays off the event loop. */
  readonly authenticate: (username: string, password: string) => Promise<string | null>
}

const AGENT_CLIENT_PREFIX = 'shoal-agent-'

/**
 * aedes inside the hub process. Every client is a node with its own credentials, bound to its
 * client id; it may subscribe only to its own hub-published topics (desired, ack, logs-request,
 * session-in) and publish only to its own agent-published ones (outbox, heartbeat, presence,
 * logs-chunk, session-out). The hub itself publishes and
 * subscribes in-process, bypassing the network and the ACL.
 */
export class EmbeddedBroker implements HubTransport {
  readonly kind = 'embedded'
  private broker: Aedes | null = null
  private server: Server | null = null
  private readonly logger: Logger
  private boundPort = 0
  /** The node each admitted client authenticated as; per broker, gone with the client. */
  private readonly nodeOfClient = new WeakMap<Client, string>()

  constructor(private readonly options: EmbeddedBrokerOptions) {
    this.logger = options.logger.child({ component: 'broker' })
  }

  get advertisedUrl(): string {
    return `${this.options.tls ? 'mqtts' : 'mqtt'}://${this.options.advertisedHost ?? this.options.host}:${this.boundPort || this.options.port}`
  }

  get port(): number {
    return this.boundPort
  }

  async start(handlers: HubTransportHandlers): Promise<void> {
    const broker = await Aedes.createBroker({
      drainTimeout: 10_000,
      authenticate: (client, username, password, done) => {
        const check = username && password ? this.options.authenticate(username, password.toString()) : Promise.resolve(null)
        check.then(
          (nodeId) => this.admit(client, username, nodeId, done),
          (error: unknown) => {
            this.logger.error({ err: error, clientId: client.id, username }, 'cannot check credentials; refusing the connection')
            const refusal = new Error('server unavailable') as AuthenticateError
            refusal.returnCode = 3
            done(refusal, false)
          },
        )
      },
      authorizeSubscribe: (client, subscription, done) => {
        const nodeId = this.nodeOfClient.get(client)
        if (nodeId && isOwnTopic(subscription.topic, nodeId, HUB_PUBLISHED)) {
          done(null, subscription)
          return
        }
        this.logger.warn({ clientId: client.id, topic: subscription.topic }, "refused subscription outside the node's own topics")
        done(null, null)
      },
      authorizePublish: (client, packet, done) => {
        const nodeId = client ? this.nodeOfClient.get(client) : undefined
        if (nodeId && isOwnTopic(packet.topic, nodeId, AGENT_PUBLISHED)) {
          done(null)
          return
        }
        this.logger.warn({ clientId: client?.id, topic: packet.topic }, "refused publish outside the node's own topics; closing its connection")
        done(new Error('not authorized'))
      },
      // Defence in depth: never deliver another node's message, retained ones included.
      authorizeForward: (client, packet) => {
        const nodeId = this.nodeOfClient.get(client)
        return nodeId && isOwnTopic(packet.topic, nodeId, HUB_PUBLISHED) ? packet : null
      },
    })
    this.broker = broker
    broker.on('clientReady', (client) => {
      const nodeId = this.nodeOfClient.get(client)
      if (nodeId) handlers.onNodeConnected(nodeId)
    })
    broker.on('clientDisconnect', (client) => {
      const nodeId = this.nodeOfClient.get(client)
      if (nodeId) handlers.onNodeDisconnected(nodeId)
    })
    for (const channel of AGENT_PUBLISHED) {
      await new Promise<void>((resolve) =>
        broker.subscribe(
          mqttWildcard(channel),
          (packet, callback) => {
            const parsed = parseMqttTopic(packet.topic)
            if (parsed?.channel === 'session-out') handlers.onSessionFrame(parsed.nodeId, Buffer.from(packet.payload as Buffer))
            else if (parsed) handlers.onMessage(parsed.nodeId, parsed.channel as HubInboundChannel, Buffer.from(packet.payload as Buffer))
            callback()
          },
          resolve,
        ),
      )
    }
    const accept = (socket: Socket): void => {
      // Small frames (a remote session's keystrokes) must not wait for Nagle's algorithm (up to 40 ms a hop).
      socket.setNoDelay(true)
      this.guardPacketSizes(socket, broker.handle(socket))
    }
    const server = this.options.tls ? createTlsServer({ cert: this.options.tls.cert, key: this.options.tls.key }, accept) : createServer(accept)
    this.server = server
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(this.options.port, this.options.host, () => {
        server.off('error', reject)
        resolve()
      })
    })
    const address = server.address()
    this.boundPort = typeof address === 'object' && address ? address.port : this.options.port
    this.logger.info({ url: this.advertisedUrl }, 'embedded MQTT broker listening')
  }

  /**
   * Closes a connection at the fixed header of a packet larger than any node sends, before
   * aedes buffers its body (it would take up to 256 MB). aedes parses through `client._parser`,
   * fed from `conn.read()` on 'readable'; wrapping that parser right after `handle` (no data has
   * been read yet) sees every byte in order.
   */
  private guardPacketSizes(socket: Socket, client: Client): void {
    const parser = (client as Client & { _parser?: { parse(buf: Buffer): unknown } })._parser
    if (!parser) throw new Error('aedes client without a parser: the packet size guard needs updating for this aedes version')
    const guard = new MqttPacketSizeGuard()
    const parse = parser.parse.bind(parser)
    parser.parse = (buf: Buffer) => {
      const verdict = guard.feed(buf)
      if (verdict === null) return parse(buf)
      this.logger.warn(
        { remoteAddress: socket.remoteAddress, clientId: client.id ?? null, ...verdict, maxPacketBytes: MAX_NODE_PACKET_BYTES },
        'tooLarge' in verdict
          ? `closing a connection that sent an MQTT packet of ${verdict.tooLarge} bytes (a node sends at most ${MAX_NODE_PACKET_BYTES})`
          : `closing a connection that sent a malformed MQTT packet: ${verdict.malformed}`,
      )
      socket.destroy()
      return undefined
    }
  }

  publishDesired(nodeId: string, payload: Buffer): Promise<void> {
    return this.publish(mqttTopic(nodeId, 'desired'), payload, true)
  }

  publishAck(nodeId: string, payload: Buffer): Promise<void> {
    return this.publish(mqttTopic(nodeId, 'ack'), payload, false)
  }

  publishLogRequest(nodeId: string, payload: Buffer): Promise<void> {
    return this.publish(mqttTopic(nodeId, 'logs-request'), payload, false)
  }

  publishSession(nodeId: string, frame: Buffer): Promise<void> {
    return this.publish(mqttTopic(nodeId, 'session-in'), frame, false, 0)
  }

  disconnectNode(nodeId: string): void {
    const broker = this.broker as (Aedes & { clients?: Record<string, Client> }) | null
    const client = broker?.clients?.[`${AGENT_CLIENT_PREFIX}${nodeId}`]
    if (client) {
      this.logger.info({ nodeId }, "closing a revoked node's connection")
      client.close()
    }
  }

  async close(): Promise<void> {
    const server = this.server
    const broker = this.broker
    // The broker first: it ends every client connection, which lets the server close.
    if (broker) await new Promise<void>((resolve) => broker.close(() => resolve()))
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()))
  }

  /** Admits a client whose credentials name `nodeId`, if its client id is that node's. */
  private admit(
    client: Client,
    username: string | undefined,
    nodeId: string | null,
    done: (error: AuthenticateError | null, success: boolean | null) => void,
  ): void {
    if (!nodeId || client.id !== `${AGENT_CLIENT_PREFIX}${nodeId}`) {
      const error = new Error(nodeId ? `client id must be ${AGENT_CLIENT_PREFIX}${nodeId}` : 'bad username or password') as AuthenticateError
      error.returnCode = nodeId ? 2 : 4
      this.logger.warn({ clientId: client.id, username }, `refused connection: ${error.message}`)
      done(error, false)
      return
    }
    this.nodeOfClient.set(client, nodeId)
    done(null, true)
  }

  private publish(topic: string, payload: Buffer, retain: boolean, qos: 0 | 1 = 1): Promise<void> {
    const broker = this.broker
    if (!broker) return Promise.reject(new Error('embedded broker is not running'))
    return new Promise((resolve, reject) =>
      broker.publish({ cmd: 'publish', topic, payload, qos, retain, dup: false }, (error) => (error ? reject(error) : resolve())),
    )
  }
}

function isOwnTopic(topic: string, nodeId: string, channels: readonly Channel[]): boolean {
  const parsed = parseMqttTopic(topic)
  return parsed !== null && parsed.nodeId === nodeId && channels.includes(parsed.channel)
}

import { endWithin } from '../../common/mqtt/end-client.js'
import mqtt, { type MqttClient } from 'mqtt'
import type { Logger } from 'pino'
import { mqttTopic, parseMqttTopic } from '../../protocol/index.js'
import { ReconnectBackoff } from './backoff.js'
import { DEFAULT_LINK_TIMING, type LinkTiming, ownPingMs, probeRidesAlong } from './link-timing.js'
import type { ReconnectHints } from './reconnect-hint.js'
import { RepeatedFailureLog } from './repeated-failure-log.js'
import { describeClockCertError, isClockCertError, peerCertificateWindow } from './tls-clock.js'
import {
  BEST_EFFORT_CHANNELS,
  NotConnectedError,
  type AgentTransport,
  type BrokerCredentials,
  type InboundChannel,
  type OutboundChannel,
  type TransportHandlers,
} from './transport.js'

const INBOUND: readonly InboundChannel[] = ['desired', 'ack', 'logs-request', 'session-in']

export interface MqttTransportOptions {
  readonly url: string
  readonly nodeId: string
  readonly credentials: BrokerCredentials
  readonly logger: Logger
  /** The retained "offline" presence the broker publishes if this node vanishes. */
  readonly will: Buffer
  readonly online: () => Buffer
  /** The hub's reconnect hint; without one the default backoff applies (250 ms doubling to 60 s). */
  readonly hints?: ReconnectHints
}

/**
 * MQTT 3.1.1 (what aedes, Mosquitto and NATS' MQTT listener all speak) with a persistent
 * session: stable client id, clean=false, QoS 1 subscriptions. Desired documents arrive as
 * retained messages, so every (re)subscribe delivers the latest one.
 */
export class MqttTransport implements AgentTransport {
  readonly kind = 'mqtt'
  private client: MqttClient | null = null
  private readonly backoff: ReconnectBackoff
  /** The clock-related TLS failure already explained since the last connect: said once, not per retry. */
  private explainedCertError: string | null = null
  private readonly logger: Logger
  private readonly failures = new RepeatedFailureLog()
  /** null before the first attempt settles: the first failure then counts as the link going down. */
  private linkUp: boolean | null = null
  private timing: LinkTiming = DEFAULT_LINK_TIMING
  /** When the last PINGREQ rode along with a heartbeat (performance.now()), on this connection. */
  private lastProbeAt = 0

  constructor(private readonly options: MqttTransportOptions) {
    this.logger = options.logger.child({ component: 'mqtt' })
    this.backoff = new ReconnectBackoff(() => options.hints?.current() ?? null)
  }

  get connected(): boolean {
    return this.client?.connected ?? false
  }

  start(handlers: TransportHandlers, timing: LinkTiming = DEFAULT_LINK_TIMING): void {
    const { nodeId, credentials } = this.options
    this.timing = timing
    const client = mqtt.connect(this.options.url, {
      clientId: `shoal-agent-${nodeId}`,
      clean: false,
      protocolVersion: 4,
      keepalive: timing.mqttKeepaliveSeconds,
      // A hub busy with a fleet joining can take longer than mqtt.js' old 10 s to answer a
      // CONNECT; giving up sooner only adds a reconnect (and a presence flap) to its load.
      connectTimeout: 30_000,
      // Replaced before every reconnect (the 'close' listener below); not used before then.
      reconnectPeriod: 1_000,
      reconnectOnConnackError: true,
      queueQoSZero: false,
      resubscribe: false,
      // mqtt-packet otherwise builds a 2-byte Buffer for each of the 65,536 packet ids up front:
      // 6 MiB of the agent's heap for good (docs/benchmarks.md, section 1), to save an allocation
      // per packet the agent sends a few times a minute.
      writeCache: false,
      ...(credentials.username ? { username: credentials.username } : {}),
      ...(credentials.password ? { password: credentials.password } : {}),
      will: { topic: mqttTopic(nodeId, 'presence'), payload: this.options.will, qos: 1, retain: true },
    })
    this.client = client
    client.on('connect', (connack) => {
      this.backoff.reset()
      this.failures.reset()
      this.linkUp = true
      this.explainedCertError = null
      // The CONNECT's keepalive stays the profile's (the broker drops a client silent for 1.5 of
      // it); mqtt.js' own ping moves to 1.25 of it while PINGREQs ride with heartbeats, so that
      // it never goes alone while they are answered (link-timing.ts says what this trades).
      this.lastProbeAt = performance.now()
      client.keepaliveManager?.setKeepalive(ownPingMs(timing.mqttKeepaliveSeconds * 1000, timing) / 1000)
      // A remote session's keystrokes are small frames: Nagle's algorithm would hold each one up
      // to 40 ms waiting for the broker's ack of the one before (docs/benchmarks.md, section 10).
      ;(client.stream as { setNoDelay?: (noDelay: boolean) => void }).setNoDelay?.(true)
      this.logger.info({ sessionPresent: connack.sessionPresent }, 'connected to broker')
      // Always resubscribe: the broker then re-sends the retained desired document.
      // Session frames at QoS 0: the broker neither queues them for an offline node nor redelivers them.
      const subscriptions = Object.fromEntries(
        INBOUND.map((channel) => [mqttTopic(nodeId, channel), { qos: BEST_EFFORT_CHANNELS.includes(channel) ? (0 as const) : (1 as const) }]),
      )
      client.subscribe(subscriptions, (error, granted) => {
        // mqtt.js 5 reports a SUBACK refusal (0x80) as an error, so both paths name the ACL.
        const refused = (granted ?? []).filter((g) => g.qos === 128).map((g) => g.topic)
        if (error || refused.length > 0) {
          this.logger.error({ err: error ?? undefined, topics: refused }, "broker refused subscriptions (check this node's credentials and ACL)")
        }
      })
      client.publish(mqttTopic(nodeId, 'presence'), this.options.online(), { qos: 1, retain: true }, () => undefined)
      handlers.onConnected()
    })
    client.on('message', (topic, payload) => {
      const parsed = parseMqttTopic(topic)
      if (!parsed || parsed.nodeId !== nodeId || !(INBOUND as readonly string[]).includes(parsed.channel)) {
        this.logger.warn({ topic }, 'ignoring a message on an unexpected topic')
        return
      }
      if (parsed.channel === 'ack' && this.options.hints?.offer(payload)) return
      handlers.onMessage(parsed.channel as InboundChannel, payload)
    })
    // Before mqtt.js' own 'close' listener, which arms the reconnect timer with whatever
    // reconnectPeriod holds then: so this attempt's jittered backoff is the one used, not the
    // previous one's.
    client.prependListener('close', () => {
      client.options.reconnectPeriod = this.backoff.next()
      this.logger.debug({ retryInMs: client.options.reconnectPeriod, hintedCapMs: this.options.hints?.current() ?? null }, 'broker connection closed; retrying')
      // Once per outage, not per failed attempt.
      if (this.linkUp !== false) handlers.onDisconnected('connection closed')
      this.linkUp = false
    })
    client.on('error', (error) => {
      if (isClockCertError(error)) {
        this.explainClockCertError(error.code)
        return
      }
      const { warn, heldBack } = this.failures.next(error.message, performance.now())
      if (warn) this.logger.warn({ err: error, ...(heldBack > 0 ? { similarSinceLastWarning: heldBack } : {}) }, 'broker connection error')
      else this.logger.debug({ err: error }, 'broker connection error (repeated)')
    })
  }

  /** A certificate refused for its dates is most often this node's clock: say so, with both times. */
  private explainClockCertError(code: string): void {
    if (this.explainedCertError === code) {
      this.logger.debug({ code }, 'broker certificate still refused for its dates')
      return
    }
    this.explainedCertError = code
    const url = new URL(this.options.url)
    const nodeTime = new Date()
    void peerCertificateWindow(url.hostname.replace(/^\[|\]$/g, ''), Number(url.port || 8883)).then((window) =>
      this.logger.error({ code, nodeTime: nodeTime.toISOString(), certificate: window }, describeClockCertError(code, nodeTime, window)),
    )
  }

  publish(channel: OutboundChannel, payload: Buffer, options: { retain?: boolean } = {}): Promise<void> {
    const client = this.client
    if (!client?.connected) return Promise.reject(new NotConnectedError(channel))
    const qos = BEST_EFFORT_CHANNELS.includes(channel) ? 0 : 1
    return new Promise((resolve, reject) => {
      client.publish(mqttTopic(this.options.nodeId, channel), payload, { qos, retain: options.retain ?? false }, (error) => (error ? reject(error) : resolve()))
      // Written in the same tick, so in the same TCP segment (mqtt-packet corks the socket until
      // the next tick); its PINGRESP reschedules mqtt.js' own ping and carries the broker's ack.
      if (channel === 'heartbeat' && probeRidesAlong(performance.now(), this.lastProbeAt, this.timing)) {
        this.lastProbeAt = performance.now()
        client.sendPing()
      }
    })
  }

  async close(goodbye?: Buffer): Promise<void> {
    const client = this.client
    if (!client) return
    if (goodbye && client.connected) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 2_000)
        client.publish(mqttTopic(this.options.nodeId, 'presence'), goodbye, { qos: 1, retain: true }, () => {
          clearTimeout(timer)
          resolve()
        })
      })
    }
    await endWithin(client, this.logger)
  }
}

import type { Channel } from '../../protocol/index.js'
import type { LinkTiming } from './link-timing.js'

export type InboundChannel = Extract<Channel, 'desired' | 'ack' | 'logs-request' | 'session-in'>
export type OutboundChannel = Extract<Channel, 'outbox' | 'heartbeat' | 'presence' | 'logs-chunk' | 'session-out'>

/**
 * Session frames travel at most once, best effort (MQTT QoS 0, core NATS), never retained and
 * never queued offline: a frame lost ends its session (sequence numbers), it is never replayed.
 */
export const BEST_EFFORT_CHANNELS: readonly Channel[] = ['heartbeat', 'session-in', 'session-out']

export interface TransportHandlers {
  onMessage(channel: InboundChannel, payload: Buffer): void
  onConnected(): void
  onDisconnected(reason: string): void
}

/**
 * The agent's link to the hub, MQTT or NATS. It reconnects forever with jittered backoff and
 * never queues outbound messages in memory while offline: durability is the outbox's job.
 */
export interface AgentTransport {
  readonly kind: 'mqtt' | 'nats'
  readonly connected: boolean
  /** Connects (and keeps reconnecting); `timing` sets how often an idle link speaks (default DEFAULT_LINK_TIMING). */
  start(handlers: TransportHandlers, timing?: LinkTiming): void
  /** Rejects at once when offline, so callers retry from their own durable store. */
  publish(channel: OutboundChannel, payload: Buffer, options?: { retain?: boolean }): Promise<void>
  /** Says goodbye (presence offline) when it can, then closes. */
  close(goodbye?: Buffer): Promise<void>
}

export class NotConnectedError extends Error {
  readonly code = 'not-connected'
  constructor(what: string) {
    super(`not connected to the hub's broker; ${what} stays queued`)
    this.name = 'NotConnectedError'
  }
}

export interface BrokerCredentials {
  readonly username?: string
  readonly password?: string
}

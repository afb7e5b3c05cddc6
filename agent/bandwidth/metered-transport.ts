import type { Channel, TrafficCategory } from '../../protocol/index.js'
import type { AgentTransport } from '../transport/transport.js'

/** The category each channel's payloads count under; the mapped type makes a new channel fail to compile until it has one. */
export const CHANNEL_CATEGORY = {
  desired: 'control',
  presence: 'control',
  outbox: 'status',
  ack: 'status',
  heartbeat: 'status',
  'logs-request': 'logs',
  'logs-chunk': 'logs',
  'session-in': 'sessions',
  'session-out': 'sessions',
} as const satisfies { readonly [C in Channel]: TrafficCategory }

/**
 * The agent's link with every payload it sends (once the broker took it) and receives counted
 * under its channel's category. Application bytes: the broker protocol's own framing, keepalives
 * and TLS are not in them (the wire benchmark measures those), nor the presence the transport
 * publishes by itself on connect.
 */
export function meteredTransport(transport: AgentTransport, count: (category: TrafficCategory, bytes: number) => void): AgentTransport {
  return {
    get kind() {
      return transport.kind
    },
    get connected() {
      return transport.connected
    },
    // The timing goes through: without it the link fell back to DEFAULT_LINK_TIMING (pings every
    // 30 s, NATS' desired watch every 5 s), four times the idle bytes the profile asks for.
    start: (handlers, timing) =>
      transport.start(
        {
          ...handlers,
          onConnected: () => handlers.onConnected(),
          onDisconnected: (reason) => handlers.onDisconnected(reason),
          onMessage: (channel, payload) => {
            count(CHANNEL_CATEGORY[channel], payload.length)
            handlers.onMessage(channel, payload)
          },
        },
        timing,
      ),
    publish: async (channel, payload, options) => {
      await transport.publish(channel, payload, options)
      count(CHANNEL_CATEGORY[channel], payload.length)
    },
    close: async (goodbye) => {
      await transport.close(goodbye)
      if (goodbye) count('control', goodbye.length)
    },
  }
}

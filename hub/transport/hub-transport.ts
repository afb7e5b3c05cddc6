import type { Channel } from '../../protocol/index.js'

export type HubInboundChannel = Extract<Channel, 'outbox' | 'heartbeat' | 'presence' | 'logs-chunk'>

export interface HubTransportHandlers {
  onMessage(nodeId: string, channel: HubInboundChannel, payload: Buffer): void
  /** A remote session frame from the node's `session-out` (raw, for the session relay, not the ingester). */
  onSessionFrame(nodeId: string, payload: Buffer): void
  /** The broker saw the node's connection end (when it can tell; NATS relies on heartbeats). */
  onNodeDisconnected(nodeId: string): void
  onNodeConnected(nodeId: string): void
  /** The hub lost its own broker connection (external brokers): frames in flight are gone, so live sessions end. */
  onLinkDown?(why: string): void
}

/**
 * The hub's side of the broker: latest-value desired documents out, agents' reports in. The
 * embedded aedes broker, an external MQTT broker and NATS JetStream each implement it.
 */
export interface HubTransport {
  readonly kind: 'embedded' | 'mqtt' | 'nats'
  /** The URL agents are told to connect to at enrollment. */
  readonly advertisedUrl: string
  start(handlers: HubTransportHandlers): Promise<void>
  /** Retained (MQTT) or KV (NATS): a node that connects later gets the latest document only. */
  publishDesired(nodeId: string, payload: Buffer): Promise<void>
  publishAck(nodeId: string, payload: Buffer): Promise<void>
  publishLogRequest(nodeId: string, payload: Buffer): Promise<void>
  /**
   * One remote session frame on the node's `session-in`: QoS 0 (MQTT) or a core publish (NATS),
   * never retained or queued while offline. Frames of one session arrive in the order published.
   */
  publishSession(nodeId: string, frame: Buffer): Promise<void>
  /** Cuts a revoked node's live connection, where the broker lets the hub do that. */
  disconnectNode(nodeId: string): void
  close(): Promise<void>
}

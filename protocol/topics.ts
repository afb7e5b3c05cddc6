import { NodeId } from './primitives.js'

/**
 * Every topic and subject name in one place, versioned. Node ids are restricted to
 * [a-z0-9-] by the schema, so they can never inject `/`, `.` or wildcards; building a name
 * checks that again, and parsing refuses anything else (a wildcard, a foreign topic).
 */
export const PROTOCOL_VERSION = 'v1'

/** Channels between hub and one node, and who publishes each. */
export const CHANNELS = {
  desired: 'hub',
  ack: 'hub',
  'logs-request': 'hub',
  outbox: 'agent',
  heartbeat: 'agent',
  presence: 'agent',
  'logs-chunk': 'agent',
  /** Remote sessions (protocol/session.ts): binary frames, never retained, never queued. */
  'session-in': 'hub',
  'session-out': 'agent',
} as const
export type Channel = keyof typeof CHANNELS

export const AGENT_PUBLISHED: readonly Channel[] = ['outbox', 'heartbeat', 'presence', 'logs-chunk', 'session-out']
export const HUB_PUBLISHED: readonly Channel[] = ['desired', 'ack', 'logs-request', 'session-in']

const MQTT_ROOT = `shoal/${PROTOCOL_VERSION}/nodes`
const NATS_ROOT = `shoal.${PROTOCOL_VERSION}.nodes`

export function isNodeId(nodeId: string): boolean {
  return NodeId.safeParse(nodeId).success
}

function assertNodeId(nodeId: string): void {
  if (!isNodeId(nodeId)) throw new RangeError(`not a node id: ${JSON.stringify(nodeId)} (lower-case letters, digits and "-")`)
}

export function mqttTopic(nodeId: string, channel: Channel): string {
  assertNodeId(nodeId)
  return `${MQTT_ROOT}/${nodeId}/${channel}`
}

/** The hub's subscription for one channel across all nodes. */
export function mqttWildcard(channel: Channel): string {
  return `${MQTT_ROOT}/+/${channel}`
}

export function parseMqttTopic(topic: string): { nodeId: string; channel: Channel } | null {
  const parts = topic.split('/')
  if (parts.length !== 5 || `${parts[0]}/${parts[1]}/${parts[2]}` !== MQTT_ROOT) return null
  const channel = parts[4] as Channel
  if (!Object.hasOwn(CHANNELS, channel) || !parts[3] || !isNodeId(parts[3])) return null
  return { nodeId: parts[3], channel }
}

export function natsSubject(nodeId: string, channel: Channel): string {
  assertNodeId(nodeId)
  return `${NATS_ROOT}.${nodeId}.${channel}`
}

export function natsWildcard(channel: Channel): string {
  return `${NATS_ROOT}.*.${channel}`
}

export function parseNatsSubject(subject: string): { nodeId: string; channel: Channel } | null {
  const parts = subject.split('.')
  if (parts.length !== 5 || `${parts[0]}.${parts[1]}.${parts[2]}` !== NATS_ROOT) return null
  const channel = parts[4] as Channel
  if (!Object.hasOwn(CHANNELS, channel) || !parts[3] || !isNodeId(parts[3])) return null
  return { nodeId: parts[3], channel }
}

/**
 * This node's own inbox prefix for request replies and JetStream deliveries. A broker that
 * gives each node rights to its own prefix only (see hub/broker-config) keeps nodes from
 * reading each other's replies, which the shared `_INBOX.>` would not.
 */
export function natsInboxPrefix(nodeId: string): string {
  return `_INBOX_${nodeId}`
}

/** Desired documents live in a JetStream KV bucket, one key per node, latest value only. */
export const NATS_DESIRED_BUCKET = `shoal_${PROTOCOL_VERSION}_desired`

export function natsDesiredKey(nodeId: string): string {
  assertNodeId(nodeId)
  return nodeId
}

/** The HTTP path an agent enrolls at (enrollment is a one-off over HTTPS, before it has broker credentials). */
export const ENROLL_PATH = `/api/${PROTOCOL_VERSION}/enroll`

import { isNodeId, NATS_DESIRED_BUCKET } from '../../protocol/index.js'

/** What the bound needs to know of one consumer on the desired-state stream. */
export interface DesiredConsumer {
  readonly name: string
  readonly filterSubject: string
  /** ISO time the server created it. */
  readonly created: string
}

export interface ConsumerExcess {
  readonly nodeId: string
  /** Consumers to delete, oldest first. */
  readonly names: readonly string[]
  readonly held: number
}

/**
 * Consumers each node may hold on its own key. An agent needs one (its ordered watch); a second
 * lives for a few seconds while nats.js replaces the first after a gap or a reconnect.
 */
export const CONSUMERS_PER_NODE = 4

const KEY_PREFIX = `$KV.${NATS_DESIRED_BUCKET}.`

/** The node whose desired key a filter subject names, or null (the hub's own or a foreign consumer). */
export function nodeOfDesiredFilter(filterSubject: string): string | null {
  if (!filterSubject.startsWith(KEY_PREFIX)) return null
  const key = filterSubject.slice(KEY_PREFIX.length)
  return isNodeId(key) ? key : null
}

/**
 * Which consumers to delete so that no node holds more than `limit` on its key: the newest stay
 * (the agent's live watch is the last one it made), the rest go. Node permissions let a node
 * create consumers only on its own key, so this bounds what a misbehaving node can make the
 * server keep, without a JetStream account per node.
 */
export function consumersOverBound(consumers: readonly DesiredConsumer[], limit: number = CONSUMERS_PER_NODE): ConsumerExcess[] {
  const byNode = new Map<string, DesiredConsumer[]>()
  for (const consumer of consumers) {
    const nodeId = nodeOfDesiredFilter(consumer.filterSubject)
    if (nodeId === null) continue
    const held = byNode.get(nodeId)
    if (held) held.push(consumer)
    else byNode.set(nodeId, [consumer])
  }
  const excess: ConsumerExcess[] = []
  for (const [nodeId, held] of byNode) {
    if (held.length <= limit) continue
    const oldestFirst = [...held].sort((a, b) => Date.parse(a.created) - Date.parse(b.created) || a.name.localeCompare(b.name))
    excess.push({ nodeId, held: held.length, names: oldestFirst.slice(0, held.length - limit).map((c) => c.name) })
  }
  return excess.sort((a, b) => a.nodeId.localeCompare(b.nodeId))
}

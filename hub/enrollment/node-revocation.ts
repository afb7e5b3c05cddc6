import type { NodeRevoked } from '../../protocol/api/index.js'
import { isoNow, type Clock } from '../../common/clock.js'
import type { BrokerSyncResult } from '../broker-config/broker-access.js'
import type { ChangeFeed } from '../ingest/change-feed.js'
import type { HubStore } from '../store/hub-store.js'
import { NodeNotFoundError } from '../store/not-found.js'

export interface NodeRevocationOptions {
  readonly store: HubStore
  readonly clock: Clock
  readonly fleet: { request(reason: string): Promise<void> }
  readonly feed: ChangeFeed
  /** Cuts the node's live connection where the broker lets the hub (the embedded one does). */
  readonly transport: { disconnectNode(nodeId: string): void }
  /** Rewrites an external broker's users and rights (`--broker-auth-dir`); absent otherwise. */
  readonly brokerAccess?: { sync(reason: string): Promise<BrokerSyncResult> }
}

/**
 * Revoking a node: its credentials, dedupe state, status and row go in one transaction with the
 * audit entry; then an external broker's users are rewritten and reloaded (which drops the
 * node's connection there), the transport cuts its connection, and a fleet pass places its
 * copies elsewhere. The answer says whether the broker confirmed the rewrite.
 */
export class NodeRevocationService {
  constructor(private readonly options: NodeRevocationOptions) {}

  async revoke(nodeId: string, actor: string): Promise<NodeRevoked> {
    const { store, clock, fleet, feed, transport, brokerAccess } = this.options
    const node = store.nodes.get(nodeId)
    if (!node) throw new NodeNotFoundError(nodeId)
    store.transaction(() => {
      store.credentials.revoke(node.id)
      store.status.forgetNode(node.id)
      store.nodes.delete(node.id)
      store.audit.append({ at: isoNow(clock), actor, action: 'node.revoke', target: node.id, detail: null })
    })
    const broker = await brokerAccess?.sync(`revoked ${node.id}`)
    transport.disconnectNode(node.id)
    await fleet.request('node-revoked')
    feed.publish({ type: 'node', nodeId: node.id, reason: 'revoked' })
    return { revoked: node.id, ...(broker ? { broker: { confirmed: broker.confirmed, ...(broker.error ? { error: broker.error } : {}) } } : {}) }
  }
}

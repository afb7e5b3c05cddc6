import type { NodePatch } from '../../protocol/api/index.js'
import { isoNow, type Clock } from '../../common/clock.js'
import type { ChangeFeed } from '../ingest/change-feed.js'
import type { HubStore } from '../store/hub-store.js'
import type { NodeRecord } from '../store/node-repository.js'
import { NodeNotFoundError } from '../store/not-found.js'
import { requireBandwidthLabels } from './node-bandwidth.js'

/** A node's labels after a patch: a value sets its key, null removes it, absent keys stay. Pure. */
export function patchedLabels(labels: Readonly<Record<string, string>>, patch: Readonly<Record<string, string | null>>): Record<string, string> {
  const next: Record<string, string> = { ...labels }
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete next[key]
    else next[key] = value
  }
  return next
}

export interface NodePatchServiceOptions {
  readonly store: HubStore
  readonly fleet: { request(reason: string): Promise<void> }
  readonly feed: ChangeFeed
  readonly clock: Clock
}

/**
 * Editing a node by hand: its labels and whether it is cordoned, stored with the audit entry in
 * one transaction, then a fleet pass, so copies whose selector no longer matches move before the
 * answer. Cordoning alone moves nothing (the scheduler keeps what runs); drain does that.
 */
export class NodePatchService {
  constructor(private readonly options: NodePatchServiceOptions) {}

  /** The node, or NodeNotFoundError: the API looks before it reads a patch, so a missing node is a 404 whatever the body. */
  require(nodeId: string): NodeRecord {
    const node = this.options.store.nodes.get(nodeId)
    if (!node) throw new NodeNotFoundError(nodeId)
    return node
  }

  /** The node as it is after the patch and the pass. */
  async patch(nodeId: string, patch: NodePatch, actor: string): Promise<NodeRecord> {
    const { store, fleet, feed, clock } = this.options
    const node = this.require(nodeId)
    if (patch.labels) {
      // Only the keys this patch sets: a bad value set before (by enrollment) must not block other edits.
      requireBandwidthLabels(`node ${node.id}`, patchedLabels(node.labels, patch.labels), patch.labels)
    }
    store.transaction(() => {
      if (patch.labels) store.nodes.setLabels(node.id, patchedLabels(node.labels, patch.labels))
      if (patch.cordoned !== undefined) store.nodes.setCordoned(node.id, patch.cordoned)
      store.audit.append({ at: isoNow(clock), actor, action: 'node.patch', target: node.id, detail: JSON.stringify(patch) })
    })
    await fleet.request('node-patched')
    feed.publish({ type: 'node', nodeId: node.id, reason: 'patched' })
    return this.require(node.id)
  }
}

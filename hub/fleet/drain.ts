import { isoNow, type Clock } from '../../common/clock.js'
import type { DrainResult } from '../../protocol/api/index.js'
import type { ChangeFeed } from '../ingest/change-feed.js'
import type { PlacementRecord } from '../store/deployment-repository.js'
import type { HubStore } from '../store/hub-store.js'
import { NodeNotFoundError } from '../store/not-found.js'

/** What a drain did: replicated copies sent elsewhere, every-node copies left where they are. */
export type { DrainResult }

/**
 * Splits a node's placements: replicated copies leave (the scheduler places them again on
 * other nodes, never on this cordoned one); every-node copies stay, since their whole point
 * is to run on each matching node (kubectl drain leaves DaemonSets alone for the same reason).
 * Pure.
 */
export function drainPlan<P extends Pick<PlacementRecord, 'nodeId' | 'deployment'>>(
  nodeId: string,
  placements: readonly P[],
  modeOf: (deployment: string) => 'replicated' | 'every-node' | undefined,
): { readonly evict: P[]; readonly keep: P[]; readonly others: P[] } {
  const evict: P[] = []
  const keep: P[] = []
  const others: P[] = []
  for (const placement of placements) {
    if (placement.nodeId !== nodeId) others.push(placement)
    else if (modeOf(placement.deployment) === 'every-node') keep.push(placement)
    else evict.push(placement)
  }
  return { evict, keep, others }
}

/** drainPlan for several nodes at once: what leaves each, what stays on each, and the rest. Pure. */
export function drainNodesPlan<P extends Pick<PlacementRecord, 'nodeId' | 'deployment'>>(
  nodeIds: readonly string[],
  placements: readonly P[],
  modeOf: (deployment: string) => 'replicated' | 'every-node' | undefined,
): { readonly evict: P[]; readonly keep: P[]; readonly others: P[] } {
  const targets = new Set(nodeIds)
  const evict: P[] = []
  const keep: P[] = []
  const others: P[] = []
  for (const placement of placements) {
    if (!targets.has(placement.nodeId)) others.push(placement)
    else (drainPlan(placement.nodeId, [placement], modeOf).evict.length > 0 ? evict : keep).push(placement)
  }
  return { evict, keep, others }
}

export interface DrainServiceOptions {
  readonly store: HubStore
  readonly fleet: { request(reason: string): Promise<void> }
  readonly feed: ChangeFeed
  readonly clock: Clock
}

/**
 * Drain as a use case: cordon the node and drop its replicated placements in one transaction
 * (with the audit entry), then run a fleet pass. The pass places those replicas on other nodes,
 * and the rollout planner decides which revision each new copy runs, as for any other new
 * copy; the node gets a document without them. The scheduler keeps existing placements on a
 * cordoned node, so cordoning alone would move nothing; removing the placements is what makes
 * them move. This relies on the fleet pass reading and replacing placements synchronously (no
 * await between schedule() and replacePlacements()), so no pass can write back what was removed.
 */
export class DrainService {
  constructor(private readonly options: DrainServiceOptions) {}

  async drain(nodeId: string, actor: string): Promise<DrainResult> {
    const { store, fleet, feed, clock } = this.options
    const node = store.nodes.get(nodeId)
    if (!node) throw new NodeNotFoundError(nodeId)
    const plan = store.transaction(() => {
      const at = isoNow(clock)
      const modes = new Map(store.deployments.list().map((d) => [d.name, d.manifest.spec.mode]))
      const split = drainPlan(node.id, store.deployments.placements(), (name) => modes.get(name))
      store.nodes.setCordoned(node.id, true)
      if (split.evict.length > 0) store.deployments.replacePlacements([...split.others, ...split.keep], at)
      store.audit.append({
        at,
        actor,
        action: 'node.drain',
        target: node.id,
        detail: JSON.stringify({ evicted: split.evict.map((p) => p.workload), kept: split.keep.map((p) => p.workload) }),
      })
      return split
    })
    await fleet.request('node-drained')
    feed.publish({ type: 'node', nodeId: node.id, reason: 'drained' })
    for (const name of new Set(plan.evict.map((p) => p.deployment))) feed.publish({ type: 'deployment', name, reason: 'drained' })
    const after = store.deployments.placements()
    return {
      drained: node.id,
      cordoned: true,
      evicted: plan.evict.map((p) => ({
        deployment: p.deployment,
        workload: p.workload,
        replica: p.replica,
        movedTo: after.find((q) => q.deployment === p.deployment && q.replica === p.replica && q.nodeId !== node.id)?.nodeId ?? null,
      })),
      kept: plan.keep.map((p) => ({ deployment: p.deployment, workload: p.workload, reason: 'every-node workloads run on each matching node' })),
    }
  }
}

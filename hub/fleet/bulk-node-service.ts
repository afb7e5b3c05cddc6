import { isoNow, type Clock } from '../../common/clock.js'
import type { BulkNodeOutcome, BulkNodeRequest, BulkNodeResult, CopyMove } from '../../protocol/api/index.js'
import type { ChangeFeed } from '../ingest/change-feed.js'
import type { HubStore } from '../store/hub-store.js'
import type { NodeRecord } from '../store/node-repository.js'
import { drainNodesPlan } from './drain.js'
import { requireBandwidthLabels } from './node-bandwidth.js'
import { toSchedulerDeployment, toSchedulerNode } from './fleet-controller.js'
import { changedNode, changesNode, copyMoves, nodeChangeOf, previewNodeChange, type NodeChange } from './node-change-preview.js'

export interface BulkNodeServiceOptions {
  readonly store: HubStore
  readonly fleet: { request(reason: string): Promise<void> }
  readonly feed: ChangeFeed
  readonly clock: Clock
}

const VERB: Readonly<Record<BulkNodeRequest['action'], readonly [done: string, would: string, already: string]>> = {
  label: ['labeled', 'would be labeled', 'already has these labels'],
  unlabel: ['unlabeled', 'would be unlabeled', 'has none of these labels'],
  cordon: ['cordoned', 'would be cordoned', 'already cordoned'],
  uncordon: ['uncordoned', 'would be uncordoned', 'not cordoned'],
  drain: ['drained', 'would be drained', 'already drained'],
}

/** One node's line of the answer: what happened to it, and for a drain how many copies leave it. Pure. */
function outcomeOf(request: BulkNodeRequest, node: NodeRecord, change: NodeChange, moves: readonly CopyMove[]): BulkNodeOutcome {
  const [done, would, already] = VERB[request.action]
  const leaving = moves.filter((m) => m.from === node.id).length
  const changed = changesNode(node, change) || (request.action === 'drain' && leaving > 0)
  if (!changed) return { id: node.id, outcome: 'unchanged', message: already }
  const copies = request.action === 'drain' ? `; ${leaving} cop${leaving === 1 ? 'y' : 'ies'} ${request.dryRun ? 'would move' : 'moved'} off` : ''
  return { id: node.id, outcome: 'changed', message: `${request.dryRun ? would : done}${copies}` }
}

/**
 * One action on many nodes (the console's bulk actions): labels, cordon, or drain. A dry run
 * answers from previewNodeChange what each node would become and which copies would move where,
 * storing nothing. Otherwise every node changes in one transaction with an audit entry each, a
 * drain takes the replicated copies off as DrainService does, then one fleet pass places what
 * moved, and the answer says where it went. Nodes that do not exist are reported, not fatal.
 */
export class BulkNodeService {
  constructor(private readonly options: BulkNodeServiceOptions) {}

  async run(request: BulkNodeRequest, actor: string): Promise<BulkNodeResult> {
    const { store, fleet, feed, clock } = this.options
    const ids = [...new Set(request.nodes)]
    const found = ids.map((id) => store.nodes.get(id))
    const nodes = found.filter((node): node is NodeRecord => node !== null)
    const change = nodeChangeOf(request)
    if (change.labels) {
      const setting = change.labels
      for (const node of nodes) requireBandwidthLabels(`node ${node.id}`, changedNode(node, change).labels, setting)
    }
    const missing: BulkNodeOutcome[] = ids.filter((_, i) => found[i] === null).map((id) => ({ id, outcome: 'not-found', message: 'no such node' }))
    const targets = nodes.map((node) => node.id)
    const deployments = store.deployments.list()
    const replicated = new Set(deployments.filter((d) => d.manifest.spec.mode !== 'every-node').map((d) => d.name))
    const answer = (moves: CopyMove[], kept: readonly { deployment: string; workload: string; nodeId: string }[]): BulkNodeResult => ({
      action: request.action,
      dryRun: request.dryRun === true,
      nodes: [...nodes.map((node) => outcomeOf(request, node, change, moves)), ...missing],
      moves,
      kept: kept.map((p) => ({ deployment: p.deployment, workload: p.workload, node: p.nodeId, reason: 'every-node workloads run on each matching node' })),
    })

    if (request.dryRun) {
      const preview = previewNodeChange({
        deployments: deployments.map(toSchedulerDeployment),
        nodes: store.nodes.list().map(toSchedulerNode),
        placements: store.deployments.placements(),
        targets,
        change,
        now: clock.now(),
      })
      return answer(preview.moves, preview.kept)
    }

    const before = store.deployments.placements()
    const kept = store.transaction(() => {
      const at = isoNow(clock)
      for (const node of nodes) {
        const after = changedNode(node, change)
        if (change.labels) store.nodes.setLabels(node.id, after.labels)
        if (change.cordoned !== undefined) store.nodes.setCordoned(node.id, after.cordoned)
        store.audit.append({ at, actor, action: `node.${request.action}`, target: node.id, detail: JSON.stringify({ bulk: targets.length, ...change }) })
      }
      if (!change.drain) return []
      const modes = new Map(deployments.map((d) => [d.name, d.manifest.spec.mode]))
      const split = drainNodesPlan(targets, store.deployments.placements(), (name) => modes.get(name))
      if (split.evict.length > 0) store.deployments.replacePlacements([...split.others, ...split.keep], at)
      return split.keep
    })
    await fleet.request(`nodes-${request.action}`)
    const moves = copyMoves(before, store.deployments.placements(), (name) => replicated.has(name))
    for (const id of targets) feed.publish({ type: 'node', nodeId: id, reason: request.action })
    for (const name of new Set(moves.map((m) => m.deployment))) feed.publish({ type: 'deployment', name, reason: request.action })
    return answer(moves, kept)
  }
}

import type { BulkNodeRequest, CopyMove } from '../../protocol/api/index.js'
import { schedule } from '../scheduler/schedule.js'
import type { Placement, SchedulerDeployment, SchedulerNode } from '../scheduler/types.js'
import { drainNodesPlan } from './drain.js'
import { patchedLabels } from './node-patch.js'

/** What one bulk action does to each of its nodes: labels set or removed (null), cordon on or off, drain. */
export interface NodeChange {
  readonly labels?: Readonly<Record<string, string | null>>
  readonly cordoned?: boolean
  /** Also take the node's replicated copies off it (drain: cordon, then move them). */
  readonly drain?: boolean
}

/** The change a bulk request asks for. Pure. */
export function nodeChangeOf(request: BulkNodeRequest): NodeChange {
  switch (request.action) {
    case 'label':
      return { labels: request.labels }
    case 'unlabel':
      return { labels: Object.fromEntries(request.keys.map((key) => [key, null])) }
    case 'cordon':
      return { cordoned: true }
    case 'uncordon':
      return { cordoned: false }
    case 'drain':
      return { cordoned: true, drain: true }
    default: {
      const unreachable: never = request
      return unreachable
    }
  }
}

/** The node as the change leaves it. Pure. */
export function changedNode<N extends Pick<SchedulerNode, 'labels' | 'cordoned'>>(node: N, change: NodeChange): N {
  return {
    ...node,
    labels: change.labels ? patchedLabels(node.labels, change.labels) : node.labels,
    cordoned: change.cordoned ?? node.cordoned,
  }
}

/** Whether the change alters the node's labels or cordon (drain also counts when it moves a copy off it). Pure. */
export function changesNode(node: Pick<SchedulerNode, 'labels' | 'cordoned'>, change: NodeChange): boolean {
  const after = changedNode(node, change)
  const keys = new Set([...Object.keys(node.labels), ...Object.keys(after.labels)])
  return after.cordoned !== node.cordoned || [...keys].some((key) => node.labels[key] !== after.labels[key])
}

const copyKey = (p: Pick<Placement, 'nodeId' | 'workload'>): string => `${p.nodeId}/${p.workload}`

/**
 * The copies that move between two sets of placements. A replicated copy keeps its replica
 * number when it moves, so a copy gone from one node and one of the same deployment and replica
 * new on another are one move; every-node copies never move, they stop (to null) or start (from
 * null). Sorted by deployment, replica, then node. Pure.
 */
export function copyMoves(before: readonly Placement[], after: readonly Placement[], replicated: (deployment: string) => boolean): CopyMove[] {
  const afterKeys = new Set(after.map(copyKey))
  const beforeKeys = new Set(before.map(copyKey))
  const gone = before.filter((p) => !afterKeys.has(copyKey(p)))
  const added = after.filter((p) => !beforeKeys.has(copyKey(p)))
  const moves: CopyMove[] = []
  for (const p of gone) {
    const i = replicated(p.deployment) ? added.findIndex((q) => q.deployment === p.deployment && q.replica === p.replica) : -1
    const to = i === -1 ? null : (added.splice(i, 1)[0] ?? null)
    moves.push({ deployment: p.deployment, workload: p.workload, replica: p.replica, from: p.nodeId, to: to?.nodeId ?? null })
  }
  for (const q of added) moves.push({ deployment: q.deployment, workload: q.workload, replica: q.replica, from: null, to: q.nodeId })
  const text = (value: string | null): string => value ?? ''
  return moves.sort(
    (a, b) =>
      a.deployment.localeCompare(b.deployment) || a.replica - b.replica || text(a.from).localeCompare(text(b.from)) || text(a.to).localeCompare(text(b.to)),
  )
}

export interface NodeChangePreview {
  readonly moves: CopyMove[]
  /** Drain: every-node copies left on the drained nodes. */
  readonly kept: Placement[]
}

/**
 * What a change to these nodes would make the scheduler do, without storing anything: the nodes
 * changed, a drain's replicated copies taken off them (drainNodesPlan, as the drain itself
 * does), then one scheduling pass over the result (the scheduler the fleet controller runs).
 * Surge copies of a running rollout are left out, so a move during a rollout may differ. Pure.
 */
export function previewNodeChange(input: {
  readonly deployments: readonly SchedulerDeployment[]
  readonly nodes: readonly SchedulerNode[]
  readonly placements: readonly Placement[]
  readonly targets: readonly string[]
  readonly change: NodeChange
  readonly now: number
}): NodeChangePreview {
  const targets = new Set(input.targets)
  const nodes = input.nodes.map((node) => (targets.has(node.id) ? changedNode(node, input.change) : node))
  const modes = new Map(input.deployments.map((d) => [d.name, d.spec.mode]))
  const split = input.change.drain ? drainNodesPlan(input.targets, input.placements, (name) => modes.get(name)) : null
  const start = split ? [...split.others, ...split.keep] : input.placements
  const result = schedule(input.deployments, nodes, start, input.now)
  return { moves: copyMoves(input.placements, result.placements, (name) => modes.get(name) !== 'every-node'), kept: split?.keep ?? [] }
}

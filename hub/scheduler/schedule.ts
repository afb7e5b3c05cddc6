import { ADMISSION, CAPACITY, ELIGIBILITY, firstRejection } from './checks/chain.js'
import { demandOf, type Demand } from './demand.js'
import { describeOutcome, tally } from './explain.js'
import { admitResources, keepCurrent } from './keep.js'
import { byNodeId, byPlacement, compareText } from './order.js'
import type { PassContext, Work } from './pass.js'
import { placeEveryNode, placeReplicas } from './place.js'
import {
  SchedulerInputError,
  type DeploymentOutcome,
  type Placement,
  type Rejection,
  type Removal,
  type ScheduleResult,
  type SchedulerDeployment,
  type SchedulerNode,
} from './types.js'
import { NOTHING, UsageLedger, minus } from './usage.js'

/**
 * Where every deployment's copies should run, as a pure function of the deployments, the
 * nodes, the current placements and the time. The same input in any order gives the same
 * result, and scheduling the result again gives it back unchanged.
 *
 * A pass: (1) keep the current copies that still belong where they are, (2) count them against
 * their nodes' room, (3) place every-node copies, then (4) missing replicas, deployments in name
 * order, each copy on the best-ranked node that passes every check.
 */
export function schedule(
  deployments: readonly SchedulerDeployment[],
  nodes: readonly SchedulerNode[],
  current: readonly Placement[],
  now: number,
): ScheduleResult {
  const sortedNodes = unique([...nodes].sort(byNodeId), (node) => node.id, 'duplicate-node')
  const sortedDeployments = unique(
    [...deployments].sort((a, b) => compareText(a.name, b.name)),
    (deployment) => deployment.name,
    'duplicate-deployment',
  )
  const context: PassContext = {
    nodes: sortedNodes,
    nodeById: new Map(sortedNodes.map((node) => [node.id, node])),
    ledger: new UsageLedger(),
    now,
  }
  const works = sortedDeployments.map((deployment) => startWork(demandOf(deployment), context))
  const byName = new Map(works.map((work) => [work.demand.name, work]))

  const orphans: Removal[] = []
  const currentOf = new Map<string, Placement[]>()
  for (const placement of dedupe(current)) {
    if (!byName.has(placement.deployment)) orphans.push({ placement, reason: 'deployment deleted' })
    else if (!context.nodeById.has(placement.nodeId)) orphans.push({ placement, reason: 'node removed' })
    else currentOf.set(placement.deployment, [...(currentOf.get(placement.deployment) ?? []), placement])
  }

  for (const work of works) keepCurrent(work, currentOf.get(work.demand.name) ?? [], context)
  const everyNodeFirst = [...works.filter(isEveryNode), ...works.filter((work) => !isEveryNode(work))]
  for (const work of everyNodeFirst) admitResources(work, context)
  for (const work of everyNodeFirst) {
    if (isEveryNode(work)) placeEveryNode(work, context)
    else placeReplicas(work, context)
  }

  const placements = works.flatMap((work) => [...work.copies, ...work.stranded]).sort(byPlacement)
  const perDeployment = new Map<string, DeploymentOutcome>(works.map((work) => [work.demand.name, outcomeOf(work, context)]))
  const removed = [...orphans, ...works.flatMap((work) => work.removed)].sort((a, b) => byPlacement(a.placement, b.placement))
  return { placements, perDeployment, removed }
}

function isEveryNode(work: Work): boolean {
  return work.demand.mode === 'every-node'
}

function startWork(demand: Demand, context: PassContext): Work {
  const eligibility = new Map<string, Rejection | null>()
  for (const node of context.nodes) eligibility.set(node.id, firstRejection(ELIGIBILITY, node, demand, NOTHING))
  return { demand, eligibility, copies: [], stranded: [], added: [], removed: [], moved: [] }
}

function unique<T>(sorted: T[], id: (item: T) => string, code: 'duplicate-node' | 'duplicate-deployment'): T[] {
  for (let i = 1; i < sorted.length; i++) {
    const item = sorted[i] as T
    if (id(item) === id(sorted[i - 1] as T)) throw new SchedulerInputError(code, id(item))
  }
  return sorted
}

/** The same placement listed twice counts once. */
function dedupe(current: readonly Placement[]): Placement[] {
  const sorted = [...current].sort(byPlacement)
  return sorted.filter((placement, i) => i === 0 || byPlacement(placement, sorted[i - 1] as Placement) !== 0)
}

/**
 * The figures and the explanation: each node is judged for a new copy (its own copy counted as
 * absent) and counted under the first check it fails.
 */
function outcomeOf(work: Work, context: PassContext): DeploymentOutcome {
  const { demand } = work
  const result = [...work.copies, ...work.stranded]
  const holding = new Set(result.map((placement) => placement.nodeId))
  const reasons: string[] = []
  let matching = 0
  let roomless = 0
  for (const node of context.nodes) {
    const own = holding.has(node.id)
    const used = own ? minus(context.ledger.of(node.id), demand.request) : context.ledger.of(node.id)
    const rejection = work.eligibility.get(node.id) ?? firstRejection(ADMISSION, node, demand, used) ?? firstRejection(CAPACITY, node, demand, used)
    if (rejection === null) matching++
    else reasons.push(rejection.reason)
    if (!own && rejection?.check === 'resources') roomless++
  }
  const placed = result.length
  const waiting = result.filter((placement) => context.nodeById.get(placement.nodeId)?.online !== true).length
  const desired = demand.mode === 'every-node' ? placed + roomless : demand.replicas
  const pending = demand.mode === 'every-node' ? roomless : Math.max(0, demand.replicas - placed)
  const filtered = tally(reasons)
  return {
    desired,
    placed,
    pending,
    waiting,
    matching,
    nodes: context.nodes.length,
    explanation: describeOutcome({ mode: demand.mode, desired, placed, pending, waiting, matching, nodes: context.nodes.length, filtered }),
    filtered,
    added: [...work.added].sort(byPlacement),
    removed: [...work.removed].sort((a, b) => byPlacement(a.placement, b.placement)),
    moved: [...work.moved].sort((a, b) => a.replica - b.replica),
  }
}

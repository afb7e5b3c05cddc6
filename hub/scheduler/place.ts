import { ADMISSION, CAPACITY, firstRejection } from './checks/chain.js'
import { domainOf } from './demand.js'
import { lowestFree } from './keep.js'
import { copyOf, nodeOf, type PassContext, type Work } from './pass.js'
import { pickBest } from './rank.js'
import type { SchedulerNode } from './types.js'

/** Passes every check for a new copy of this deployment, given what the pass has placed so far. */
function feasible(work: Work, node: SchedulerNode, context: PassContext): boolean {
  if (work.eligibility.get(node.id) !== null) return false
  const used = context.ledger.of(node.id)
  return firstRejection(ADMISSION, node, work.demand, used) === null && firstRejection(CAPACITY, node, work.demand, used) === null
}

/** `mode: every-node`: one copy on every feasible node that has none yet, in node order. */
export function placeEveryNode(work: Work, context: PassContext): void {
  const holding = new Set(work.copies.map((placement) => placement.nodeId))
  for (const node of context.nodes) {
    if (holding.has(node.id) || !feasible(work, node, context)) continue
    const placement = copyOf(work, node.id, 0)
    context.ledger.add(node.id, work.demand.request)
    work.copies.push(placement)
    work.added.push(placement)
  }
}

/**
 * `replicas: N`: place the missing copies one at a time on the best-ranked feasible node that
 * holds none. New copies first fill free slots; once none are free, each further copy replaces
 * a stranded one (on a node offline past grace, longest offline first), which is a move.
 */
export function placeReplicas(work: Work, context: PassContext): void {
  const { demand } = work
  const holding = new Set([...work.copies, ...work.stranded].map((placement) => placement.nodeId))
  const ordinals = new Set([...work.copies, ...work.stranded].map((placement) => placement.replica))
  const copiesInDomain = new Map<string, number>()
  const count = (node: SchedulerNode): void => {
    const domain = domainOf(node, demand.topologyKey)
    copiesInDomain.set(domain, (copiesInDomain.get(domain) ?? 0) + 1)
  }
  for (const placement of work.copies) count(nodeOf(context, placement))
  let free = demand.replicas - work.copies.length - work.stranded.length
  const toReplace = [...work.stranded]
  const rank = { demand, usedOn: (nodeId: string) => context.ledger.of(nodeId), copiesInDomain }
  const eligible = context.nodes.filter((node) => work.eligibility.get(node.id) === null)
  while (free > 0 || toReplace.length > 0) {
    const candidates = eligible.filter((node) => !holding.has(node.id) && feasible(work, node, context))
    const target = pickBest(candidates, rank)
    if (target === undefined) break
    let replica: number
    if (free > 0) {
      replica = lowestFree(ordinals)
      free--
    } else {
      const stranded = toReplace.shift()
      if (stranded === undefined) break
      replica = stranded.replica
      context.ledger.remove(stranded.nodeId, demand.request)
      work.stranded = work.stranded.filter((placement) => placement !== stranded)
      work.removed.push({ placement: stranded, reason: `moved to ${target.id}: node offline past the ${demand.spec.offlineGrace} grace` })
      work.moved.push({ replica, from: stranded.nodeId, to: target.id })
    }
    const placement = copyOf(work, target.id, replica)
    holding.add(target.id)
    context.ledger.add(target.id, demand.request)
    count(target)
    work.copies.push(placement)
    work.added.push(placement)
  }
}

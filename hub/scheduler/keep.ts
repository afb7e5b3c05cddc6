import { resourcesCheck } from './checks/resources.js'
import { domainOf, offlinePastGrace } from './demand.js'
import { singular } from './explain.js'
import { byPlacement, compareText } from './order.js'
import { copyOf, nodeOf, staleness, type PassContext, type Work } from './pass.js'
import type { Placement } from './types.js'

/**
 * First step of a pass, before anything new is placed: decide which current copies of one
 * deployment stay. A copy goes when its node no longer meets the deployment's eligibility checks
 * (selector, arch, capabilities, profile, required data, node policy), when it is a second copy on
 * one node, or when the deployment wants fewer copies than it has. Cordoned and offline nodes keep
 * theirs, and so does a node whose device went away (the agent reports that on the copy).
 */
export function keepCurrent(work: Work, current: readonly Placement[], context: PassContext): void {
  const { demand } = work
  const seen = new Set<string>()
  const survivors: Placement[] = []
  for (const placement of [...current].sort(byPlacement)) {
    if (seen.has(placement.nodeId)) {
      work.removed.push({ placement, reason: 'a second copy on the same node' })
      continue
    }
    seen.add(placement.nodeId)
    const rejection = work.eligibility.get(placement.nodeId) ?? null
    if (rejection !== null) {
      work.removed.push({ placement, reason: `node ${singular(rejection.reason)}` })
      continue
    }
    survivors.push(placement)
  }
  const copies = normalize(work, survivors)
  if (demand.mode === 'every-node') {
    work.copies = copies
    return
  }
  const pastGrace = (placement: Placement): boolean => offlinePastGrace(nodeOf(context, placement), demand, context.now)
  const healthy = copies.filter((placement) => !pastGrace(placement))
  const stranded = copies.filter(pastGrace).sort(staleness(context))
  const surplus = `surplus: ${demand.replicas} ${demand.replicas === 1 ? 'replica' : 'replicas'} wanted`
  if (healthy.length > demand.replicas) {
    const victims = new Set(scaleDownVictims(healthy, healthy.length - demand.replicas, work, context))
    for (const placement of [...victims, ...stranded]) work.removed.push({ placement, reason: surplus })
    work.copies = healthy.filter((placement) => !victims.has(placement))
    work.stranded = []
    return
  }
  const extra = Math.max(0, healthy.length + stranded.length - demand.replicas)
  for (const placement of stranded.slice(0, extra)) work.removed.push({ placement, reason: surplus })
  work.copies = healthy
  work.stranded = stranded.slice(extra)
}

/**
 * Workload names become the deployment name (one copy per node); every-node copies are replica 0;
 * replicated copies keep their ordinal unless another copy holds it already, then take the lowest free one.
 */
function normalize(work: Work, copies: readonly Placement[]): Placement[] {
  if (work.demand.mode === 'every-node') return copies.map((placement) => copyOf(work, placement.nodeId, 0))
  const byOrdinal = [...copies].sort((a, b) => a.replica - b.replica || compareText(a.nodeId, b.nodeId))
  const taken = new Set<number>()
  const clashing: Placement[] = []
  const result: Placement[] = []
  for (const placement of byOrdinal) {
    if (Number.isSafeInteger(placement.replica) && placement.replica >= 0 && !taken.has(placement.replica)) {
      taken.add(placement.replica)
      result.push(copyOf(work, placement.nodeId, placement.replica))
    } else {
      clashing.push(placement)
    }
  }
  for (const placement of clashing) result.push(copyOf(work, placement.nodeId, lowestFree(taken)))
  return result.sort(byPlacement)
}

/** The smallest ordinal not in `taken`, which it then holds. */
export function lowestFree(taken: Set<number>): number {
  let ordinal = 0
  while (taken.has(ordinal)) ordinal++
  taken.add(ordinal)
  return ordinal
}

/**
 * Which copies a scale-down removes, one at a time: copies on offline nodes first (longest offline
 * first), then from the topology domain holding the most copies, then the highest ordinal.
 */
export function scaleDownVictims(copies: readonly Placement[], count: number, work: Work, context: PassContext): Placement[] {
  const { topologyKey } = work.demand
  const remaining = [...copies]
  const victims: Placement[] = []
  const stale = staleness(context)
  while (victims.length < count && remaining.length > 0) {
    const perDomain = new Map<string, number>()
    for (const placement of remaining) {
      const domain = domainOf(nodeOf(context, placement), topologyKey)
      perDomain.set(domain, (perDomain.get(domain) ?? 0) + 1)
    }
    const crowding = (placement: Placement): number => perDomain.get(domainOf(nodeOf(context, placement), topologyKey)) ?? 0
    const offline = (placement: Placement): number => (nodeOf(context, placement).online ? 1 : 0)
    remaining.sort(
      (a, b) =>
        offline(a) - offline(b) ||
        (offline(a) === 0 ? stale(a, b) : 0) ||
        crowding(b) - crowding(a) ||
        b.replica - a.replica ||
        compareText(b.nodeId, a.nodeId),
    )
    const victim = remaining.shift()
    if (victim !== undefined) victims.push(victim)
  }
  return victims
}

/**
 * Second step, across all deployments (every-node ones first, then by name): count every kept
 * copy against its node's room. A copy that no longer fits (a smaller node, a larger request)
 * is removed; a replicated one is then placed again elsewhere like any missing replica.
 */
export function admitResources(work: Work, context: PassContext): void {
  const admit = (placements: readonly Placement[]): Placement[] =>
    placements.filter((placement) => {
      const node = nodeOf(context, placement)
      const rejection = resourcesCheck.check(node, work.demand, context.ledger.of(node.id))
      if (rejection !== null) {
        work.removed.push({ placement, reason: `node ${singular(rejection.reason)}` })
        return false
      }
      context.ledger.add(node.id, work.demand.request)
      return true
    })
  work.copies = admit(work.copies)
  work.stranded = admit(work.stranded)
}

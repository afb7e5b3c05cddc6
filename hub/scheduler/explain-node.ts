import { CHECKS } from './checks/chain.js'
import { demandOf, domainOf, offlinePastGrace, type Demand } from './demand.js'
import { singular } from './explain.js'
import { scoresOf, type RankerName } from './rank.js'
import type { Amounts, CheckName, Placement, SchedulerDeployment, SchedulerNode } from './types.js'
import { NOTHING, plus } from './usage.js'

export interface NodeCheck {
  readonly check: CheckName
  readonly passed: boolean
  /** Why it failed, for one node ("lacks capability gpu"); null when it passed. */
  readonly reason: string | null
}

export interface NodeExplanation {
  readonly deployment: string
  readonly nodeId: string
  /** This deployment's copy on the node, if the placements hold one. */
  readonly placement: Placement | null
  /** A new copy could go here now (every check passes, the node's own copy counted as absent). */
  readonly fits: boolean
  /** Every check in chain order, not only the first that failed. */
  readonly checks: readonly NodeCheck[]
  /** The topology domain for the deployment's spread key, or null without one. */
  readonly domain: string | null
  /** Ranker scores, higher is better, compared in this order. */
  readonly scores: Readonly<Record<RankerName, number>>
  /** "runs web (replica 1)", "not placed: it lacks capability gpu, is offline", … */
  readonly summary: string
}

export interface ExplainContext {
  readonly deployments: readonly SchedulerDeployment[]
  /** The fleet, for the topology domains of the deployment's other copies. */
  readonly nodes: readonly SchedulerNode[]
  /** Usually `ScheduleResult.placements`. */
  readonly placements: readonly Placement[]
  readonly now: number
}

/** Why a deployment does or does not run on one node, check by check, for the API and console. */
export function explainNode(deployment: SchedulerDeployment, node: SchedulerNode, context: ExplainContext): NodeExplanation {
  const demand = demandOf(deployment)
  const requests = new Map(context.deployments.map((other) => [other.name, demandOf(other).request]))
  const nodeById = new Map(context.nodes.map((other) => [other.id, other]))
  let used: Amounts = NOTHING
  const copiesInDomain = new Map<string, number>()
  let placement: Placement | null = null
  let copies = 0
  for (const candidate of context.placements) {
    if (candidate.deployment === demand.name) {
      if (candidate.nodeId === node.id) {
        placement ??= candidate
        continue
      }
      copies++
      const other = nodeById.get(candidate.nodeId)
      if (other !== undefined) {
        const domain = domainOf(other, demand.topologyKey)
        copiesInDomain.set(domain, (copiesInDomain.get(domain) ?? 0) + 1)
      }
    } else if (candidate.nodeId === node.id) {
      used = plus(used, requests.get(candidate.deployment) ?? NOTHING)
    }
  }
  const checks = CHECKS.map((checker): NodeCheck => {
    const rejection = checker.check(node, demand, used)
    return { check: checker.name, passed: rejection === null, reason: rejection === null ? null : singular(rejection.reason) }
  })
  const failing = checks.flatMap((check) => (check.reason === null ? [] : [check.reason]))
  const usedOn = (nodeId: string): Amounts => (nodeId === node.id ? used : NOTHING)
  return {
    deployment: demand.name,
    nodeId: node.id,
    placement,
    fits: failing.length === 0,
    checks,
    domain: demand.topologyKey === null ? null : domainOf(node, demand.topologyKey),
    scores: scoresOf(node, { demand, usedOn, copiesInDomain }),
    summary: summarize(demand, node, placement, failing, copies, context.now),
  }
}

function summarize(demand: Demand, node: SchedulerNode, placement: Placement | null, failing: readonly string[], otherCopies: number, now: number): string {
  if (placement !== null) {
    const runs = `runs ${placement.workload}${demand.mode === 'replicated' ? ` (replica ${placement.replica})` : ''}`
    if (failing.length === 0) return runs
    if (demand.mode === 'replicated' && offlinePastGrace(node, demand, now)) {
      return `${runs}; kept although it is offline past the ${demand.spec.offlineGrace} grace: no other node can take the replica`
    }
    return `${runs}; kept although it ${failing.join(', ')}`
  }
  if (failing.length > 0) return `not placed: it ${failing.join(', ')}`
  if (demand.mode === 'every-node') return 'fits; the next schedule pass places a copy here'
  if (otherCopies >= demand.replicas) {
    return demand.replicas === 1 ? 'fits, but the one replica runs on another node' : `fits, but all ${demand.replicas} replicas run on other nodes`
  }
  return 'fits; the next schedule pass may place a replica here'
}

import { domainOf, holdsData, type Demand } from './demand.js'
import type { Amounts, SchedulerNode } from './types.js'
import { allocatable, freeOn } from './usage.js'

/** What rankers read besides the node: the deployment, the pass's usage, and where its copies already are. */
export interface RankContext {
  readonly demand: Demand
  readonly usedOn: (nodeId: string) => Amounts
  /** Copies of this deployment per topology domain. */
  readonly copiesInDomain: ReadonlyMap<string, number>
}

export type RankerName = 'spread' | 'data-preference' | 'least-allocated'

/** Scores a feasible node; higher is better. Rankers are compared in order, the first difference wins. */
export interface Ranker {
  readonly name: RankerName
  score(node: SchedulerNode, context: RankContext): number
}

/** Fewest copies of this deployment in the node's topology domain first (nodes without the key share the domain ''). */
export const spreadRanker: Ranker = {
  name: 'spread',
  score(node, { demand, copiesInDomain }) {
    if (demand.topologyKey === null) return 0
    return -(copiesInDomain.get(domainOf(node, demand.topologyKey)) ?? 0)
  },
}

/** More of the preferred data sets on the node first. */
export const dataPreferenceRanker: Ranker = {
  name: 'data-preference',
  score(node, { demand }) {
    return demand.dataPreferred.filter((dataSet) => holdsData(node, dataSet)).length
  },
}

/** The node left with the largest share of its CPU and memory free once the copy is placed (Kubernetes' LeastAllocated). */
export const leastAllocatedRanker: Ranker = {
  name: 'least-allocated',
  score(node, { demand, usedOn }) {
    const total = allocatable(node)
    const free = freeOn(node, usedOn(node.id))
    const share = (left: number, of: number): number => (of > 0 ? left / of : 0)
    const cpu = share(free.cpuMillis - demand.request.cpuMillis, total.cpuMillis)
    const memory = share(free.memoryBytes - demand.request.memoryBytes, total.memoryBytes)
    return (cpu + memory) / 2
  },
}

export const RANKERS: readonly Ranker[] = [spreadRanker, dataPreferenceRanker, leastAllocatedRanker]

export function scoresOf(node: SchedulerNode, context: RankContext): Record<RankerName, number> {
  const scores = {} as Record<RankerName, number>
  for (const ranker of RANKERS) scores[ranker.name] = ranker.score(node, context)
  return scores
}

/** The best of the feasible nodes by the rankers in order, then by node id for determinism. */
export function pickBest(candidates: readonly SchedulerNode[], context: RankContext): SchedulerNode | undefined {
  let best: SchedulerNode | undefined
  let bestScores: number[] = []
  for (const node of candidates) {
    const scores = RANKERS.map((ranker) => ranker.score(node, context))
    if (best === undefined || better(scores, node.id, bestScores, best.id)) {
      best = node
      bestScores = scores
    }
  }
  return best
}

function better(scores: readonly number[], id: string, than: readonly number[], thanId: string): boolean {
  for (let i = 0; i < scores.length; i++) {
    const a = scores[i] ?? 0
    const b = than[i] ?? 0
    if (a !== b) return a > b
  }
  return id < thanId
}

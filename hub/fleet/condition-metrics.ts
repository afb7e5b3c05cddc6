import type { Clock } from '../../common/clock.js'
import type { Metrics } from '../metrics.js'
import type { HubStore } from '../store/hub-store.js'
import type { NodeRecord } from '../store/node-repository.js'
import type { NodeFacts } from './fleet-facts.js'
import { fleetFacts } from './fleet-facts.js'
import { type ConditionType, nodeCondition } from './node-conditions.js'

const CONDITIONS: readonly ConditionType[] = ['Ready', 'Offline', 'Degraded']

/** How many nodes are in each condition; every condition appears, zero or not. Pure. */
export function countConditions(nodes: readonly NodeRecord[], facts: (nodeId: string) => NodeFacts, now: number): Map<ConditionType, number> {
  const counts = new Map<ConditionType, number>(CONDITIONS.map((condition) => [condition, 0]))
  for (const node of nodes) {
    const { workloads, latestGeneration } = facts(node.id)
    const type = nodeCondition(node, workloads, latestGeneration, now).type
    counts.set(type, (counts.get(type) ?? 0) + 1)
  }
  return counts
}

/** `shoal_nodes{condition=...}`, computed from the store when /metrics is read. */
export function registerConditionMetrics(metrics: Metrics, store: HubStore, clock: Clock): void {
  metrics.describe('shoal_nodes', 'nodes by condition')
  metrics.gauge('shoal_nodes', () => {
    const counts = countConditions(store.nodes.list(), fleetFacts(store), clock.now())
    return new Map([...counts].map(([condition, count]) => [`{condition="${condition}"}`, count]))
  })
  // A count, not a series per node: one line whatever the fleet's size. Which nodes, and by how
  // much, is in the API (node.clock) and the ClockSkew events.
  metrics.describe('shoal_nodes_clock_skewed', "nodes whose clock is further from the hub's than the ClockSkew threshold")
  metrics.gauge('shoal_nodes_clock_skewed', () => new Map([['', countSkewed(store.nodes.list())]]))
}

/** Nodes with ClockSkew on, online or not. Pure. */
export function countSkewed(nodes: readonly NodeRecord[]): number {
  return nodes.filter((node) => (node.clockSkewSince ?? null) !== null).length
}

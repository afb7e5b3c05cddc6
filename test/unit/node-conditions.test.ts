import t from 'tap'
import { countConditions } from '../../hub/fleet/condition-metrics.js'
import type { NodeFacts } from '../../hub/fleet/fleet-facts.js'
import { nodeCondition } from '../../hub/fleet/node-conditions.js'
import type { NodeRecord } from '../../hub/store/node-repository.js'
import type { WorkloadStatusRecord } from '../../hub/store/status-repository.js'
import { nodeRecord } from '../support/hub-nodes.js'

const NOW = Date.parse('2026-12-05T12:00:00Z')
const ago = (ms: number): string => new Date(NOW - ms).toISOString()

function node(id: string, overrides: Partial<NodeRecord> = {}): NodeRecord {
  return {
    ...nodeRecord(id),
    cordoned: false,
    online: true,
    offlineSince: null,
    lastSeenAt: ago(1_000),
    lastHeartbeat: null,
    observedGeneration: 3,
    ...overrides,
  }
}

const workload = (name: string, state: WorkloadStatusRecord['state']): WorkloadStatusRecord => ({ name, state }) as WorkloadStatusRecord

t.test('an online node with a fresh heartbeat and healthy workloads is Ready with no reasons', async (t) => {
  t.same(nodeCondition(node('a'), [workload('web', 'running')], 3, NOW), { type: 'Ready', since: null, reasons: [] })
})

t.test('an offline node is Offline since when it went, or "never connected"', async (t) => {
  t.same(nodeCondition(node('a', { online: false, offlineSince: ago(60_000) }), [], 3, NOW), { type: 'Offline', since: ago(60_000), reasons: [] })
  t.same(nodeCondition(node('a', { online: false }), [], 0, NOW).reasons, ['never connected'])
})

t.test('a late heartbeat, a crash-looping workload and a deep outbox each make it Degraded with a reason', async (t) => {
  const late = nodeCondition(node('a', { lastSeenAt: ago(46_000) }), [], 3, NOW)
  t.equal(late.type, 'Degraded')
  t.same(late.reasons, ['no heartbeat for 46s'], 'three 15 s intervals have passed')
  t.equal(nodeCondition(node('a', { lastSeenAt: ago(44_000) }), [], 3, NOW).type, 'Ready', 'still within three intervals')
  t.same(nodeCondition(node('a'), [workload('web', 'crash-loop'), workload('db', 'failed')], 3, NOW).reasons, ['web is crash-loop', 'db is failed'])
  const heartbeat = { outboxDepth: 1001 } as NonNullable<NodeRecord['lastHeartbeat']>
  t.same(nodeCondition(node('a', { lastHeartbeat: heartbeat }), [], 3, NOW).reasons, ['1001 reports waiting in its outbox'])
})

t.test('a node behind the latest generation is Ready, saying what it is applying', async (t) => {
  t.same(nodeCondition(node('a', { observedGeneration: 2 }), [], 3, NOW), { type: 'Ready', since: null, reasons: ['applying generation 3 (has 2)'] })
})

t.test('countConditions counts every node once and names every condition, zero or not', async (t) => {
  const facts =
    (workloads: Record<string, WorkloadStatusRecord[]>) =>
    (id: string): NodeFacts => ({ workloads: workloads[id] ?? [], latestGeneration: 3 })
  const nodes = [node('a'), node('b', { online: false }), node('c'), node('d', { lastSeenAt: ago(120_000) })]
  const counts = countConditions(nodes, facts({ c: [workload('web', 'crash-loop')] }), NOW)
  t.same(
    [...counts],
    [
      ['Ready', 1],
      ['Offline', 1],
      ['Degraded', 2],
    ],
  )
  t.same(
    [...countConditions([], facts({}), NOW)],
    [
      ['Ready', 0],
      ['Offline', 0],
      ['Degraded', 0],
    ],
  )
})

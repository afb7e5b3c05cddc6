import t from 'tap'
import { durableHeartbeatChanges, type DurableHeartbeatChange } from '../../hub/store/heartbeat-durability.js'
import type { Heartbeat } from '../../protocol/index.js'

const stored: Heartbeat = {
  nodeId: 'n1',
  at: '2026-01-01T00:00:00.000Z',
  uptimeSeconds: 100,
  observedGeneration: 4,
  outboxDepth: 0,
  cpuPercent: 3,
  memory: { usedBytes: 100, totalBytes: 1000 },
  disk: { usedBytes: 10, totalBytes: 500 },
  workloads: { running: 2, total: 2 },
  traffic: { month: '2026-01', bytes: { control: 1, status: 2, logs: 3, images: 4, sessions: 5 }, budgetBytes: 1_000_000 },
  desiredEncodings: ['gzip'],
}

t.test('the first heartbeat of a node is always written', async (t) => {
  t.same(durableHeartbeatChanges(null, stored), ['first-heartbeat'])
})

t.test('an idle heartbeat changes nothing durable, whatever its counters say', async (t) => {
  const soft: [string, Heartbeat][] = [
    ['the same heartbeat', stored],
    ['a later time and uptime', { ...stored, at: '2026-01-01T00:00:15.000Z', uptimeSeconds: 115 }],
    ['a rebooted node (uptime back to zero)', { ...stored, uptimeSeconds: 0 }],
    ['another load', { ...stored, cpuPercent: 97 }],
    ['no load figure', { ...stored, cpuPercent: null }],
    ['memory used', { ...stored, memory: { usedBytes: 900, totalBytes: 1000 } }],
    ['disk used', { ...stored, disk: { usedBytes: 400, totalBytes: 500 } }],
    ['outbox depth', { ...stored, outboxDepth: 12 }],
    ['workload counts (statuses carry them durably)', { ...stored, workloads: { running: 1, total: 3 } }],
    ['traffic counters', { ...stored, traffic: { ...stored.traffic!, bytes: { control: 10, status: 20, logs: 30, images: 40, sessions: 50 } } }],
    ['the encodings in another order', { ...stored, desiredEncodings: ['zstd', 'gzip'] }],
  ]
  for (const [what, latest] of soft) {
    const base = what === 'the encodings in another order' ? { ...stored, desiredEncodings: ['gzip', 'zstd'] } : stored
    t.same(durableHeartbeatChanges(base, latest), [], what)
  }
})

t.test('each durable field, changed alone, is named', async (t) => {
  const durable: [DurableHeartbeatChange, Heartbeat][] = [
    ['observed-generation', { ...stored, observedGeneration: 5 }],
    ['desired-encodings', { ...stored, desiredEncodings: [] }],
    ['memory-total', { ...stored, memory: { usedBytes: 100, totalBytes: 2000 } }],
    ['disk-total', { ...stored, disk: { usedBytes: 10, totalBytes: 600 } }],
    ['disk-total', { ...stored, disk: null }],
    ['traffic-month', { ...stored, traffic: { ...stored.traffic!, month: '2026-02' } }],
    ['traffic-budget', { ...stored, traffic: { month: '2026-01', bytes: stored.traffic!.bytes } }],
  ]
  for (const [change, latest] of durable) t.same(durableHeartbeatChanges(stored, latest), [change], change)
})

t.test('absent and empty encodings both mean plain JSON only', async (t) => {
  const { desiredEncodings: _, ...plain } = stored
  t.same(durableHeartbeatChanges({ ...stored, desiredEncodings: [] }, plain), [])
  t.same(durableHeartbeatChanges(plain, stored), ['desired-encodings'])
})

t.test('traffic appearing or going is a change of month (and of budget when one was set)', async (t) => {
  const { traffic: _, ...withoutTraffic } = stored
  t.same(durableHeartbeatChanges(withoutTraffic, stored), ['traffic-month', 'traffic-budget'])
  t.same(durableHeartbeatChanges(stored, withoutTraffic), ['traffic-month', 'traffic-budget'])
})

t.test('several changes at once are all named, in a fixed order', async (t) => {
  const latest: Heartbeat = {
    ...stored,
    observedGeneration: 9,
    desiredEncodings: [],
    memory: { usedBytes: 0, totalBytes: 1 },
    disk: null,
    traffic: { month: '2026-02', bytes: stored.traffic!.bytes, budgetBytes: 5 },
  }
  t.same(durableHeartbeatChanges(stored, latest), ['observed-generation', 'desired-encodings', 'memory-total', 'disk-total', 'traffic-month', 'traffic-budget'])
})

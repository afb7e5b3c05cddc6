// The hub keeps its own time (issue 20 item 2): each node's clock offset estimated from its
// heartbeats, the ClockSkew condition with its start and end events, workload ages on the hub's
// clock, and the metric. The pure rules first, then through the Ingester on a real SQLite file.
import path from 'node:path'
import { pino } from 'pino'
import t from 'tap'
import { clockView, nodeView } from '../../hub/api/views.js'
import { countSkewed, registerConditionMetrics } from '../../hub/fleet/condition-metrics.js'
import { nodeCondition } from '../../hub/fleet/node-conditions.js'
import { ChangeFeed, type Change } from '../../hub/ingest/change-feed.js'
import { MIN_SAMPLES, OFFSET_WINDOW, addSample, describeOffset, estimateOffset, hubSince, skewChange, skewReason } from '../../hub/ingest/clock-offset.js'
import { Ingester } from '../../hub/ingest/ingester.js'
import { Metrics } from '../../hub/metrics.js'
import { HubStore } from '../../hub/store/hub-store.js'
import type { NodeRecord } from '../../hub/store/node-repository.js'
import { openHubDatabase } from '../../hub/store/open-hub-database.js'
import { encodeMessage, type Heartbeat, type NodeStatus, type OutboxBatch } from '../../protocol/index.js'
import { metricValue } from '../support/hub-process.js'
import { nodeRecord } from '../support/hub-nodes.js'
import { tempDir } from '../support/tmp.js'

const T0 = Date.parse('2026-06-01T12:00:00.000Z')
const iso = (ms: number): string => new Date(ms).toISOString()
const SECOND = 1000
const MINUTE = 60 * SECOND
const YEAR = 365.25 * 24 * 60 * MINUTE
const THRESHOLD = 2 * MINUTE

t.test('estimateOffset: the least delayed sample (delays only ever pull a sample down)', async (t) => {
  t.equal(estimateOffset([]), null)
  t.equal(estimateOffset([-25 * YEAR - 300, -25 * YEAR - 40, -25 * YEAR - 9_000]), -25 * YEAR - 40, 'behind: the one closest to zero')
  t.equal(estimateOffset([3 * YEAR - 500, 3 * YEAR - 20]), 3 * YEAR - 20, 'ahead: the largest, not the smallest in size')
  t.equal(estimateOffset([-40, -5 * MINUTE]), -40, 'a heartbeat held up five minutes does not make a clock look behind')
})

t.test('addSample: a bounded window that follows a clock stepped back at once', async (t) => {
  let window: readonly number[] = []
  for (let i = 0; i < OFFSET_WINDOW + 3; i++) window = addSample(window, -i, THRESHOLD)
  t.equal(window.length, OFFSET_WINDOW, 'keeps the last few samples only')
  // A node 3 years ahead is fixed by NTP: one sample near zero could be a delayed heartbeat...
  let ahead: readonly number[] = [3 * YEAR, 3 * YEAR - 10, 3 * YEAR - 5]
  ahead = addSample(ahead, -30, THRESHOLD)
  t.equal(estimateOffset(ahead), 3 * YEAR, 'one low sample alone changes nothing')
  ahead = addSample(ahead, -12, THRESHOLD)
  t.same(ahead, [-30, -12], `${MIN_SAMPLES} in a row far below the estimate: the old clock is gone`)
  t.equal(estimateOffset(ahead), -12)
})

t.test('skewChange: starts beyond the threshold with enough samples, in either direction; ends within it', async (t) => {
  t.equal(skewChange(false, [], THRESHOLD), null)
  t.equal(skewChange(false, [-25 * YEAR], THRESHOLD), null, 'one sample is not enough to start')
  t.equal(skewChange(false, [-25 * YEAR, -25 * YEAR + 10], THRESHOLD), 'started')
  t.equal(skewChange(false, [3 * YEAR, 3 * YEAR], THRESHOLD), 'started', 'ahead too')
  t.equal(skewChange(true, [3 * YEAR, 3 * YEAR], THRESHOLD), null, 'already on: nothing new')
  t.equal(skewChange(false, [90 * SECOND, 100 * SECOND], THRESHOLD), null, 'within the threshold: ignored')
  t.equal(skewChange(false, [-THRESHOLD, -THRESHOLD], THRESHOLD), null, 'exactly at the threshold: ignored')
  t.equal(skewChange(true, [-25 * YEAR, -15], THRESHOLD), 'ended', 'a clock fixed by NTP ends it at the next heartbeat')
})

t.test('describeOffset and skewReason say the size and the sign', async (t) => {
  t.equal(describeOffset(-25 * YEAR), '25.0y behind')
  t.equal(describeOffset(3 * YEAR + 1000), '3.0y ahead')
  t.equal(describeOffset(2 * 3_600_000 + 5 * MINUTE), '2h ahead')
  t.equal(describeOffset(-3 * MINUTE), '3m behind')
  t.equal(describeOffset(-40 * SECOND), '40s behind')
  t.equal(skewReason(-25 * YEAR), `ClockSkew: clock 25.0y behind the hub's (${Math.round((-25 * YEAR) / 1000)}s)`)
  t.equal(skewReason(3 * MINUTE), "ClockSkew: clock 3m ahead the hub's (+180s)")
})

t.test('hubSince: a workload state put on the hub clock', async (t) => {
  const base = { receivedAt: iso(T0), enrolledAt: iso(T0 - 3_600_000), toleranceMs: THRESHOLD }
  const behind = -25 * YEAR
  t.equal(
    hubSince({ ...base, since: iso(T0 + behind - 10 * MINUTE), statusAt: iso(T0 + behind - 5 * MINUTE), offsetMs: behind }),
    iso(T0 - 10 * MINUTE),
    'with the measured offset: exact, also for a status that waited five minutes in the outbox',
  )
  t.equal(
    hubSince({ ...base, since: iso(T0 + behind - 10 * MINUTE), statusAt: iso(T0 + behind), offsetMs: null }),
    iso(T0 - 10 * MINUTE),
    "without an offset: relative to the receipt, from the node's own duration",
  )
  t.equal(
    hubSince({ ...base, since: iso(T0 - 10 * MINUTE), statusAt: iso(T0), offsetMs: behind }),
    iso(T0 - 10 * MINUTE),
    'an offset that no longer fits (the clock was fixed since) is not used',
  )
  t.equal(hubSince({ ...base, since: iso(T0 + behind), statusAt: iso(T0 + behind), offsetMs: behind - MINUTE }), iso(T0), 'never later than the receipt')
  t.equal(
    hubSince({ ...base, since: iso(T0 - 25 * YEAR), statusAt: iso(T0), offsetMs: 0, previous: { since: iso(T0 - 25 * YEAR), hubSince: iso(T0 - 7 * MINUTE) } }),
    iso(T0 - 7 * MINUTE),
    'an unchanged state keeps the hub time it was first given, whatever the clock did since',
  )
})

t.test('nodeCondition: ClockSkew is a reason (Degraded), with the offset', async (t) => {
  const node = (overrides: Partial<NodeRecord>): NodeRecord => ({
    ...nodeRecord('a'),
    cordoned: false,
    online: true,
    offlineSince: null,
    lastSeenAt: iso(T0 - SECOND),
    lastHeartbeat: null,
    observedGeneration: 1,
    ...overrides,
  })
  const skewed = node({ clockOffsetMs: 3 * YEAR, clockSkewSince: iso(T0 - MINUTE) })
  t.same(nodeCondition(skewed, [], 1, T0), { type: 'Degraded', since: null, reasons: [skewReason(3 * YEAR)] })
  t.same(nodeCondition(node({ clockOffsetMs: 90 * SECOND, clockSkewSince: null }), [], 1, T0).type, 'Ready', 'an offset below the threshold is no reason')
  t.equal(countSkewed([skewed, node({}), node({ clockSkewSince: iso(T0), online: false })]), 2)
  t.same(clockView(skewed), { offsetSeconds: Math.round((3 * YEAR) / 100) / 10, skewed: true, skewedSince: iso(T0 - MINUTE), nodeTime: null })
})

function setup(t: { teardown(fn: () => unknown): void }) {
  const store = new HubStore(openHubDatabase(path.join(tempDir(t, 'clock-skew'), 'hub.db')))
  t.teardown(() => store.close())
  let now = T0
  const clock = { now: () => now }
  const metrics = new Metrics()
  const feed = new ChangeFeed()
  const changes: Change[] = []
  feed.subscribe((change) => changes.push(change))
  registerConditionMetrics(metrics, store, clock)
  const newIngester = () =>
    new Ingester({
      store,
      clock,
      logger: pino({ level: 'silent' }),
      metrics,
      feed,
      publishAck: async () => undefined,
      onPresenceChange: () => undefined,
      clockSkewThresholdMs: THRESHOLD,
    })
  let ingester = newIngester()
  store.nodes.insert(nodeRecord('n1', { createdAt: iso(T0 - 3_600_000) }))
  const heartbeat = (nodeAt: number): void => {
    const beat: Heartbeat = {
      nodeId: 'n1',
      at: iso(nodeAt),
      uptimeSeconds: 5,
      observedGeneration: 0,
      outboxDepth: 0,
      cpuPercent: 1,
      memory: { usedBytes: 1, totalBytes: 2 },
      disk: null,
      workloads: { running: 1, total: 1 },
    }
    ingester.handle('n1', 'heartbeat', encodeMessage(beat))
  }
  let seq = 0
  const status = (body: NodeStatus): void => {
    const batch: OutboxBatch = { nodeId: 'n1', epoch: 'e1', records: [{ nodeId: 'n1', seq: ++seq, kind: 'status', body }] }
    ingester.handle('n1', 'outbox', encodeMessage(batch))
  }
  return {
    store,
    metrics,
    changes,
    heartbeat,
    status,
    advance: (ms: number) => {
      now += ms
    },
    now: () => now,
    /** A hub restart: the samples held in memory are gone, the stored state is not. */
    restart: () => {
      ingester = newIngester()
    },
    skewEvents: () => store.status.events({ nodeId: 'n1' }).filter((e) => e.type.startsWith('ClockSkew')),
  }
}

t.test('through the ingester: a node 25 years behind gets ClockSkew once, its workloads hub-time ages, and it ends when fixed', async (t) => {
  const hub = setup(t)
  const offset = -25 * YEAR
  hub.heartbeat(hub.now() + offset - 30) // 30 ms of link delay
  t.equal(hub.store.nodes.get('n1')?.clockSkewSince, null, 'one heartbeat is not enough')
  hub.advance(15 * SECOND)
  hub.heartbeat(hub.now() + offset - 12)
  const node = hub.store.nodes.get('n1') as NodeRecord
  t.equal(node.clockSkewSince, iso(hub.now()), 'ClockSkew since the second heartbeat, on the hub clock')
  t.equal(node.clockOffsetMs, offset - 12, 'the least delayed sample')
  t.equal(node.lastSeenAt, iso(hub.now()), "last seen is the hub's receive time")
  t.equal(node.lastHeartbeatAt, iso(hub.now()))
  const [started] = hub.skewEvents()
  t.match(started, { type: 'ClockSkew', severity: 'warning', nodeId: 'n1', seq: null, at: iso(hub.now()), receivedAt: iso(hub.now()) }, 'a hub-recorded event')
  t.match(started?.message, /clock is 25\.0y behind the hub's/)
  t.equal(started?.data?.offsetSeconds, Math.round((offset - 12) / 1000))
  t.ok(
    hub.changes.some((c) => c.type === 'event' && c.eventType === 'ClockSkew' && c.id === started?.id && c.receivedAt === iso(hub.now())),
    'on the stream with its id and the hub time',
  )
  t.equal(metricValue(hub.metrics.render(), 'shoal_nodes_clock_skewed'), 1, 'counted in the metric')
  t.equal(metricValue(hub.metrics.render(), 'shoal_nodes', { condition: 'Degraded' }), 1)

  hub.advance(15 * SECOND)
  hub.heartbeat(hub.now() + offset - 20)
  t.equal(hub.skewEvents().length, 1, 'said once, not at every heartbeat')

  // A workload that started ten minutes ago by the node's clock, reported now.
  hub.status({
    nodeId: 'n1',
    observedGeneration: 1,
    at: iso(hub.now() + offset),
    workloads: [{ name: 'web', deployment: 'web', revision: 1, state: 'running', health: 'none', restarts: 0, since: iso(hub.now() + offset - 10 * MINUTE) }],
  })
  const [web] = hub.store.status.workloads({ nodeId: 'n1' })
  t.equal(web?.since, iso(hub.now() + offset - 10 * MINUTE), "the node's own time is kept")
  t.equal(Date.parse(web?.hubSince ?? '') - (hub.now() - 10 * MINUTE), 12, 'beside it, the hub time: ten minutes ago (less the link delay)')
  t.equal(web?.reportedAt, iso(hub.now()))

  const view = nodeView(hub.store, hub.store.nodes.get('n1') as NodeRecord, hub.now(), [])
  t.equal(view.usage?.receivedAt, iso(hub.now()), 'usage carries the hub receive time...')
  t.equal(view.usage?.at, iso(hub.now() + offset - 20), "...beside the node's own")
  t.match(view.condition.reasons, [/^ClockSkew: clock 25\.0y behind/])
  t.equal(view.clock.skewed, true)

  // NTP fixes the clock: the next heartbeat ends it; the workload's hub time does not move.
  hub.advance(15 * SECOND)
  hub.heartbeat(hub.now() - 15)
  t.equal(hub.store.nodes.get('n1')?.clockSkewSince, null)
  t.same(
    hub.skewEvents().map((e) => [e.type, e.severity]),
    [
      ['ClockSkew', 'warning'],
      ['ClockSkewCleared', 'info'],
    ],
  )
  t.equal(metricValue(hub.metrics.render(), 'shoal_nodes_clock_skewed'), 0)
  hub.status({
    nodeId: 'n1',
    observedGeneration: 1,
    at: iso(hub.now()),
    workloads: [{ name: 'web', deployment: 'web', revision: 1, state: 'running', health: 'none', restarts: 0, since: web?.since ?? '' }],
  })
  t.equal(hub.store.status.workloads({ nodeId: 'n1' })[0]?.hubSince, web?.hubSince, 'the same state keeps its hub time')
})

t.test('through the ingester: a node 3 years ahead; within the threshold nothing is said; restarts do not repeat the event', async (t) => {
  const hub = setup(t)
  hub.heartbeat(hub.now() + 90 * SECOND)
  hub.advance(15 * SECOND)
  hub.heartbeat(hub.now() + 90 * SECOND)
  t.same(hub.skewEvents(), [], '90 s ahead is within the 2 minute threshold')
  t.equal(hub.store.nodes.get('n1')?.clockOffsetMs, 90 * SECOND, 'the offset is still measured and shown')

  // Stepped 3 years ahead: no delay makes a sample too high, so with samples already in hand
  // the step is believed at the first heartbeat that shows it.
  hub.advance(15 * SECOND)
  hub.heartbeat(hub.now() + 3 * YEAR)
  t.same(
    hub.skewEvents().map((e) => e.type),
    ['ClockSkew'],
  )
  const since = iso(hub.now())
  hub.advance(15 * SECOND)
  hub.heartbeat(hub.now() + 3 * YEAR - 8)
  t.same(
    hub.skewEvents().map((e) => e.type),
    ['ClockSkew'],
    'once',
  )
  t.match(hub.skewEvents()[0]?.message, /3\.0y ahead/)
  t.ok(Number(hub.store.nodes.get('n1')?.clockOffsetMs) > 0, 'ahead is positive')
  // The skew state is stored at once: the state decided survives the in-memory samples.
  t.equal((hub.store.db.prepare('SELECT clock_skew_since FROM nodes WHERE id = ?').get('n1') as { clock_skew_since: string | null }).clock_skew_since, since)
  hub.store.nodes.flushHeartbeats()
  t.equal((hub.store.db.prepare('SELECT clock_offset_ms FROM nodes WHERE id = ?').get('n1') as { clock_offset_ms: number }).clock_offset_ms, 3 * YEAR)
  hub.restart()
  for (let i = 0; i < 3; i++) {
    hub.advance(15 * SECOND)
    hub.heartbeat(hub.now() + 3 * YEAR - 5)
  }
  t.same(
    hub.skewEvents().map((e) => e.type),
    ['ClockSkew'],
    'a restarted hub does not say it again',
  )
  t.equal(hub.store.nodes.get('n1')?.clockSkewSince, since, 'and keeps when it began')
})

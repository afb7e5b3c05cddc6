import t from 'tap'
import { OFFLINE_FLOOR_MS, offlineAfterMs, silenceMs, silentNodes } from '../../hub/fleet/presence-monitor.js'
import type { NodeRecord } from '../../hub/store/node-repository.js'
import { nodeRecord } from '../support/hub-nodes.js'

const T0 = Date.parse('2026-03-01T00:00:00.000Z')
const iso = (ms: number) => new Date(ms).toISOString()
/** A node as the store would read it: online unless said, last seen at `lastSeenAt`. */
const node = (id: string, lastSeenAt: string | null, online = true): NodeRecord => ({
  ...nodeRecord(id, { heartbeatIntervalMs: 15_000, createdAt: iso(T0) }),
  cordoned: false,
  online,
  offlineSince: null,
  lastSeenAt,
  lastHeartbeat: null,
  observedGeneration: 0,
})

t.test('silence counts from the last sighting, or from the hub start when that is later', async (t) => {
  t.equal(silenceMs(iso(T0), T0 + 5_000, T0 - 60_000), 5_000, 'seen since the hub started')
  t.equal(silenceMs(iso(T0), T0 + 5_000, T0 + 4_000), 1_000, 'seen before the hub started: from the start')
  t.equal(silenceMs(iso(T0), T0 + 5_000, T0), 5_000, 'seen as the hub started')
  t.equal(silenceMs(null, T0 + 5_000, T0), null, 'never seen: no silence to count')
})

t.test('the grace period is four heartbeat intervals, at least a minute', async (t) => {
  t.equal(offlineAfterMs({ heartbeatIntervalMs: 1_000 }), OFFLINE_FLOOR_MS)
  t.equal(offlineAfterMs({ heartbeatIntervalMs: 60_000 }), 240_000)
})

t.test('a hub back after an outage longer than the grace period marks no node silent until a grace period has passed', async (t) => {
  const nodes = ['a', 'b', 'c'].map((id) => node(id, iso(T0)))
  const restartedAt = T0 + 3_600_000
  t.same(silentNodes(nodes, restartedAt, restartedAt), [], 'at the start')
  t.same(silentNodes(nodes, restartedAt + OFFLINE_FLOOR_MS, restartedAt), [], 'at the end of the grace period')
  t.same(
    silentNodes(nodes, restartedAt + OFFLINE_FLOOR_MS + 1, restartedAt).map((n) => n.id),
    ['a', 'b', 'c'],
    'after it, the ones still silent',
  )
  t.same(silentNodes(nodes, T0 + OFFLINE_FLOOR_MS + 1, T0).length, 3, 'a hub that never stopped counts from last seen')
})

t.test('offline nodes and nodes never seen are never silent', async (t) => {
  t.same(silentNodes([node('off', iso(T0), false), node('new', null)], T0 + 10 * OFFLINE_FLOOR_MS, T0), [])
})

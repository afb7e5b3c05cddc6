// The units startHub is assembled from that hold a decision: the teardown order, the transport
// a managed external broker is reached with, the API's URL and console directory, what a
// connection opening or closing does, the presence sweep, and the heartbeat flush that survives
// a failed write. Against a real SQLite hub store and a real ingester where they touch one.
import { createServer } from 'node:http'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import pino from 'pino'
import t from 'tap'
import { sweepSilentNodes } from '../../hub/fleet/presence-monitor.js'
import { ChangeFeed, type Change } from '../../hub/ingest/change-feed.js'
import { connectionEvents } from '../../hub/ingest/connection-events.js'
import { heartbeatFlusher } from '../../hub/ingest/heartbeat-flush.js'
import { Ingester } from '../../hub/ingest/ingester.js'
import { Metrics } from '../../hub/metrics.js'
import { HubStore } from '../../hub/store/hub-store.js'
import { openHubDatabase } from '../../hub/store/open-hub-database.js'
import { apiUrlOf, closeServer, consoleDirOf, listen } from '../../hub/wiring/api-server.js'
import { transportConfigFor } from '../../hub/wiring/broker-link.js'
import { Teardown } from '../../hub/wiring/teardown.js'
import type { Heartbeat } from '../../protocol/index.js'
import { nodeRecord } from '../support/hub-nodes.js'
import { tempDir } from '../support/tmp.js'
import type { TestLike } from '../support/types.js'

const T0 = Date.parse('2030-01-01T00:00:00.000Z')
const iso = (ms: number): string => new Date(ms).toISOString()

function openStore(t: TestLike): HubStore {
  const store = new HubStore(openHubDatabase(path.join(tempDir(t, 'hub-assembly'), 'hub.db')))
  t.teardown(() => {
    if (store.db.open) store.close()
  })
  return store
}

function realIngester(store: HubStore, clock: { now(): number }) {
  const feed = new ChangeFeed()
  const changes: Change[] = []
  feed.subscribe((change) => changes.push(change))
  const presence: [string, boolean][] = []
  const metrics = new Metrics()
  const ingester = new Ingester({
    store,
    clock,
    logger: pino({ level: 'silent' }),
    metrics,
    feed,
    publishAck: async () => {},
    onPresenceChange: (nodeId, online) => void presence.push([nodeId, online]),
  })
  return { ingester, changes, presence, metrics }
}

t.test('Teardown', async (t) => {
  t.test('stop runs the steps in reverse order, once', async (t) => {
    const ran: string[] = []
    const teardown = new Teardown()
    for (const name of ['store', 'transport', 'fleet']) teardown.add(async () => void ran.push(name))
    await teardown.run()
    await teardown.run()
    t.same(ran, ['fleet', 'transport', 'store'])
  })
  t.test("stop ends at the first failing step, with that step's error", async (t) => {
    const ran: string[] = []
    const teardown = new Teardown()
    teardown.add(() => void ran.push('store'))
    teardown.add(() => {
      throw new Error('fleet would not stop')
    })
    await t.rejects(teardown.run(), /fleet would not stop/)
    t.same(ran, [])
  })
  t.test("abandon runs every step whatever fails, and throws the start's error", async (t) => {
    const ran: string[] = []
    const teardown = new Teardown()
    teardown.add(() => void ran.push('store'))
    teardown.add(() => Promise.reject(new Error('transport close failed')))
    teardown.add(() => void ran.push('fleet'))
    const startError = new Error('EADDRINUSE')
    t.equal(await teardown.abandon(startError).catch((e: unknown) => e), startError)
    t.same(ran, ['fleet', 'store'])
  })
})

t.test('transportConfigFor: a managed external broker is reached with the hub’s own credentials', async (t) => {
  const mqtt = { kind: 'mqtt', url: 'mqtt://broker:1883' } as const
  t.same(transportConfigFor(mqtt, { hubUrl: 'mqtt://shoal_hub:pw@broker:1883' }), { kind: 'mqtt', url: 'mqtt://shoal_hub:pw@broker:1883' })
  t.equal(transportConfigFor(mqtt, null), mqtt, 'unmanaged: as configured')
  const embedded = { kind: 'embedded', host: '0.0.0.0', port: 1883 } as const
  t.equal(transportConfigFor(embedded, { hubUrl: 'x' }), embedded, 'the embedded broker has no URL to replace')
})

t.test('apiUrlOf puts an IPv6 host in brackets', async (t) => {
  t.equal(apiUrlOf('127.0.0.1', 8080), 'http://127.0.0.1:8080')
  t.equal(apiUrlOf('::1', 8080), 'http://[::1]:8080')
})

t.test('consoleDirOf: as configured, off with null, else beside the built hub', async (t) => {
  t.equal(consoleDirOf('/srv/console'), '/srv/console')
  t.equal(consoleDirOf(null), null)
  t.equal(consoleDirOf(undefined, 'file:///opt/shoal/dist/hub/wiring/api-server.js'), fileURLToPath('file:///opt/shoal/dist/console/'))
})

t.test('listen answers the bound port, rejects a port in use, and closeServer closes', async (t) => {
  const first = createServer()
  const port = await listen(first, '127.0.0.1', 0)
  t.ok(port > 0)
  const second = createServer()
  await t.rejects(listen(second, '127.0.0.1', port), { code: 'EADDRINUSE' })
  await closeServer(first)
  t.equal(first.listening, false)
})

t.test('connectionEvents', async (t) => {
  const store = openStore(t)
  store.nodes.insert(nodeRecord('n1', { createdAt: iso(T0) }))
  const { ingester, changes, presence, metrics } = realIngester(store, { now: () => T0 })
  const sessionCalls: string[] = []
  const sessions = {
    receive: (nodeId: string, payload: Buffer) => sessionCalls.push(`frame ${nodeId} ${payload.length}`),
    nodeOffline: (nodeId: string) => sessionCalls.push(`offline ${nodeId}`),
    linkDown: (why: string) => sessionCalls.push(`link down: ${why}`),
  }
  const handlers = connectionEvents(store, ingester, { now: () => T0 }, sessions)
  handlers.onNodeConnected('n1')
  t.match(store.nodes.get('n1'), { online: true, lastSeenAt: iso(T0) })
  handlers.onNodeConnected('shoal_hub')
  t.equal(store.nodes.exists('shoal_hub'), false, 'a client that is no node changes nothing')
  handlers.onNodeDisconnected('n1')
  t.match(store.nodes.get('n1'), { online: false, offlineSince: iso(T0) })
  handlers.onNodeDisconnected('ghost')
  t.same(presence, [
    ['n1', true],
    ['n1', false],
  ])
  t.same(
    changes.filter((c) => c.type === 'node').map((c) => c.type === 'node' && c.reason),
    ['online', 'offline'],
  )
  t.match(
    store.status.events({ nodeId: 'n1' }).map((e) => e.message),
    ['n1 is online', 'n1 is offline: its broker connection closed'],
  )
  handlers.onMessage('n1', 'heartbeat', Buffer.from('not json'))
  t.match(metrics.render(), /shoal_messages_in_total\{channel="heartbeat"\} 1/, 'messages go to the ingester')
  handlers.onSessionFrame('n1', Buffer.alloc(21))
  t.same(sessionCalls, ['offline n1', 'offline ghost', 'frame n1 21'], "session frames go to the session relay, which hears of a connection's end")
})

t.test('sweepSilentNodes marks offline only online nodes silent for too long', async (t) => {
  const store = openStore(t)
  for (const id of ['quiet', 'fresh', 'down']) store.nodes.insert(nodeRecord(id, { heartbeatIntervalMs: 15_000, createdAt: iso(T0) }))
  store.nodes.setOnline('quiet', true, iso(T0))
  store.nodes.setOnline('fresh', true, iso(T0 + 100_000))
  let now = T0 + 61_000
  const clock = { now: () => now }
  const { ingester } = realIngester(store, clock)
  const markOffline = (id: string, at: string, why: string) => ingester.markOffline(id, at, why)
  t.same(sweepSilentNodes(store, markOffline, clock, T0), ['quiet'])
  t.match(store.nodes.get('quiet'), { online: false, offlineSince: iso(T0 + 61_000) })
  t.match(store.status.events({ nodeId: 'quiet' })[0]?.message, 'no heartbeat or message for too long')
  t.same(sweepSilentNodes(store, markOffline, clock, T0), [], 'an offline node is not marked again')
  now = T0 + 161_000
  t.same(sweepSilentNodes(store, markOffline, clock, T0), ['fresh'])
})

t.test('sweepSilentNodes after a hub restart counts silence from the start, not from a stale last seen', async (t) => {
  const store = openStore(t)
  for (const id of ['back', 'gone']) store.nodes.insert(nodeRecord(id, { heartbeatIntervalMs: 15_000, createdAt: iso(T0) }))
  store.nodes.setOnline('back', true, iso(T0))
  store.nodes.setOnline('gone', true, iso(T0))
  // The hub was down for ten minutes; it starts at T0 + 600 s with both still online in its store.
  const startedAt = T0 + 600_000
  let now = startedAt + 1_000
  const clock = { now: () => now }
  const { ingester } = realIngester(store, clock)
  const markOffline = (id: string, at: string, why: string) => ingester.markOffline(id, at, why)
  t.same(sweepSilentNodes(store, markOffline, clock, startedAt), [], 'last seen ten minutes ago marks nobody offline on start')
  now = startedAt + 30_000
  store.nodes.touch('back', iso(now))
  now = startedAt + 60_000
  t.same(sweepSilentNodes(store, markOffline, clock, startedAt), [], 'the grace period (60 s) is not over yet')
  now = startedAt + 61_000
  t.same(sweepSilentNodes(store, markOffline, clock, startedAt), ['gone'], 'a node that never came back goes a whole grace period after the start')
  t.equal(store.nodes.get('back')?.online, true)
  t.equal(store.status.events({ nodeId: 'back' }).length, 0, 'nothing said about the node that came back')
})

t.test('heartbeatFlusher writes held heartbeats, and on a failed write logs and keeps them', async (t) => {
  const store = openStore(t)
  store.nodes.insert(nodeRecord('n1', { createdAt: iso(T0) }))
  const beat: Heartbeat = {
    nodeId: 'n1',
    at: iso(T0),
    uptimeSeconds: 10,
    observedGeneration: 1,
    outboxDepth: 0,
    cpuPercent: 5,
    memory: { usedBytes: 1, totalBytes: 2 },
    disk: null,
    workloads: { running: 0, total: 0 },
  }
  const logged: string[] = []
  const flush = heartbeatFlusher(store, { error: (_: unknown, message: string) => void logged.push(message) })
  store.nodes.recordHeartbeat('n1', beat, iso(T0))
  store.db.exec("CREATE TRIGGER full_disk BEFORE UPDATE ON nodes BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END")
  t.equal(flush(), 0)
  t.same(logged, ['cannot write heartbeats; keeping them for the next try'])
  t.equal(store.nodes.pendingHeartbeats, 1, 'kept for the next try')
  store.db.exec('DROP TRIGGER full_disk')
  t.equal(flush(), 1)
  t.equal(store.nodes.pendingHeartbeats, 0)
  store.nodes.recordHeartbeat('n1', { ...beat, at: iso(T0 + 15_000), uptimeSeconds: 25, cpuPercent: 50 }, iso(T0 + 15_000))
  t.equal(flush(), 0, 'an idle heartbeat writes nothing')
  t.equal(flush('all'), 1, 'at shutdown every node heard from is written')
  t.equal(store.nodes.get('n1')?.lastHeartbeat?.at, iso(T0 + 15_000))
})

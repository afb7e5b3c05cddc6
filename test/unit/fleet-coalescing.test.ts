// Bursts of presence changes and enrollments share one fleet pass per window (trailing), so a
// thousand nodes coming online cost a few passes over the fleet, not a thousand. Timers are a
// hand-driven stand-in, so nothing here waits on the wall clock; the fleet controller runs on
// a real SQLite store with a real every-node deployment.
import path from 'node:path'
import { pino } from 'pino'
import t from 'tap'
import { nodeRecord } from '../support/hub-nodes.js'
import { ChangeFeed } from '../../hub/ingest/change-feed.js'
import { FleetController } from '../../hub/fleet/fleet-controller.js'
import { loadOrCreateSecrets } from '../../hub/enrollment/hub-secrets.js'
import { Metrics } from '../../hub/metrics.js'
import { PassCoalescer, type TimerHost } from '../../hub/fleet/pass-coalescer.js'
import { HubStore } from '../../hub/store/hub-store.js'
import { openHubDatabase } from '../../hub/store/open-hub-database.js'
import { parseManifests } from '../../protocol/manifest-parse.js'
import { tempDir } from '../support/index.js'

/** Timers that fire only when the test says so. */
class HandTimers implements TimerHost {
  private next = 1
  readonly pending = new Map<number, { fn: () => void; ms: number }>()

  setTimeout(fn: () => void, ms: number): unknown {
    const handle = this.next++
    this.pending.set(handle, { fn, ms })
    return handle
  }

  clearTimeout(handle: unknown): void {
    this.pending.delete(handle as number)
  }

  fireAll(): void {
    const due = [...this.pending.values()]
    this.pending.clear()
    for (const timer of due) timer.fn()
  }
}

t.test('PassCoalescer: a burst arms one trailing run that carries every reason', async (t) => {
  const timers = new HandTimers()
  const runs: string[] = []
  const coalescer = new PassCoalescer(1_000, (reason) => runs.push(reason), timers)
  coalescer.request('presence')
  coalescer.request('presence')
  coalescer.request('enrolled')
  t.equal(timers.pending.size, 1, 'one timer for the whole burst')
  t.equal([...timers.pending.values()][0]?.ms, 1_000, 'for the window')
  t.same(runs, [], 'nothing runs before the window ends')
  t.ok(coalescer.armed)
  timers.fireAll()
  t.same(runs, ['presence,enrolled'], 'one run, after the last request of the burst')
  t.notOk(coalescer.armed)

  coalescer.request('presence')
  t.equal(timers.pending.size, 1, 'a request after the run arms a new window')
  coalescer.close()
  t.equal(timers.pending.size, 0, 'close drops the waiting run')
  coalescer.request('presence')
  timers.fireAll()
  t.same(runs, ['presence,enrolled'], 'and refuses new ones')
})

t.test('FleetController.requestSoon: 50 presence changes, one pass that sees all of them', async (t) => {
  const dir = tempDir(t, 'fleet-coalescing')
  const store = new HubStore(openHubDatabase(path.join(dir, 'hub.db')))
  const timers = new HandTimers()
  const metrics = new Metrics()
  const published = new Set<string>()
  const fleet = new FleetController({
    store,
    clock: { now: () => Date.parse('2030-01-01T00:00:00.000Z') },
    logger: pino({ level: 'silent' }),
    metrics,
    feed: new ChangeFeed(),
    privateKeyPem: loadOrCreateSecrets(dir).privateKeyPem,
    publishDesired: async (nodeId) => {
      published.add(nodeId)
    },
    timers,
  })
  t.teardown(async () => {
    await fleet.stop()
    store.close()
  })
  const passes = (): number => Number(/^shoal_schedule_seconds_count (\d+)$/m.exec(metrics.render())?.[1] ?? 0)
  const at = '2030-01-01T00:00:00.000Z'
  const ids = Array.from({ length: 50 }, (_, i) => `n${String(i).padStart(2, '0')}`)
  for (const id of ids) {
    store.nodes.insert(nodeRecord(id, { labels: { pool: 'p' }, createdAt: at }))
  }
  const parsed = parseManifests(
    'apiVersion: shoal/v1\nkind: Deployment\nmetadata: { name: every }\nspec: { mode: every-node, selector: { matchLabels: { pool: p } }, template: { image: busybox } }\n',
  )
  t.same(parsed.errors, [])
  for (const { manifest } of parsed.manifests) if (manifest.kind === 'Deployment') store.deployments.apply(manifest, at)
  await fleet.request('start')
  t.equal(passes(), 1)
  t.equal(store.deployments.placements().length, 0, 'nobody online yet: nothing placed')
  published.clear()

  for (const id of ids) {
    store.nodes.setOnline(id, true, at)
    fleet.requestSoon('presence')
  }
  t.equal(passes(), 1, 'no pass while the window is open')
  timers.fireAll()
  await fleet.request('test') // waits for the coalesced pass, then runs one more
  await fleet.published()
  t.equal(passes(), 3, 'the burst cost one pass (plus the one this test asked for)')
  t.equal(published.size, 50, 'and that pass placed the workload on all 50 nodes')
  t.same(
    [...store.desired.heads().values()].map((head) => head.generation),
    ids.map(() => 2),
    'one new generation per node (after the empty first one), read for all nodes at once',
  )
})

t.test('FleetController: a document stored while an older one is being published goes out next', async (t) => {
  const dir = tempDir(t, 'fleet-publish')
  const store = new HubStore(openHubDatabase(path.join(dir, 'hub.db')))
  const at = '2030-01-01T00:00:00.000Z'
  // Publishes settle when the test says so, to hold one in flight while a pass stores more.
  const sent: { generation: number; settle: () => void }[] = []
  const fleet = new FleetController({
    store,
    clock: { now: () => Date.parse(at) },
    logger: pino({ level: 'silent' }),
    metrics: new Metrics(),
    feed: new ChangeFeed(),
    privateKeyPem: loadOrCreateSecrets(dir).privateKeyPem,
    publishDesired: (_nodeId, payload) =>
      new Promise<void>((resolve) => sent.push({ generation: (JSON.parse(payload.toString()) as { generation: number }).generation, settle: resolve })),
    timers: new HandTimers(),
  })
  t.teardown(async () => {
    for (const s of sent) s.settle()
    await fleet.stop()
    store.close()
  })
  store.nodes.insert(nodeRecord('n1', { labels: { pool: 'p' }, createdAt: at }))
  store.nodes.setOnline('n1', true, at)
  const apply = (image: string): void => {
    const parsed = parseManifests(
      `apiVersion: shoal/v1\nkind: Deployment\nmetadata: { name: every }\nspec: { mode: every-node, selector: { matchLabels: { pool: p } }, template: { image: ${image} } }\n`,
    )
    for (const { manifest } of parsed.manifests) if (manifest.kind === 'Deployment') store.deployments.apply(manifest, at)
  }

  apply('busybox:1')
  await fleet.request('start')
  t.same(
    sent.map((s) => s.generation),
    [1],
    'generation 1 is in flight, and the pass did not wait for it',
  )
  apply('busybox:2')
  await fleet.request('apply')
  t.equal(store.desired.get('n1')?.generation, 2, 'generation 2 is stored meanwhile')
  t.same(
    sent.map((s) => s.generation),
    [1],
    'one publisher: nothing overtakes the publish in flight',
  )
  sent[0]?.settle()
  await new Promise((resolve) => setImmediate(resolve))
  t.same(
    sent.map((s) => s.generation),
    [1, 2],
    'then the newer document goes out',
  )
  sent[1]?.settle()
  await fleet.published()
  t.same(
    sent.map((s) => s.generation),
    [1, 2],
    'and nothing more',
  )
})

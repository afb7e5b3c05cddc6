// The fleet controller publishes each node's document as that node reads it: gzipped for a node
// whose latest heartbeat says it reads gzip (and a document large enough to gain), plain JSON
// for every other node, and plain again when a node stops saying so. A real SQLite store and
// real deployments; publishing is recorded, timers are never fired.
import path from 'node:path'
import { gunzipSync } from 'node:zlib'
import { pino } from 'pino'
import t from 'tap'
import { FleetController } from '../../hub/fleet/fleet-controller.js'
import { loadOrCreateSecrets } from '../../hub/enrollment/hub-secrets.js'
import { ChangeFeed } from '../../hub/ingest/change-feed.js'
import { Metrics } from '../../hub/metrics.js'
import type { TimerHost } from '../../hub/fleet/pass-coalescer.js'
import { HubStore } from '../../hub/store/hub-store.js'
import { openHubDatabase } from '../../hub/store/open-hub-database.js'
import { COMPRESS_DESIRED_FROM_BYTES, isGzipped } from '../../protocol/desired-compression.js'
import { encodeMessage, type Heartbeat } from '../../protocol/index.js'
import { parseManifests } from '../../protocol/manifest-parse.js'
import { nodeRecord } from '../support/hub-nodes.js'
import { tempDir } from '../support/index.js'

const AT = '2030-01-01T00:00:00.000Z'

const idleTimers: TimerHost = { setTimeout: () => null, clearTimeout: () => undefined }

function heartbeat(nodeId: string, desiredEncodings?: string[]): Heartbeat {
  return {
    nodeId,
    at: AT,
    uptimeSeconds: 5,
    observedGeneration: 0,
    outboxDepth: 0,
    cpuPercent: null,
    memory: { usedBytes: 1, totalBytes: 2 },
    disk: null,
    workloads: { running: 0, total: 0 },
    ...(desiredEncodings ? { desiredEncodings } : {}),
  }
}

function setup(t: { teardown(fn: () => unknown): void }, workloads: number) {
  const dir = tempDir(t, 'fleet-encoding')
  const store = new HubStore(openHubDatabase(path.join(dir, 'hub.db')))
  const sent: { nodeId: string; payload: Buffer }[] = []
  const fleet = new FleetController({
    store,
    clock: { now: () => Date.parse(AT) },
    logger: pino({ level: 'silent' }),
    metrics: new Metrics(),
    feed: new ChangeFeed(),
    privateKeyPem: loadOrCreateSecrets(dir).privateKeyPem,
    publishDesired: async (nodeId, payload) => void sent.push({ nodeId, payload }),
    timers: idleTimers,
  })
  t.teardown(async () => {
    await fleet.stop()
    store.close()
  })
  for (const id of ['reads-gzip', 'plain-only']) {
    store.nodes.insert(nodeRecord(id, { labels: { pool: 'p' }, createdAt: AT }))
    store.nodes.setOnline(id, true, AT)
  }
  store.nodes.recordHeartbeat('reads-gzip', heartbeat('reads-gzip', ['gzip']), AT)
  store.nodes.recordHeartbeat('plain-only', heartbeat('plain-only'), AT)
  const yaml = Array.from(
    { length: workloads },
    (_, i) =>
      `apiVersion: shoal/v1\nkind: Deployment\nmetadata: { name: app-${i} }\nspec: { mode: every-node, selector: { matchLabels: { pool: p } }, template: { image: "registry.example/app-${i}:1.${i}", env: { LEVEL: info } } }\n`,
  ).join('---\n')
  const parsed = parseManifests(yaml)
  for (const { manifest } of parsed.manifests) if (manifest.kind === 'Deployment') store.deployments.apply(manifest, AT)
  const last = (nodeId: string): Buffer => {
    const found = sent.findLast((s) => s.nodeId === nodeId)
    if (!found) throw new Error(`nothing published for ${nodeId}`)
    return found.payload
  }
  return { store, fleet, sent, last }
}

t.test('a node that reads gzip gets its large document gzipped; the same document, inflated', async (t) => {
  const { store, fleet, last } = setup(t, 10)
  await fleet.request('start')
  await fleet.published()
  const json = encodeMessage(store.desired.get('reads-gzip')?.document)
  t.ok(json.length >= COMPRESS_DESIRED_FROM_BYTES, `the document is large enough (${json.length} bytes of JSON)`)
  const payload = last('reads-gzip')
  t.ok(isGzipped(payload), `published gzipped: ${payload.length} bytes`)
  t.strictSame(gunzipSync(payload), json, 'which inflates to exactly the JSON the hub stored')
  t.notOk(isGzipped(last('plain-only')), 'a node that never said so gets plain JSON')
  t.strictSame(last('plain-only'), encodeMessage(store.desired.get('plain-only')?.document))
})

t.test('a small document goes plain even to a node that reads gzip', async (t) => {
  const { store, fleet, last } = setup(t, 1)
  await fleet.request('start')
  await fleet.published()
  const json = encodeMessage(store.desired.get('reads-gzip')?.document)
  t.ok(json.length < COMPRESS_DESIRED_FROM_BYTES, `${json.length} bytes`)
  t.strictSame(last('reads-gzip'), json)
})

t.test('republish: a node that stopped saying it reads gzip gets the same generation again, plain', async (t) => {
  const { store, fleet, sent, last } = setup(t, 10)
  await fleet.request('start')
  await fleet.published()
  t.ok(isGzipped(last('reads-gzip')))
  const before = sent.length
  store.nodes.recordHeartbeat('reads-gzip', heartbeat('reads-gzip'), AT)
  fleet.republish('reads-gzip')
  await fleet.published()
  t.equal(sent.length, before + 1, 'one more publish')
  t.strictSame(last('reads-gzip'), encodeMessage(store.desired.get('reads-gzip')?.document), 'plain JSON, same document')
  fleet.republish('no-such-node')
  await fleet.published()
  t.equal(sent.length, before + 1, 'a node without a document: nothing to publish')
})

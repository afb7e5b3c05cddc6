// `shoal drain` against the hub's drain endpoint (hub/api/drain-route.ts) served by the real
// API server, over a real SQLite hub store and the real fleet controller and scheduler. No
// broker and no agents here: the nodes are store records marked online and documents are
// captured as they are published, so the test sees exactly what the hub decides. (The
// cli-fleet test drains a node with real agents once routes.ts registers the endpoint.)
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import { pino } from 'pino'
import t from 'tap'
import { nodeRecord } from '../support/hub-nodes.js'
import { systemClock } from '../../common/clock.js'
import { registerDrainRoute } from '../../hub/api/drain-route.js'
import { drainPlan } from '../../hub/fleet/drain.js'
import { Router } from '../../hub/api/router.js'
import { createApiServer } from '../../hub/api/server.js'
import { ChangeFeed, type Change } from '../../hub/ingest/change-feed.js'
import { FleetController } from '../../hub/fleet/fleet-controller.js'
import { loadOrCreateSecrets } from '../../hub/enrollment/hub-secrets.js'
import { Metrics } from '../../hub/metrics.js'
import { HubStore } from '../../hub/store/hub-store.js'
import { openHubDatabase } from '../../hub/store/open-hub-database.js'
import type { PlacementRecord } from '../../hub/store/deployment-repository.js'
import { decodeMessage, DesiredDocument, MAX_BYTES } from '../../protocol/index.js'
import { parseManifests } from '../../protocol/manifest-parse.js'
import { tempDir } from '../support/index.js'
import { cli } from './cli-harness.js'

t.test('drain over the real API server, store and fleet controller', async (t) => {
  const dir = tempDir(t, 'cli-drain')
  process.env.SHOAL_CONFIG = path.join(dir, 'config.yaml')
  const secrets = loadOrCreateSecrets(dir)
  const store = new HubStore(openHubDatabase(path.join(dir, 'hub.db')))
  const logger = pino({ level: 'silent' })
  const feed = new ChangeFeed()
  const changes: Change[] = []
  feed.subscribe((change) => changes.push(change))
  const published = new Map<string, Buffer>()
  const fleet = new FleetController({
    store,
    clock: systemClock,
    logger,
    metrics: new Metrics(),
    feed,
    privateKeyPem: secrets.privateKeyPem,
    publishDesired: async (nodeId, payload) => {
      published.set(nodeId, payload)
    },
  })
  const router = new Router()
  registerDrainRoute(router, { store, fleet, feed, clock: systemClock })
  const server = createApiServer({ router, adminToken: 'admin-drain-test', logger, maxBodyBytes: 1 << 20 })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => {
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
    await fleet.stop()
    store.close()
  })
  const hub = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const shoal = (...argv: string[]) => cli([...argv, '--hub', hub, '--token', 'admin-drain-test'])

  const now = new Date().toISOString()
  for (const id of ['n1', 'n2', 'n3']) {
    store.nodes.insert(
      nodeRecord(id, {
        labels: { pool: 'p' },
        inventory: {
          hostname: id,
          arch: 'amd64',
          cpu: { model: 'test', cores: 4 },
          memoryBytes: 8 << 30,
          disks: [],
          os: { platform: 'linux', distro: 'test', release: '1', kernel: '6' },
          hardware: {},
          gpus: [],
          runtime: null,
        },
        createdAt: now,
      }),
    )
    store.nodes.setOnline(id, true, now)
  }
  const manifests = parseManifests(
    [
      'apiVersion: shoal/v1',
      'kind: Deployment',
      'metadata: { name: mover }',
      'spec: { replicas: 2, selector: { matchLabels: { pool: p } }, template: { image: busybox } }',
      '---',
      'apiVersion: shoal/v1',
      'kind: Deployment',
      'metadata: { name: every }',
      'spec: { mode: every-node, selector: { matchLabels: { pool: p } }, template: { image: busybox } }',
    ].join('\n'),
  )
  t.same(manifests.errors, [])
  for (const { manifest } of manifests.manifests) if (manifest.kind === 'Deployment') store.deployments.apply(manifest, now)
  await fleet.start()

  const placementsOf = (deployment: string): PlacementRecord[] => store.deployments.placements().filter((p) => p.deployment === deployment)
  const workloadsSent = (nodeId: string): string[] => {
    const payload = published.get(nodeId)
    if (!payload) return []
    return decodeMessage(DesiredDocument, payload, { what: 'desired document', maxBytes: MAX_BYTES.desired })
      .workloads.map((w) => w.name)
      .sort()
  }
  const before = placementsOf('mover')
  t.equal(before.length, 2, 'two mover replicas placed')
  t.equal(placementsOf('every').length, 3, 'every-node on all three')
  const victim = before[0] as PlacementRecord
  const spare = ['n1', 'n2', 'n3'].find((id) => !before.some((p) => p.nodeId === id)) as string
  t.same(workloadsSent(victim.nodeId), ['every', 'mover'], 'the victim was sent both workloads')

  await t.test('drain moves the replicated copy to the free node and keeps the every-node one', async (t) => {
    const generation = store.desired.get(victim.nodeId)?.generation ?? 0
    changes.length = 0
    const run = await shoal('drain', victim.nodeId)
    t.equal(run.code, 0, run.err)
    t.equal(
      run.out,
      [
        `node/${victim.nodeId} cordoned`,
        `moved mover (replica ${victim.replica}) to ${spare}`,
        'kept every: every-node workloads run on each matching node',
        `node/${victim.nodeId} drained`,
        '',
      ].join('\n'),
    )
    t.equal(store.nodes.get(victim.nodeId)?.cordoned, true, 'cordoned')
    t.same(
      placementsOf('mover')
        .map((p) => p.nodeId)
        .sort(),
      [before[1]?.nodeId, spare].sort(),
      'mover now runs on the other two nodes',
    )
    t.ok(
      placementsOf('every').some((p) => p.nodeId === victim.nodeId),
      'every-node copy stays',
    )
    t.same(workloadsSent(victim.nodeId), ['every'], 'the drained node got a document without the replica')
    t.ok((store.desired.get(victim.nodeId)?.generation ?? 0) > generation, 'with a newer generation')
    t.same(workloadsSent(spare), ['every', 'mover'], 'the spare node got the replica')
    t.match(store.audit.list().at(-1), { action: 'node.drain', target: victim.nodeId })
    t.ok(
      changes.some((c) => c.type === 'node' && c.nodeId === victim.nodeId && c.reason === 'drained'),
      'the change feed says so (consoles and -w update)',
    )
  })

  await t.test('a timer pass does not bring the replica back while the node is cordoned', async (t) => {
    await fleet.request('timer')
    t.notOk(placementsOf('mover').some((p) => p.nodeId === victim.nodeId))
  })

  await t.test('with nowhere to go, the replica waits and the CLI says so', async (t) => {
    const second = placementsOf('mover').find((p) => p.nodeId !== spare) as PlacementRecord
    const json = await shoal('drain', second.nodeId, '-o', 'json')
    t.equal(json.code, 0, json.err)
    const result = JSON.parse(json.out)
    t.same(result.evicted, [{ deployment: 'mover', workload: 'mover', replica: second.replica, movedTo: null }])
    t.same(result.kept, [{ deployment: 'every', workload: 'every', reason: 'every-node workloads run on each matching node' }])
    t.same(
      placementsOf('mover').map((p) => p.nodeId),
      [spare],
      'one replica left on the only schedulable node',
    )
    t.equal(fleet.outcome('mover')?.pending, 1)
  })

  await t.test('draining again is harmless', async (t) => {
    const run = await shoal('drain', victim.nodeId)
    t.equal(run.code, 0, run.err)
    t.equal(
      run.out,
      [`node/${victim.nodeId} cordoned`, 'kept every: every-node workloads run on each matching node', `node/${victim.nodeId} drained`, ''].join('\n'),
    )
  })

  await t.test('an unknown node: exit 1 and how to find names', async (t) => {
    const run = await shoal('drain', 'nope')
    t.equal(run.code, 1)
    t.equal(run.err, 'error: node "nope" not found; list nodes with shoal get nodes\n')
  })

  await t.test('a wrong token: exit 1, nothing drained', async (t) => {
    const run = await cli(['drain', spare, '--hub', hub, '--token', 'wrong'])
    t.equal(run.code, 1)
    t.match(run.err, /refused the token; run shoal login/)
    t.equal(store.nodes.get(spare)?.cordoned, false)
  })
})

t.test('drainPlan: replicated copies leave, every-node copies and other nodes stay', async (t) => {
  const p = (nodeId: string, deployment: string, replica = 0): PlacementRecord => ({
    nodeId,
    deployment,
    workload: deployment,
    replica,
    revision: 1,
    readySince: null,
    createdAt: '2026-01-01T00:00:00Z',
  })
  const modes: Record<string, 'replicated' | 'every-node'> = { web: 'replicated', agent: 'every-node' }
  const plan = drainPlan('n1', [p('n1', 'web'), p('n1', 'agent'), p('n2', 'web', 1), p('n1', 'orphan')], (name) => modes[name])
  t.same(
    plan.evict.map((x) => x.deployment),
    ['web', 'orphan'],
    'a placement of an unknown deployment leaves too',
  )
  t.same(
    plan.keep.map((x) => x.deployment),
    ['agent'],
  )
  t.same(
    plan.others.map((x) => x.nodeId),
    ['n2'],
  )
})

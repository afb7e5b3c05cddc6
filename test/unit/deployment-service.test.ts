// DeploymentService and readManifests (hub/deployments/) against a real SQLite hub store, a real
// fleet controller (its passes run on request; nothing is published anywhere) and a fixed clock.
import t from 'tap'
import { ConfigObjectService } from '../../hub/config-objects/config-object-service.js'
import { DeploymentService } from '../../hub/deployments/deployment-service.js'
import { ManifestsRefusedError, readManifests } from '../../hub/deployments/read-manifests.js'
import { DeploymentNotFoundError } from '../../hub/store/not-found.js'
import { nodeRecord } from '../support/hub-nodes.js'
import type { TestLike } from '../support/types.js'
import { hubFleet } from '../support/hub-fleet.js'

const T0 = Date.parse('2030-01-01T00:00:00.000Z')
const AT = new Date(T0).toISOString()

const manifest = (name: string, image: string, replicas = 1): string =>
  `apiVersion: shoal/v1\nkind: Deployment\nmetadata:\n  name: ${name}\nspec:\n  replicas: ${replicas}\n  template:\n    image: ${image}\n`

function setUp(t: TestLike, nodes: readonly string[] = ['n1', 'n2']) {
  const { store, bodies: objectBodies, clock, feed, changes, fleet } = hubFleet(t, 'deployment-service', T0)
  for (const id of nodes) {
    store.nodes.insert(nodeRecord(id, { createdAt: AT }))
    store.nodes.setOnline(id, true, AT)
  }
  return { store, feed, changes, fleet, service: new DeploymentService({ store, fleet, feed, clock, objects: new ConfigObjectService(store, objectBodies) }) }
}

t.test('readManifests', async (t) => {
  t.test('reads every document of a multi-document text', async (t) => {
    const manifests = readManifests(`${manifest('a', 'a:1')}---\n${manifest('b', 'b:1')}`, 'request')
    t.same(
      manifests.map((m) => m.manifest.metadata.name),
      ['a', 'b'],
    )
  })
  t.test('refuses the whole text when one document is wrong, with each problem located', async (t) => {
    const error = t.throws(() =>
      readManifests(`${manifest('a', 'a:1')}---\n${manifest('b', 'b:1').replace('replicas: 1', 'replicas: -1')}`, 'request'),
    ) as ManifestsRefusedError
    t.type(error, ManifestsRefusedError)
    t.match(error.message, /^1 problem\(s\) in the manifests: /)
    t.match(error.problems, [{ documentIndex: 1, path: 'spec.replicas', line: Number, column: Number }])
  })
  t.test('refuses a kind and name given twice, located at the second', async (t) => {
    const text = `${manifest('a', 'a:1')}---\n${manifest('b', 'b:1')}---\n${manifest('a', 'a:2')}`
    const error = t.throws(() => readManifests(text, 'request')) as ManifestsRefusedError
    t.type(error, ManifestsRefusedError)
    const line = text.split('\n').findIndex((l, i) => i > 0 && l.includes('name: a')) + 1
    t.match(error.problems, [
      { documentIndex: 2, path: 'metadata.name', message: 'Deployment "a" is already defined in document 0; names must be unique', line: Number },
    ])
    t.ok((error.problems?.[0]?.line ?? 0) > line, 'on the third document, not the first')
  })
  t.test('takes a CronJob; refuses one whose runs refer to a Config, and a Deployment named cron-…, each located', async (t) => {
    const cron = (env = '') =>
      `apiVersion: shoal/v1\nkind: CronJob\nmetadata:\n  name: backup\nspec:\n  schedule: "@daily"\n  timeZone: UTC\n  jobTemplate:\n    template:\n      image: busybox\n${env}`
    t.match(
      readManifests(`${manifest('a', 'a:1')}---\n${cron()}`, 'request').map((m) => m.manifest.kind),
      ['Deployment', 'CronJob'],
    )
    const error = t.throws(() =>
      readManifests(`${manifest('cron-a', 'a:1')}---\n${cron('      env:\n        LEVEL: { config: settings, key: level }\n')}`, 'request'),
    ) as ManifestsRefusedError
    t.type(error, ManifestsRefusedError)
    t.match(error.problems, [
      { documentIndex: 0, path: 'metadata.name', message: /^Deployment "cron-a": a name may not begin with cron- /, line: Number },
      {
        documentIndex: 1,
        path: 'spec.jobTemplate.template',
        message: /^CronJob "backup" refers to Config settings \(env\.LEVEL\): cron jobs take literal values only/,
      },
    ])
  })
  t.test('refuses a text with no manifests, without problems to list', async (t) => {
    const error = t.throws(() => readManifests('# nothing here\n', 'request')) as ManifestsRefusedError
    t.equal(error.message, 'no manifests in the request body')
    t.equal(error.problems, undefined)
  })
})

t.test('apply stores a revision per changed template, audits it, and answers with the pass outcome', async (t) => {
  const { store, changes, service } = setUp(t)
  const first = await service.apply(readManifests(manifest('web', 'web:1', 2), 'request'), 'alice')
  t.same(first.results, [
    { kind: 'Deployment', name: 'web', outcome: 'created', revision: 1, desired: 2, placed: 2, pending: 0, why: '2/2 replicas placed; 2/2 nodes match' },
  ])
  t.equal(store.deployments.placements().length, 2, 'the pass placed both copies before the answer')
  const again = await service.apply(readManifests(manifest('web', 'web:1', 2), 'request'), 'alice')
  t.match(again.results, [{ outcome: 'unchanged', revision: 1 }])
  const changed = await service.apply(readManifests(manifest('web', 'web:2', 2), 'request'), 'bob')
  t.match(changed.results, [{ outcome: 'configured', revision: 2 }])
  t.same(
    store.audit
      .list()
      .map((e) => [e.actor, e.action, e.target, e.detail])
      .reverse(),
    [
      ['alice', 'deployment.created', 'web', '{"revision":1}'],
      ['bob', 'deployment.configured', 'web', '{"revision":2}'],
    ],
    'one audit entry per change, none for an unchanged apply',
  )
  const told = changes.flatMap((c) => (c.type === 'deployment' && c.reason !== 'scheduled' ? [c.reason] : []))
  t.same(told, ['created', 'unchanged', 'configured'], 'watchers hear of every apply, after the pass (which says "scheduled" itself)')
})

t.test('apply is all or nothing: a failing write stores none of the manifests', async (t) => {
  const { store, service } = setUp(t)
  store.db.exec("CREATE TRIGGER refuse_b BEFORE INSERT ON deployments WHEN NEW.name = 'b' BEGIN SELECT RAISE(ABORT, 'refused'); END")
  await t.rejects(service.apply(readManifests(`${manifest('a', 'a:1')}---\n${manifest('b', 'b:1')}`, 'request'), 'alice'), /refused/)
  t.same(store.deployments.list(), [], 'a was rolled back with b')
  t.same(store.audit.list(), [])
})

t.test('preview says where copies would go and why some cannot, and stores nothing', async (t) => {
  const { store, changes, service } = setUp(t, ['n1'])
  const preview = service.preview(readManifests(manifest('web', 'web:1', 1), 'request').map((m) => m.manifest))
  t.same(preview, {
    dryRun: true,
    results: [
      {
        kind: 'Deployment',
        name: 'web',
        desired: 1,
        pending: 0,
        why: '1/1 replicas placed; 1/1 nodes match',
        placements: [{ deployment: 'web', nodeId: 'n1', workload: 'web', replica: 0 }],
      },
    ],
  })
  const crowded = service.preview(
    readManifests(manifest('big', 'big:1', 1).replace('image: big:1', 'image: big:1\n    resources:\n      cpu: "64"'), 'request').map((m) => m.manifest),
  )
  t.match(crowded.results, [{ name: 'big', desired: 1, pending: 1, placements: [], why: String }])
  t.same(store.deployments.list(), [])
  t.same(changes, [])
})

t.test('delete removes the deployment and its placements, audited; a missing one is DeploymentNotFoundError', async (t) => {
  const { store, changes, service } = setUp(t)
  await service.apply(readManifests(manifest('web', 'web:1', 2), 'request'), 'alice')
  t.same(await service.delete('web', 'carol'), { deleted: 'web' })
  t.same(store.deployments.list(), [])
  t.same(store.deployments.placements(), [], 'the pass after the delete left no placement')
  t.match(store.audit.list()[0], { actor: 'carol', action: 'deployment.delete', target: 'web', detail: null })
  t.match(changes.at(-1), { type: 'deployment', name: 'web', reason: 'deleted' })
  const error = await service.delete('web', 'carol').catch((e: unknown) => e)
  t.type(error, DeploymentNotFoundError)
  t.equal((error as DeploymentNotFoundError).deployment, 'web')
  t.equal(store.audit.list().length, 2, 'no audit entry for a delete that found nothing')
})

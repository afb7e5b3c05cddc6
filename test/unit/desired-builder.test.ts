// The node document builder: which template a copy runs (its assigned revision's), when it
// carries a fallback (only while its rollout moves it off a stable revision), and that the
// generation moves only when content does.
import t from 'tap'
import { ContainerTemplate, Deployment, SEAL_ALGORITHM, type SealedBox } from '../../protocol/index.js'
import { contentHash, nextDocument, workloadFor, workloadsByNode } from '../../hub/fleet/desired-builder.js'
import { NO_PINS } from '../../hub/config-objects/template-refs.js'
import type { RolloutRecord } from '../../hub/rollout/rollout-types.js'
import type { DeploymentRecord } from '../../hub/store/deployment-repository.js'

const template = (image: string) => ContainerTemplate.parse({ image })
const deployment: DeploymentRecord = {
  name: 'web',
  revision: 3,
  manifest: Deployment.parse({
    apiVersion: 'shoal/v1',
    kind: 'Deployment',
    metadata: { name: 'web' },
    spec: { strategy: { revertWindow: '15m' }, template: { image: 'web:3' } },
  }),
  applied: null,
  createdAt: '2026-12-01T00:00:00Z',
  updatedAt: '2026-12-01T00:00:00Z',
}
const templates = new Map([
  [3, template('web:3')],
  [2, template('web:2')],
  [1, template('web:1')],
])
const contentOf = (_: string, revision: number) => {
  const found = templates.get(revision)
  return found ? { template: found, pins: NO_PINS } : null
}
const noValues = () => undefined
const record = (overrides: Partial<RolloutRecord>): RolloutRecord => ({
  deployment: 'web',
  revision: 3,
  stableRevision: 2,
  phase: 'progressing',
  paused: false,
  step: 0,
  stepDoneAt: null,
  promoted: false,
  startedAt: 0,
  lastProgressAt: 0,
  updated: 0,
  failure: null,
  conditions: [],
  ...overrides,
})
const placement = (revision: number, nodeId = 'n1') => ({ nodeId, workload: 'web', deployment: 'web', revision })

t.test('a copy runs its assigned revision, with the stable one as fallback while its rollout moves it', async (t) => {
  t.same(workloadFor(placement(3), deployment, record({}), contentOf, noValues), {
    name: 'web',
    deployment: 'web',
    revision: 3,
    template: template('web:3'),
    fallback: { revision: 2, template: template('web:2'), revertWindowSeconds: 900 },
  })
  t.same(
    workloadFor(placement(2), deployment, record({}), contentOf, noValues),
    { name: 'web', deployment: 'web', revision: 2, template: template('web:2') },
    'a copy still on the stable revision has no fallback',
  )
  t.notOk(workloadFor(placement(3), deployment, record({ phase: 'complete' }), contentOf, noValues)?.fallback, 'none once the rollout completed')
  t.notOk(workloadFor(placement(3), deployment, record({ phase: 'failed' }), contentOf, noValues)?.fallback, 'none after it failed')
  t.notOk(workloadFor(placement(3), deployment, record({ stableRevision: null }), contentOf, noValues)?.fallback, 'none for a first revision')
  t.notOk(workloadFor(placement(3), deployment, null, contentOf, noValues)?.fallback, 'none without a rollout')
  t.equal(
    workloadFor(placement(7), deployment, record({}), contentOf, noValues),
    null,
    'a revision that is not kept gives no workload (the copy keeps its document)',
  )
})

t.test('per node, sorted by name; the generation moves only when the content does', async (t) => {
  const byNode = workloadsByNode([placement(3, 'n1'), { ...placement(2, 'n2') }, { nodeId: 'n1', workload: 'api', deployment: 'web', revision: 2 }], (p) =>
    workloadFor(p, deployment, null, contentOf, noValues),
  )
  t.same(
    byNode.get('n1')?.map((w) => w.name),
    ['api', 'web'],
  )
  t.equal(byNode.get('n2')?.[0]?.revision, 2)
  const workloads = byNode.get('n1') ?? []
  const first = nextDocument('n1', workloads, null, '2026-12-06T00:00:00Z')
  t.equal(first?.document.generation, 1)
  t.equal(
    nextDocument('n1', [...workloads], { generation: 1, contentHash: contentHash(workloads) }, '2026-12-06T00:01:00Z'),
    null,
    'same content: no new document',
  )
  t.equal(nextDocument('n1', workloads.slice(1), { generation: 1, contentHash: contentHash(workloads) }, '2026-12-06T00:01:00Z')?.document.generation, 2)
})

t.test('with strategy.prefetch, a copy not moved yet carries the new revision to pull ahead, with only its pull Secrets', async (t) => {
  const prefetching: DeploymentRecord = {
    ...deployment,
    manifest: { ...deployment.manifest, spec: { ...deployment.manifest.spec, strategy: { ...deployment.manifest.spec.strategy, prefetch: true } } },
  }
  const privateTemplate = ContainerTemplate.parse({ image: 'registry.example/web:3', pullCredentials: { secret: 'regcred' } })
  const content = (_: string, revision: number) =>
    revision === 3 ? { template: privateTemplate, pins: NO_PINS, pullNow: true } : { template: template(`web:${revision}`), pins: NO_PINS }
  const box = (ciphertext: string) => ({ alg: SEAL_ALGORITHM, epk: 'e', nonce: 'n', ciphertext }) as SealedBox
  const sealed = box('c')
  const valuesSealedWith = (s: SealedBox) => () => ({
    configs: { site: { version: 1, overrides: [], data: { a: 'b' } } },
    secrets: { regcred: { version: 4, overrides: [], sealed: s }, api: { version: 2, overrides: [], sealed: s } },
  })
  const values = valuesSealedWith(sealed)
  const old = workloadFor(placement(2), prefetching, record({}), content, values)
  t.same(old?.prefetch, { revision: 3, template: privateTemplate, values: { secrets: { regcred: { version: 4, overrides: [], sealed } } }, pullNow: true })
  t.equal(old?.revision, 2, 'the copy itself still runs its revision')
  t.notOk(workloadFor(placement(3), prefetching, record({}), content, values)?.prefetch, 'a moved copy has nothing to pull ahead')
  t.notOk(workloadFor(placement(2), deployment, record({}), content, values)?.prefetch, 'not without strategy.prefetch')
  for (const phase of ['complete', 'failed'] as const)
    t.notOk(workloadFor(placement(2), prefetching, record({ phase }), content, values)?.prefetch, `not once the rollout is ${phase}`)
  t.notOk(workloadFor(placement(2), prefetching, record({ stableRevision: null }), content, values)?.prefetch, 'not for a first revision')
  t.notOk(workloadFor(placement(2), prefetching, record({}), content, () => null)?.prefetch, 'not when the revision cannot be given to the node')
  const plain = workloadFor(placement(2), prefetching, record({}), (_, r) => ({ template: template(`web:${r}`), pins: NO_PINS }), values)
  t.same(plain?.prefetch, { revision: 3, template: template('web:3') }, 'no Secrets when its pull needs none')
  const a = contentHash([old as never])
  const resealed = workloadFor(placement(2), prefetching, record({}), content, valuesSealedWith(box('other')))
  t.equal(contentHash([resealed as never]), a, 'sealed again, the same Secret version is no change')
})

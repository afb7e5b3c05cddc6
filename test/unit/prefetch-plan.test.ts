// The pull-ahead's decisions (agent/prefetch/prefetch-plan.ts): which images a copy's next
// revision needs, which one to pull next (backoff and bandwidth rules respected), and what each
// copy's status says, with news that a deferral's moving byte count does not make.
import t from 'tap'
import { imagePresent, nextPrefetch, type PrefetchFailure, prefetchStatuses, prefetchTargets } from '../../agent/prefetch/prefetch-plan.js'
import type { PullDeferral } from '../../agent/bandwidth/pull-gate.js'
import { ContainerTemplate, PodTemplate, type Workload } from '../../protocol/index.js'

const NOW = 1_800_000_000_000

function copy(name: string, image: string, next?: Workload['prefetch']): Workload {
  return { name, deployment: name, revision: 1, template: ContainerTemplate.parse({ image }), ...(next ? { prefetch: next } : {}) }
}
const single = (image: string, extra: Partial<NonNullable<Workload['prefetch']>> = {}) => ({
  revision: 2,
  template: ContainerTemplate.parse({ image }),
  ...extra,
})
const deferral = (image: string, reason: string): PullDeferral => ({ image, causes: ['budget'], reason, nextAttemptAt: Date.UTC(2027, 0, 1) })
const none = () => null

t.test('prefetchTargets: one entry per copy asking for it, each container of a pod with its own image', async (t) => {
  const pod = PodTemplate.parse({
    containers: [
      { name: 'app', image: 'app:2', pullCredentials: { secret: 'regcred' } },
      { name: 'proxy', image: 'proxy:2' },
    ],
  })
  const values = { secrets: { regcred: { version: 1, overrides: [], sealed: {} as never } } }
  const targets = prefetchTargets(
    [copy('plain', 'plain:1'), copy('web', 'web:1', single('web:2', { pullNow: true })), copy('pod', 'app:1', { revision: 5, template: pod, values })],
    'n1',
  )
  t.same(
    targets.map((target) => ({ copy: target.copy, revision: target.revision, images: target.images.map((i) => [i.image, i.pullNow]) })),
    [
      { copy: 'web', revision: 2, images: [['web:2', true]] },
      {
        copy: 'pod',
        revision: 5,
        images: [
          ['app:2', false],
          ['proxy:2', false],
        ],
      },
    ],
  )
  const app = targets[1]?.images[0]?.member
  t.equal(app?.template.pullCredentials?.secret, 'regcred', "a pod container's member keeps its pull credentials")
  t.same(app?.values, values, 'and the Secrets they refer to')
  t.notOk('prefetch' in (targets[0]?.images[0]?.member ?? {}), 'a member is what the container would run: no prefetch of its own')
})

t.test('imagePresent: by the name as written, or with the engine\'s implicit ":latest"', async (t) => {
  const present = new Set(['busybox:latest', 'registry:5000/app:2'])
  t.ok(imagePresent('busybox', present))
  t.ok(imagePresent('registry:5000/app:2', present))
  t.notOk(imagePresent('registry:5000/app:3', present))
  t.notOk(imagePresent('registry:5000/app', present))
})

t.test('nextPrefetch: the first missing image in copy order, skipping present ones, backed-off failures and deferred ones', async (t) => {
  const targets = prefetchTargets([copy('a', 'a:1', single('a:2')), copy('b', 'b:1', single('b:2')), copy('c', 'c:1', single('c:2'))], 'n1')
  t.equal(nextPrefetch(targets, new Set(), new Map(), NOW, none).next?.image, 'a:2')
  t.equal(nextPrefetch(targets, new Set(['a:2']), new Map(), NOW, none).next?.image, 'b:2')
  const failed = new Map<string, PrefetchFailure>([['a:2', { failures: 1, retryAt: NOW + 5000, error: 'manifest unknown' }]])
  t.equal(nextPrefetch(targets, new Set(), failed, NOW, none).next?.image, 'b:2', 'a failure backing off waits its turn')
  t.equal(nextPrefetch(targets, new Set(), failed, NOW + 5000, none).next?.image, 'a:2', 'and is tried again once its backoff ends')
  const rules = (image: { image: string }) => (image.image === 'c:2' ? null : deferral(image.image, 'outside the pull windows 01:00-05:00 (UTC)'))
  const gated = nextPrefetch(targets, new Set(), new Map(), NOW, rules)
  t.equal(gated.next?.image, 'c:2', 'what the rules allow goes, past what they defer')
  t.same([...gated.deferred.keys()], ['a:2', 'b:2'])
  const all = nextPrefetch(targets, new Set(['c:2']), new Map(), NOW, rules)
  t.equal(all.next, null, 'nothing to pull when the rest is deferred')
  t.equal(all.deferred.size, 2)
  t.equal(nextPrefetch(targets, new Set(['a:2', 'b:2', 'c:2']), new Map(), NOW, rules).next, null, 'nothing when everything is there')
  const shared = prefetchTargets([copy('x', 'x:1', single('same:2')), copy('y', 'y:1', single('same:2'))], 'n1')
  let asked = 0
  nextPrefetch(shared, new Set(), new Map(), NOW, (i) => {
    asked++
    return deferral(i.image, 'budget')
  })
  t.equal(asked, 1, 'an image two copies need is put to the rules once')
})

t.test('prefetchStatuses: present, pulling, queued, deferred and failed, per copy', async (t) => {
  const targets = prefetchTargets(
    [copy('a', 'a:1', single('a:2')), copy('b', 'b:1', single('b:2')), copy('c', 'c:1', single('c:2')), copy('d', 'd:1', single('d:2'))],
    'n1',
  )
  const statuses = prefetchStatuses(
    targets,
    {
      present: new Set(['a:2']),
      pulling: 'b:2',
      deferred: new Map([['d:2', deferral('d:2', 'monthly budget: 9.0 MiB of 10.0 MiB used')]]),
      failed: new Map([['c:2', { failures: 2, retryAt: NOW + 10_000, error: 'manifest unknown' }]]),
    },
    NOW,
  )
  t.same(statuses.get('a')?.status, { revision: 2, state: 'present' })
  t.same(statuses.get('b')?.status, { revision: 2, state: 'pulling', message: 'pulling b:2' })
  t.same(statuses.get('c')?.status, { revision: 2, state: 'failed', message: 'pull of c:2 failed (attempt 2): manifest unknown; retrying with backoff' })
  t.equal(statuses.get('d')?.status.state, 'pull-deferred')
  t.match(statuses.get('d')?.status.message, /pull of d:2 deferred: monthly budget: 9\.0 MiB of 10\.0 MiB used; next attempt at 2027-01-01/)

  const later = prefetchStatuses(
    targets,
    {
      present: new Set(['a:2']),
      pulling: null,
      deferred: new Map([['d:2', deferral('d:2', 'monthly budget: 9.4 MiB of 10.0 MiB used')]]),
      failed: new Map([['c:2', { failures: 2, retryAt: NOW + 10_000, error: 'manifest unknown' }]]),
    },
    NOW + 10_000,
  )
  t.equal(later.get('d')?.news, statuses.get('d')?.news, 'bytes used moving is no news')
  t.same(later.get('b')?.status, { revision: 2, state: 'pulling', message: 'b:2 queued' }, 'missing and not being pulled: queued')
  t.same(later.get('c')?.status, { revision: 2, state: 'pulling', message: 'c:2 queued' }, 'a failure whose backoff ended is queued again')
  t.not(later.get('b')?.news, statuses.get('b')?.news, 'pulling and queued differ')
})

t.test('prefetchStatuses: a pod is present only when every container image is', async (t) => {
  const pod = PodTemplate.parse({
    containers: [
      { name: 'app', image: 'app:2' },
      { name: 'proxy', image: 'proxy:2' },
    ],
  })
  const targets = prefetchTargets([copy('pod', 'app:1', { revision: 2, template: pod })], 'n1')
  const progress = { pulling: null, deferred: new Map(), failed: new Map() }
  t.same(prefetchStatuses(targets, { ...progress, present: new Set(['app:2']) }, NOW).get('pod')?.status, {
    revision: 2,
    state: 'pulling',
    message: 'proxy:2 queued',
  })
  t.same(prefetchStatuses(targets, { ...progress, present: new Set(['app:2', 'proxy:2']) }, NOW).get('pod')?.status, { revision: 2, state: 'present' })
})

// Which nodes run which hub cron jobs (hub/cron-jobs/cron-placement.ts), and how the node's
// desired document carries them (hub/fleet/desired-builder.ts): pure, no hub.
import t from 'tap'
import { placeCronJobs } from '../../hub/cron-jobs/cron-placement.js'
import { contentHash, nextDocument } from '../../hub/fleet/desired-builder.js'
import { CronJob, type CronJobInput, DesiredDocument, MAX_NODE_CRON_JOBS, nodeCronJobSpec } from '../../protocol/index.js'
import { schedulerNode } from '../support/scheduler-nodes.js'

function cronJob(name: string, spec: Partial<CronJobInput['spec']> = {}): CronJob {
  return CronJob.parse({
    apiVersion: 'shoal/v1',
    kind: 'CronJob',
    metadata: { name },
    spec: { schedule: '0 2 * * *', timeZone: 'UTC', jobTemplate: { template: { image: 'busybox' } }, ...spec },
  })
}

const placedOn = (jobs: CronJob[], nodes: ReturnType<typeof schedulerNode>[]) => {
  const placement = placeCronJobs(jobs, nodes)
  return Object.fromEntries([...placement.nodesOf].map(([name, ids]) => [name, [...ids]]))
}

t.test('without a placement a cron job runs on every node; a selector picks nodes by label, each running it by itself', async (t) => {
  const nodes = [schedulerNode('a', { labels: { role: 'store' } }), schedulerNode('b', { labels: { role: 'camera' } }), schedulerNode('c')]
  t.same(placedOn([cronJob('all'), cronJob('stores', { selector: { matchLabels: { role: 'store' } } })], nodes), { all: ['a', 'b', 'c'], stores: ['a'] })
  t.same(placedOn([cronJob('not-cams', { selector: { matchExpressions: [{ key: 'role', operator: 'NotIn', values: ['camera'] }] } })], nodes), {
    'not-cams': ['a', 'c'],
  })
  t.same(placedOn([cronJob('none', { selector: { matchLabels: { role: 'gateway' } } })], nodes), { none: [] })
})

t.test('requires: arch, capabilities, profiles and devices as a Deployment has them', async (t) => {
  const nodes = [schedulerNode('x86'), schedulerNode('pi', { arch: 'arm64', profile: 'raspberry-pi', capabilities: ['gpu'], devices: ['/dev/video0'] })]
  t.same(placedOn([cronJob('arm', { requires: { arch: ['arm64'] } })], nodes), { arm: ['pi'] })
  t.same(placedOn([cronJob('gpu', { requires: { capabilities: ['gpu'] } })], nodes), { gpu: ['pi'] })
  t.same(placedOn([cronJob('prof', { requires: { profiles: ['generic-amd64'] } })], nodes), { prof: ['x86'] })
  t.same(placedOn([cronJob('cam', { requires: { devices: ['/dev/video0'] } })], nodes), { cam: ['pi'] })
  t.same(
    placedOn([cronJob('cam2', { jobTemplate: { template: { image: 'busybox', devices: [{ path: '/dev/video0' }] } } })], nodes),
    { cam2: ['pi'] },
    "the template's devices count too",
  )
})

t.test("a node whose policy refuses the run's template does not get it", async (t) => {
  const nodes = [schedulerNode('strict'), schedulerNode('lax', { policy: { ...schedulerNode('x').policy, privileged: true } })]
  t.same(placedOn([cronJob('priv', { jobTemplate: { template: { image: 'busybox', securityContext: { privileged: true } } } })], nodes), { priv: ['lax'] })
})

t.test('cordoned, drained (cordoned) and offline nodes keep their cron jobs, as a DaemonSet keeps its pods; room is not reserved', async (t) => {
  const nodes = [
    schedulerNode('cordoned', { cordoned: true }),
    schedulerNode('offline', { online: false, offlineSince: 0 }),
    schedulerNode('full', { capacity: { cpuMillis: 100, memoryBytes: 1 } }),
  ]
  t.same(placedOn([cronJob('big', { jobTemplate: { template: { image: 'busybox', resources: { cpu: 2, memory: '1Gi' } } } })], nodes), {
    big: ['cordoned', 'offline', 'full'],
  })
})

t.test("each node's list is sorted by name, without the placement, and bounded", async (t) => {
  const jobs = [cronJob('b', { selector: { matchLabels: { role: 'store' } } }), cronJob('a')]
  const placement = placeCronJobs(jobs, [schedulerNode('n', { labels: { role: 'store' } })])
  t.same(
    placement.byNode.get('n')?.map((job) => job.name),
    ['a', 'b'],
  )
  t.notOk('selector' in (placement.byNode.get('n')?.[1]?.spec ?? {}), 'the selector stays on the hub')
  t.same(placement.byNode.get('n')?.[1]?.spec, nodeCronJobSpec(jobs[0]!.spec))

  const many = Array.from({ length: MAX_NODE_CRON_JOBS + 2 }, (_, i) => cronJob(`job-${String(i).padStart(3, '0')}`))
  const bounded = placeCronJobs(many, [schedulerNode('n'), schedulerNode('m', { labels: { x: 'y' } })])
  t.equal(bounded.byNode.get('n')?.length, MAX_NODE_CRON_JOBS)
  t.same(
    bounded.leftOut.filter((l) => l.nodeId === 'n').map((l) => l.cronJob),
    [`job-${MAX_NODE_CRON_JOBS}`, `job-${MAX_NODE_CRON_JOBS + 1}`].map((n) => n.replace(/\d+$/, (d) => d.padStart(3, '0'))),
    'the last by name are left out, and said',
  )
  t.notOk(bounded.nodesOf.get(`job-${String(MAX_NODE_CRON_JOBS).padStart(3, '0')}`)?.includes('n'))
})

t.test("the document carries the node's cron jobs; its hash moves when one changes and not without any", async (t) => {
  const job = placeCronJobs([cronJob('backup')], [schedulerNode('n')]).byNode.get('n') ?? []
  t.equal(contentHash([]), contentHash([], undefined, []), 'no cron jobs: the hash is the workloads alone, as before')
  const first = nextDocument('n', [], null, '2030-01-01T00:00:00.000Z', undefined, job)
  if (!first) throw new Error('no document')
  t.same(first.document.cronJobs, job)
  t.ok(DesiredDocument.safeParse({ ...first.document, keyId: 'k', signature: 's' }).success, 'a valid document')
  t.equal(
    nextDocument('n', [], { generation: first.document.generation, contentHash: first.contentHash }, 'later', undefined, job),
    null,
    'unchanged: no new generation',
  )
  const suspended = placeCronJobs([cronJob('backup', { suspend: true })], [schedulerNode('n')]).byNode.get('n') ?? []
  const next = nextDocument('n', [], { generation: first.document.generation, contentHash: first.contentHash }, 'later', undefined, suspended)
  t.ok(next && next.document.generation > first.document.generation, 'suspend: true re-applied is a new generation')
  const moved = placeCronJobs([cronJob('backup', { selector: { matchLabels: {} } })], [schedulerNode('n')]).byNode.get('n') ?? []
  t.equal(
    nextDocument('n', [], { generation: first.document.generation, contentHash: first.contentHash }, 'later', undefined, moved),
    null,
    'a placement change alone leaves the nodes that keep it be',
  )
  const removed = nextDocument('n', [], { generation: first.document.generation, contentHash: first.contentHash }, 'later', undefined, [])
  t.ok(removed, 'deleted: a new document without it')
  t.notOk(removed && 'cronJobs' in removed.document)
})

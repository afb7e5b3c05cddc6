// Jobs through the hub's I/O (hub/jobs/job-planner.ts in the fleet pass, job-apply.ts, the
// repository) against a real SQLite hub store and a real fleet controller, with the nodes'
// reports ingested as agents send them and a hand clock: a copy's outcome is recorded (with its
// last lines) before it leaves its node's document, retries wait out the delay, the job
// completes, its ttl deletes it; the template is fixed once applied; Deployments named job-…
// are refused.
import t from 'tap'
import { ConfigObjectService } from '../../hub/config-objects/config-object-service.js'
import { DeploymentService } from '../../hub/deployments/deployment-service.js'
import { ManifestsRefusedError, readManifests } from '../../hub/deployments/read-manifests.js'
import { JobImmutableError } from '../../hub/jobs/job-apply.js'
import { JobService } from '../../hub/jobs/job-service.js'
import type { HubStore } from '../../hub/store/hub-store.js'
import type { WorkloadStatus } from '../../protocol/index.js'
import { hubFleet } from '../support/hub-fleet.js'
import { nodeRecord } from '../support/hub-nodes.js'
import type { TestLike } from '../support/types.js'

const T0 = Date.parse('2030-01-01T00:00:00.000Z')
const iso = (ms: number): string => new Date(ms).toISOString()

const jobManifest = (spec: string, name = 'export'): string =>
  `apiVersion: shoal/v1\nkind: Job\nmetadata:\n  name: ${name}\nspec:\n${spec}  template:\n    image: busybox\n    command: [sh, -c, "echo hi"]\n`

function setUp(t: TestLike) {
  const { store, bodies, clock, feed, fleet, changes } = hubFleet(t, 'job-planner', T0)
  let now = T0
  clock.now = () => now
  for (const id of ['n1', 'n2']) {
    store.nodes.insert(nodeRecord(id, { createdAt: iso(T0) }))
    store.nodes.setOnline(id, true, iso(T0))
  }
  const service = new DeploymentService({ store, fleet, feed, clock, objects: new ConfigObjectService(store, bodies) })
  const jobs = new JobService({ store, fleet, feed, clock })
  const seqs = new Map<string, number>()
  /** The node reports its workloads, as an agent's status does; then a pass runs. */
  const report = async (nodeId: string, workloads: Partial<WorkloadStatus>[]): Promise<void> => {
    const seq = (seqs.get(nodeId) ?? 0) + 1
    seqs.set(nodeId, seq)
    const body = {
      nodeId,
      observedGeneration: 1,
      at: iso(now),
      workloads: workloads.map((w) => ({
        deployment: 'job-export',
        revision: 1,
        health: 'none' as const,
        restarts: 0,
        since: iso(now),
        state: 'running' as const,
        name: '',
        ...w,
      })),
    }
    store.transaction(() => store.status.ingest(nodeId, '', [{ nodeId, seq, kind: 'status', body }], iso(now)))
    await fleet.request('report')
  }
  return { store, fleet, service, jobs, report, changes, advance: (ms: number) => (now += ms) }
}

/** Every job copy each node's latest desired document carries. */
function copiesSent(store: HubStore): Record<string, string[]> {
  const sent: Record<string, string[]> = {}
  for (const stored of store.desired.list()) {
    const names = stored.document.workloads.filter((w) => w.deployment.startsWith('job-')).map((w) => w.name)
    if (names.length > 0) sent[stored.nodeId] = names
  }
  return sent
}

const eventTypes = (store: HubStore): string[] =>
  store.status
    .events()
    .filter((e) => typeof e.data?.job === 'string')
    .map((e) => e.type)

t.test('a job from apply to its ttl, through reports', async (t) => {
  const { store, service, jobs, report, advance, changes } = setUp(t)
  const applied = await service.apply(readManifests(jobManifest('  completions: 2\n  backoffLimit: 1\n  ttlAfterFinished: 1m\n'), 'request'), 'admin')
  t.match(applied.results, [{ kind: 'Job', name: 'export', outcome: 'created', revision: 1, desired: 2, placed: 1, pending: 1 }])
  t.same(copiesSent(store), { n1: ['job-export-0-1'] }, 'the first copy is an ordinary workload in n1’s document')
  const workload = store.desired.get('n1')?.document.workloads[0]
  t.match(workload, { name: 'job-export-0-1', deployment: 'job-export', revision: 1, template: { image: 'busybox', restartPolicy: 'never' } })

  await report('n1', [{ name: 'job-export-0-1', state: 'exited', exitCode: 0, revision: 99 }])
  t.same(copiesSent(store), { n1: ['job-export-0-1'] }, 'a report about another job of the name (revision 99) says nothing')

  await report('n1', [{ name: 'job-export-0-1', state: 'exited', exitCode: 3, lastLogLines: ['stderr: no disk'] }])
  t.same(copiesSent(store), {}, 'recorded as failed, the copy leaves n1’s document; the retry waits')
  t.match(store.jobs.runs(), [{ workload: 'job-export-0-1', state: 'failed', exitCode: 3, reason: 'NonZeroExit', logLines: ['stderr: no disk'] }])
  t.match(jobs.get('export').condition, { type: 'Active', reason: 'Retrying' })

  advance(10_000)
  await report('n1', [])
  t.same(copiesSent(store), { n2: ['job-export-0-2'] }, '10 s later, attempt 2 on the node where index 0 has not failed')

  await report('n2', [{ name: 'job-export-0-2', state: 'exited', exitCode: 0, lastLogLines: ['stdout: hi'] }])
  t.same(copiesSent(store), { n1: ['job-export-1-1'] }, 'index 0 done; index 1 starts on the node with fewest of its copies')
  await report('n1', [{ name: 'job-export-1-1', state: 'exited', exitCode: 0 }])
  t.same(copiesSent(store), {})
  const done = jobs.get('export')
  t.match(done, { condition: { type: 'Complete', reason: 'Completed' }, succeeded: 2, failed: 1, active: 0, pending: 0, finishedAt: iso(T0 + 10_000) })
  t.same(
    done.copies.map((c) => [c.workload, c.nodeId, c.state]),
    [
      ['job-export-0-1', 'n1', 'failed'],
      ['job-export-0-2', 'n2', 'succeeded'],
      ['job-export-1-1', 'n1', 'succeeded'],
    ],
  )
  t.same(eventTypes(store), ['JobStarted', 'JobCopyFailed', 'JobCopySucceeded', 'JobCopySucceeded', 'JobComplete'])
  t.same(
    changes.flatMap((c) => (c.type === 'event' && c.eventType.startsWith('Job') ? [[c.eventType, c.nodeId]] : [])),
    [
      ['JobStarted', null],
      ['JobCopyFailed', 'n1'],
      ['JobCopySucceeded', 'n2'],
      ['JobCopySucceeded', 'n1'],
      ['JobComplete', null],
    ],
    'and in the change feed, for watchers',
  )
  t.same(
    jobs.logSources('export', null).kept.map((k) => [k.workload, k.lines]),
    [
      ['job-export-0-1', ['stderr: no disk']],
      ['job-export-0-2', ['stdout: hi']],
      ['job-export-1-1', []],
    ],
  )

  advance(59_999)
  await report('n1', [])
  t.equal(store.jobs.get('export')?.name, 'export', 'kept until its ttl')
  advance(1)
  await report('n1', [])
  t.equal(store.jobs.get('export'), null, 'gone once ttlAfterFinished has passed')
  t.same(store.jobs.runs(), [], 'with its runs')
})

t.test('the template is fixed once applied; the same manifest is a no-op; parallelism may change', async (t) => {
  const { service, store, changes } = setUp(t)
  const jobChanges = () => changes.flatMap((c) => (c.type === 'job' ? [[c.name, c.reason]] : []))
  const first = jobManifest('  completions: 3\n')
  await service.apply(readManifests(first, 'request'), 'admin')
  t.match((await service.apply(readManifests(first, 'request'), 'admin')).results, [{ outcome: 'unchanged', revision: 1 }])
  const error = await service.apply(readManifests(first.replace('echo hi', 'echo changed'), 'request'), 'admin').catch((e: unknown) => e)
  t.type(error, JobImmutableError)
  t.match(
    (error as Error).message,
    /^Job "export": spec\.template cannot change after the job is applied .*delete it \(shoal delete job export\) and apply it again$/,
  )
  t.match((await service.apply(readManifests(jobManifest('  completions: 3\n  parallelism: 2\n'), 'request'), 'admin')).results, [{ outcome: 'configured' }])
  t.same(copiesSent(store), { n1: ['job-export-0-1'], n2: ['job-export-1-1'] }, 'the new parallelism applies at once')
  t.same(
    jobChanges(),
    [
      ['export', 'created'],
      ['export', 'configured'],
    ],
    'watchers hear of the apply and the change, not of the no-op',
  )
})

t.test('deleting a job stops its running copies and forgets it', async (t) => {
  const { service, store, jobs, changes } = setUp(t)
  await service.apply(readManifests(jobManifest('  completions: 2\n  parallelism: 2\n'), 'request'), 'admin')
  t.same(copiesSent(store), { n1: ['job-export-0-1'], n2: ['job-export-1-1'] })
  t.same(await jobs.delete('export', 'admin'), { deleted: 'export', stopped: 2 })
  t.same(copiesSent(store), {})
  t.throws(() => jobs.get('export'), { name: 'JobNotFoundError' })
  t.match(changes.at(-1), { type: 'job', name: 'export', reason: 'deleted' }, 'watchers hear of the deletion')
})

t.test('readManifests refuses Deployments named job-…, and Jobs that refer to Configs or Secrets', async (t) => {
  const deployment = 'apiVersion: shoal/v1\nkind: Deployment\nmetadata:\n  name: job-x-0\nspec:\n  template:\n    image: busybox\n'
  const named = t.throws(() => readManifests(deployment, 'request')) as ManifestsRefusedError
  t.type(named, ManifestsRefusedError)
  t.match(named.problems, [
    { documentIndex: 0, path: 'metadata.name', line: 4, message: /Deployment "job-x-0": names beginning with job- are kept for the copies of Jobs/ },
  ])
  t.same(
    readManifests(deployment.replace('job-x-0', 'jobs'), 'request').map((m) => m.manifest.metadata.name),
    ['jobs'],
    'only the job- prefix',
  )
  const withSecret = jobManifest('').replace('command:', 'env: { TOKEN: { secret: api, key: token } }\n    command:')
  const refs = t.throws(() => readManifests(withSecret, 'request')) as ManifestsRefusedError
  t.match(refs.problems, [{ path: 'spec.template.env.TOKEN', message: /a Job's template cannot refer to Configs or Secrets yet \(Secret api\)/ }])
})

// The hub's per-node history of its cron jobs: which events make which records
// (hub/cron-jobs/cron-run-record.ts, pure), and storing them once, bounded, on a real hub
// database (hub/store/cron-job-repository.ts, hub/cron-jobs/cron-history.ts).
import { join } from 'node:path'
import t from 'tap'
import { recordCronEvents } from '../../hub/cron-jobs/cron-history.js'
import { cronRecordOf } from '../../hub/cron-jobs/cron-run-record.js'
import { HubStore } from '../../hub/store/hub-store.js'
import { LAPSES_KEPT } from '../../hub/store/cron-job-repository.js'
import { openHubDatabase } from '../../hub/store/open-hub-database.js'
import { CronJob, type CronJobInput, type NodeEvent } from '../../protocol/index.js'
import { tempDir } from '../support/tmp.js'
import type { TestLike } from '../support/types.js'

const AT = '2030-01-01T12:00:00.000Z'
const minute = (n: number): string => new Date(Date.parse(AT) + n * 60_000).toISOString()

function run(n: number, options: { source?: string; exitCode?: number | null; attempt?: number; reason?: string; type?: string } = {}): NodeEvent {
  const exitCode = options.exitCode === undefined ? 0 : options.exitCode
  return {
    nodeId: 'n1',
    type: options.type ?? (exitCode === 0 ? 'JobRunSucceeded' : 'JobRunFailed'),
    severity: 'info',
    workload: `cron-backup-${n}`,
    message: 'm',
    at: minute(n),
    data: {
      cronJob: 'backup',
      source: options.source ?? 'hub',
      scheduledAt: minute(n),
      exitCode,
      startedAt: minute(n),
      finishedAt: new Date(Date.parse(minute(n)) + 5_000).toISOString(),
      attempt: options.attempt ?? 1,
      ...(options.reason ? { reason: options.reason } : {}),
    },
  }
}
const skip = (n: number): NodeEvent => ({
  nodeId: 'n1',
  type: 'CronJobSkipped',
  severity: 'warning',
  message: 'm',
  at: minute(n),
  data: { cronJob: 'backup', source: 'hub', scheduledAt: minute(n), reason: 'forbid-running', running: 'cron-backup-1' },
})
const missed = (n: number, count: number): NodeEvent => ({
  nodeId: 'n1',
  type: 'CronJobMissed',
  severity: 'warning',
  message: 'm',
  at: minute(n),
  data: { cronJob: 'backup', source: 'hub', reason: 'superseded', count, countIsExact: true, latest: [minute(n - 1), minute(n)].join(',') },
})

t.test('cronRecordOf: each cron event of a hub cron job is one record, keyed by its firing and try', async (t) => {
  t.same(cronRecordOf(run(1)), {
    kind: 'run',
    cronJob: 'backup',
    scheduledAt: minute(1),
    attempt: 1,
    workload: 'cron-backup-1',
    outcome: 'succeeded',
    exitCode: 0,
    reason: null,
    startedAt: minute(1),
    finishedAt: '2030-01-01T12:01:05.000Z',
  })
  t.match(cronRecordOf(run(2, { exitCode: 3, attempt: 2, reason: 'NonZeroExit' })), {
    kind: 'run',
    outcome: 'failed',
    exitCode: 3,
    attempt: 2,
    reason: 'NonZeroExit',
  })
  t.match(cronRecordOf(run(2, { exitCode: null, reason: 'DeadlineExceeded' })), { outcome: 'failed', exitCode: null, reason: 'DeadlineExceeded' })
  t.same(cronRecordOf(skip(3)), { kind: 'skipped', cronJob: 'backup', scheduledAt: minute(3), attempt: 0, reason: 'forbid-running' })
  t.same(cronRecordOf(missed(9, 7)), { kind: 'missed', cronJob: 'backup', scheduledAt: minute(9), attempt: 0, reason: 'superseded', count: 7 })
})

t.test('cronRecordOf: a static cron job, another event, or data that does not read make none', async (t) => {
  t.equal(cronRecordOf(run(1, { source: 'static' })), null, "a static cron job's run is not the hub's cron job of that name")
  t.equal(cronRecordOf({ ...run(1), data: { ...run(1).data, source: undefined } as unknown as NodeEvent['data'] }), null, 'no source: not the hub')
  t.equal(cronRecordOf({ ...run(1), type: 'ContainerStarted' }), null)
  t.equal(cronRecordOf({ ...run(1), workload: undefined }), null, 'a run without its workload')
  t.equal(cronRecordOf({ ...run(1), data: { ...run(1).data, scheduledAt: 'yesterday' } }), null)
  t.equal(cronRecordOf({ ...missed(2, 1), data: { ...missed(2, 1).data, latest: 'nonsense' } }), null)
  t.equal(cronRecordOf({ ...skip(1), data: undefined }), null)
})

function setUp(t: TestLike, spec: Partial<CronJobInput['spec']> = {}) {
  const store = new HubStore(openHubDatabase(join(tempDir(t, 'cron-history'), 'hub.db')))
  t.teardown(() => store.close())
  const job = CronJob.parse({
    apiVersion: 'shoal/v1',
    kind: 'CronJob',
    metadata: { name: 'backup' },
    spec: { schedule: '* * * * *', timeZone: 'UTC', jobTemplate: { template: { image: 'busybox' } }, ...spec },
  })
  store.cronJobs.apply(job, AT)
  const record = (nodeId: string, events: NodeEvent[]) => store.transaction(() => recordCronEvents(store, nodeId, events, AT))
  return { store, record }
}

t.test('an event delivered twice is recorded once, totals included', async (t) => {
  const { store, record } = setUp(t)
  t.equal(record('n1', [run(1), skip(2), missed(9, 7)]), 3)
  t.equal(record('n1', [run(1), skip(2), missed(9, 7)]), 0, 'again: nothing new')
  t.equal(record('n1', [run(1)]), 0)
  const node = store.cronJobs.history('backup').get('n1')
  t.equal(node?.runs.length, 1)
  t.equal(node?.skipped, 1)
  t.equal(node?.missed, 7)
  t.same(
    node?.lapses.map((l) => [l.kind, l.scheduledAt, l.count]),
    [
      ['missed', minute(9), 7],
      ['skipped', minute(2), 1],
    ],
  )
})

t.test('each try of a firing is its own record; each node has its own history', async (t) => {
  const { store, record } = setUp(t, { failedJobsHistoryLimit: 5 })
  record('n1', [run(1, { exitCode: 4, attempt: 1 }), run(1, { exitCode: 4, attempt: 2 })])
  record('n2', [run(1)])
  const history = store.cronJobs.history('backup')
  t.same(
    history.get('n1')?.runs.map((r) => [r.scheduledAt, r.attempt, r.outcome]),
    [
      [minute(1), 2, 'failed'],
      [minute(1), 1, 'failed'],
    ],
  )
  t.same(
    history.get('n2')?.runs.map((r) => r.outcome),
    ['succeeded'],
  )
})

t.test("a node's history is cut to the cron job's limits; skips and misses to the latest few, the totals count all", async (t) => {
  const { store, record } = setUp(t, { successfulJobsHistoryLimit: 2, failedJobsHistoryLimit: 1 })
  record('n1', [run(1), run(2), run(3, { exitCode: 1 }), run(4), run(5, { exitCode: 2 })])
  const runs = store.cronJobs.history('backup').get('n1')?.runs ?? []
  t.same(
    runs.map((r) => [r.scheduledAt, r.outcome]),
    [
      [minute(5), 'failed'],
      [minute(4), 'succeeded'],
      [minute(2), 'succeeded'],
    ],
  )
  record(
    'n1',
    Array.from({ length: LAPSES_KEPT + 3 }, (_, i) => skip(10 + i)),
  )
  const node = store.cronJobs.history('backup').get('n1')
  t.equal(node?.lapses.length, LAPSES_KEPT)
  t.equal(node?.lapses[0]?.scheduledAt, minute(10 + LAPSES_KEPT + 2), 'the newest kept')
  t.equal(node?.skipped, LAPSES_KEPT + 3)
})

t.test('events of a cron job the hub does not hold are left to the event log; deleting one forgets its history', async (t) => {
  const { store, record } = setUp(t)
  t.equal(record('n1', [{ ...run(1), data: { ...run(1).data, cronJob: 'other' } }]), 0)
  record('n1', [run(1), skip(2)])
  t.ok(store.cronJobs.delete('backup'))
  t.equal(store.cronJobs.history('backup').size, 0)
  t.equal(record('n1', [run(3)]), 0, 'deleted: its late reports are not kept')
})

t.test('apply: a revision per change, none for the same manifest again', async (t) => {
  const { store } = setUp(t)
  const job = store.cronJobs.get('backup')?.manifest
  if (!job) throw new Error('no job')
  t.same(store.cronJobs.apply(job, AT), { outcome: 'unchanged', revision: 1 })
  t.same(store.cronJobs.apply({ ...job, spec: { ...job.spec, suspend: true } }, AT), { outcome: 'configured', revision: 2 })
  t.equal(store.cronJobs.get('backup')?.manifest.spec.suspend, true)
})

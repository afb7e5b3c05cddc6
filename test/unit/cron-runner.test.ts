// The cron runner (agent/jobs/cron-runner.ts) against a real agent database and a hand-moved
// clock: it fires on the schedule, reports each run once through the outbox, never fires a
// firing twice (clock steps, restarts), and reports a long absence as one bounded event.
import { join } from 'node:path'
import { pino } from 'pino'
import t from 'tap'
import { CronRunner } from '../../agent/jobs/cron-runner.js'
import { CronStore } from '../../agent/jobs/cron-store.js'
import { hubCronJob, staticCronJob } from '../../agent/jobs/cron-source.js'
import type { RunMemberState } from '../../agent/jobs/run-outcome.js'
import { AgentStore } from '../../agent/store/agent-store.js'
import { openAgentDatabase } from '../../agent/store/open-agent-database.js'
import { ZoneClocks } from '../../protocol/cron/time-zone.js'
import { CronJob, type CronJobInput, type NodeEvent, nodeCronJobSpec } from '../../protocol/index.js'
import { HandClock } from '../support/hand-clock.js'
import { tempDir } from '../support/tmp.js'
import type { TestLike } from '../support/types.js'

const MINUTE = 60_000

function cronJob(name: string, spec: Partial<CronJobInput['spec']> = {}): CronJob {
  return CronJob.parse({
    apiVersion: 'shoal/v1',
    kind: 'CronJob',
    metadata: { name },
    spec: { schedule: '*/5 * * * *', timeZone: 'UTC', jobTemplate: { template: { image: 'busybox' } }, ...spec },
  })
}

/** A runner over a fresh database in `dir`, the clock at 12:00:00 UTC; `members` stands in for the reconciler's records. */
function setUp(t: TestLike, jobs: CronJob[], dir = tempDir(t, 'cron-runner'), clock = new HandClock(), hubJobs: CronJob[] = []) {
  const logger = pino({ level: 'silent' })
  const opened = openAgentDatabase(join(dir, 'agent.db'), logger, { now: () => clock.now() })
  const store = new AgentStore(opened.db, clock, { maxRecords: 1_000, maxBytes: 10_000_000 })
  const members = new Map<string, RunMemberState[]>()
  let changes = 0
  const cronStore = new CronStore(opened.db, store)
  const runner = new CronRunner({
    nodeId: 'n1',
    jobs: () => [...jobs.map(staticCronJob), ...hubJobs.map((job) => hubCronJob({ name: job.metadata.name, spec: nodeCronJobSpec(job.spec) }))],
    store: cronStore,
    clock,
    logger,
    zones: new ZoneClocks(),
    nodeZone: () => 'UTC',
    members: (workload) => members.get(workload) ?? [],
    changed: () => changes++,
  })
  const events = (): NodeEvent[] =>
    store
      .pendingOutbox(0, 1_000, 10_000_000)
      .filter((row) => row.kind === 'event')
      .map((row) => row.body as NodeEvent)
  const close = (): void => store.close()
  t.teardown(close)
  return { runner, clock, members, events, changes: () => changes, dir, close, cronStore }
}

/** Sets the hand clock's wall time and has the runner look, as its loop would at that moment. */
function lookAt(runner: CronRunner, clock: HandClock, iso: string): number | null {
  clock.wall = Date.parse(iso)
  return runner.look()
}

t.test('fires at the next firing after it first sees the job, not for firings before', async (t) => {
  const { runner, clock, changes } = setUp(t, [cronJob('backup')])
  clock.wall = Date.parse('2030-01-01T12:03:00.000Z')
  t.equal(runner.look(), Date.parse('2030-01-01T12:05:00.000Z'), 'wakes at 12:05')
  t.same(runner.runWorkloads(), [], 'nothing runs for 12:00, which was before it was seen')
  clock.wall = Date.parse('2030-01-01T12:05:00.100Z')
  t.equal(runner.look(), Date.parse('2030-01-01T12:10:00.000Z'), 'then at 12:10')
  t.match(runner.runWorkloads(), [
    { name: /^static-cron-backup-\d+$/, deployment: 'static-cron-backup', template: { image: 'busybox', restartPolicy: 'never' } },
  ])
  t.equal(changes(), 1, 'the reconciler is asked to look')
})

t.test('a run whose container exited is reported once and leaves the workloads', async (t) => {
  const { runner, clock, members, events } = setUp(t, [cronJob('backup')])
  lookAt(runner, clock, '2030-01-01T12:04:00.000Z')
  clock.wall = Date.parse('2030-01-01T12:05:00.000Z')
  runner.look()
  const [run] = runner.runWorkloads()
  if (!run) throw new Error('no run')
  clock.advance(3_000)
  runner.look()
  t.same(events(), [], 'nothing reported while it runs')
  members.set(run.name, [{ state: 'exited', exitCode: 0 }])
  runner.look()
  runner.look()
  const reported = events()
  t.equal(reported.length, 1, 'one event, however often it looks')
  t.match(reported[0], {
    type: 'JobRunSucceeded',
    workload: run.name,
    data: {
      cronJob: 'backup',
      scheduledAt: '2030-01-01T12:05:00.000Z',
      exitCode: 0,
      startedAt: '2030-01-01T12:05:00.000Z',
      finishedAt: '2030-01-01T12:05:03.000Z',
    },
  })
  t.same(runner.runWorkloads(), [], 'the run leaves the desired workloads, so its container is removed')
})

t.test('a clock stepped back past a handled firing does not fire it again', async (t) => {
  const { runner, clock, members } = setUp(t, [cronJob('backup')])
  lookAt(runner, clock, '2030-01-01T12:04:00.000Z')
  clock.wall = Date.parse('2030-01-01T12:05:10.000Z')
  runner.look()
  const [run] = runner.runWorkloads()
  if (!run) throw new Error('no run')
  members.set(run.name, [{ state: 'exited', exitCode: 0 }])
  runner.look()
  clock.wall = Date.parse('2030-01-01T12:04:50.000Z')
  t.equal(runner.look(), Date.parse('2030-01-01T12:10:00.000Z'), 'waits for the first firing after the handled one')
  lookAt(runner, clock, '2030-01-01T12:05:30.000Z')
  t.same(runner.runWorkloads(), [], '12:05 is not run a second time')
})

t.test('after a restart, the active run is picked up and its firing not run again', async (t) => {
  const dir = tempDir(t, 'cron-restart')
  const clock = new HandClock()
  const jobs = [cronJob('backup')]
  const first = setUp(t, jobs, dir, clock)
  lookAt(first.runner, clock, '2030-01-01T12:04:00.000Z')
  clock.wall = Date.parse('2030-01-01T12:05:00.000Z')
  first.runner.look()
  const [run] = first.runner.runWorkloads()
  first.close()
  const second = setUp(t, jobs, dir, clock)
  t.same(
    second.runner.runWorkloads().map((w) => w.name),
    [run?.name],
    'the same run, from the database',
  )
  clock.advance(MINUTE)
  second.runner.look()
  t.equal(second.runner.runWorkloads().length, 1, 'no second run for 12:05')
})

t.test('a node off for a day runs the latest firing once and reports the others as one missed event', async (t) => {
  const { runner, clock, events } = setUp(t, [cronJob('backup')])
  lookAt(runner, clock, '2030-01-01T12:04:00.000Z')
  clock.wall = Date.parse('2030-01-02T12:02:00.000Z')
  runner.look()
  t.equal(runner.runWorkloads().length, 1, 'one run, for the latest firing')
  const missed = events().filter((e) => e.type === 'CronJobMissed')
  t.equal(missed.length, 1, 'one event for all the others')
  t.match(missed[0]?.data, { cronJob: 'backup', reason: 'superseded', count: 287, countIsExact: true, latest: /2030-01-02T11:55:00\.000Z$/ })
})

t.test('with a startingDeadline, a firing found too late is missed, not run', async (t) => {
  const { runner, clock, events } = setUp(t, [cronJob('backup', { startingDeadline: '1m' })])
  lookAt(runner, clock, '2030-01-01T12:04:00.000Z')
  clock.wall = Date.parse('2030-01-01T12:07:00.000Z')
  runner.look()
  t.same(runner.runWorkloads(), [])
  t.match(
    events().map((e) => [e.type, e.data?.reason, e.data?.count]),
    [['CronJobMissed', 'past-starting-deadline', 1]],
  )
})

t.test('Forbid skips a firing while a run is active, and says so', async (t) => {
  const { runner, clock, events } = setUp(t, [cronJob('backup', { concurrencyPolicy: 'Forbid' })])
  lookAt(runner, clock, '2030-01-01T12:04:00.000Z')
  clock.wall = Date.parse('2030-01-01T12:05:00.000Z')
  runner.look()
  lookAt(runner, clock, '2030-01-01T12:10:00.000Z')
  t.equal(runner.runWorkloads().length, 1, 'still the one run')
  t.match(
    events().map((e) => [e.type, e.data?.scheduledAt]),
    [['CronJobSkipped', '2030-01-01T12:10:00.000Z']],
  )
})

t.test('Replace ends the active run as failed (Replaced) and starts the new one', async (t) => {
  const { runner, clock, events } = setUp(t, [cronJob('backup', { concurrencyPolicy: 'Replace' })])
  lookAt(runner, clock, '2030-01-01T12:04:00.000Z')
  clock.wall = Date.parse('2030-01-01T12:05:00.000Z')
  runner.look()
  const [old] = runner.runWorkloads()
  lookAt(runner, clock, '2030-01-01T12:10:00.000Z')
  const now = runner.runWorkloads()
  t.equal(now.length, 1)
  t.not(now[0]?.name, old?.name, 'a new run')
  t.match(events(), [{ type: 'JobRunFailed', workload: old?.name, data: { reason: 'Replaced', exitCode: null } }])
})

t.test('activeDeadline fails a run that runs too long, and the runner wakes for it', async (t) => {
  const { runner, clock, events } = setUp(t, [
    cronJob('backup', { schedule: '@hourly', jobTemplate: { activeDeadline: '2m', template: { image: 'busybox' } } }),
  ])
  lookAt(runner, clock, '2030-01-01T12:59:00.000Z')
  clock.wall = Date.parse('2030-01-01T13:00:00.000Z')
  t.equal(runner.look(), Date.parse('2030-01-01T13:02:00.000Z'), 'wakes at the deadline, before the next firing')
  lookAt(runner, clock, '2030-01-01T13:02:00.000Z')
  t.same(runner.runWorkloads(), [])
  t.match(events(), [{ type: 'JobRunFailed', data: { reason: 'DeadlineExceeded' } }])
})

t.test('history keeps the newest runs only (successfulJobsHistoryLimit)', async (t) => {
  const { runner, clock, members, dir } = setUp(t, [cronJob('backup', { schedule: '* * * * *', successfulJobsHistoryLimit: 2 })])
  lookAt(runner, clock, '2030-01-01T12:00:30.000Z')
  for (let minute = 1; minute <= 5; minute++) {
    clock.wall = Date.parse(`2030-01-01T12:0${minute}:00.000Z`)
    runner.look()
    for (const run of runner.runWorkloads()) members.set(run.name, [{ state: 'exited', exitCode: 0 }])
    clock.advance(1_000)
    runner.look()
  }
  const Database = (await import('better-sqlite3')).default
  const db = new Database(join(dir, 'agent.db'), { readonly: true })
  t.teardown(() => db.close())
  t.equal((db.prepare('SELECT COUNT(*) AS n FROM cron_run').get() as { n: number }).n, 2)
})

t.test('an edited template changes the next run, never the one under way', async (t) => {
  const jobs = [cronJob('backup')]
  const { runner, clock } = setUp(t, jobs)
  lookAt(runner, clock, '2030-01-01T12:04:00.000Z')
  clock.wall = Date.parse('2030-01-01T12:05:00.000Z')
  runner.look()
  jobs[0] = cronJob('backup', { jobTemplate: { template: { image: 'busybox:2' } } })
  clock.advance(1_000)
  runner.look()
  t.match(
    runner.runWorkloads().map((w) => w.template),
    [{ image: 'busybox' }],
    'the run keeps the template it started with',
  )
  lookAt(runner, clock, '2030-01-01T12:10:00.000Z')
  t.match(
    runner.runWorkloads().map((w) => w.template),
    [{ image: 'busybox' }, { image: 'busybox:2' }],
    'the next run takes the new one',
  )
})

t.test('a cron job removed from the directory ends its active run (CronJobRemoved)', async (t) => {
  const jobs = [cronJob('backup')]
  const { runner, clock, events } = setUp(t, jobs)
  lookAt(runner, clock, '2030-01-01T12:04:00.000Z')
  clock.wall = Date.parse('2030-01-01T12:05:00.000Z')
  runner.look()
  jobs.length = 0
  runner.look()
  t.same(runner.runWorkloads(), [])
  t.match(events(), [{ type: 'JobRunFailed', data: { cronJob: 'backup', reason: 'CronJobRemoved' } }])
})

t.test('with a backoffLimit, a failed run of a firing is tried again after the backoff, up to the limit', async (t) => {
  const { runner, clock, members, events } = setUp(t, [cronJob('backup', { jobTemplate: { backoffLimit: 2, template: { image: 'busybox' } } })])
  lookAt(runner, clock, '2030-01-01T12:04:00.000Z')
  clock.wall = Date.parse('2030-01-01T12:05:00.000Z')
  runner.look()
  const fail = (): string => {
    const [run] = runner.runWorkloads()
    if (!run) throw new Error('no run')
    members.set(run.name, [{ state: 'exited', exitCode: 1 }])
    return run.name
  }
  const first = fail()
  clock.wall = Date.parse('2030-01-01T12:05:02.000Z')
  t.equal(runner.look(), Date.parse('2030-01-01T12:05:12.000Z'), 'wakes when the first retry may start (10 s)')
  t.same(runner.runWorkloads(), [], 'nothing runs during the backoff')
  lookAt(runner, clock, '2030-01-01T12:05:12.000Z')
  const second = fail()
  t.not(second, first, 'the retry is a workload of its own')
  clock.wall = Date.parse('2030-01-01T12:05:14.000Z')
  t.equal(runner.look(), Date.parse('2030-01-01T12:05:34.000Z'), 'the second retry waits twice as long (20 s)')
  lookAt(runner, clock, '2030-01-01T12:05:34.000Z')
  fail()
  clock.wall = Date.parse('2030-01-01T12:05:35.000Z')
  t.equal(runner.look(), Date.parse('2030-01-01T12:10:00.000Z'), 'after the last try, only the next firing is ahead')
  t.same(runner.runWorkloads(), [])
  const failed = events().filter((event) => event.type === 'JobRunFailed')
  t.match(
    failed.map((event) => event.data),
    [
      { attempt: 1, scheduledAt: '2030-01-01T12:05:00.000Z', retryAt: '2030-01-01T12:05:12.000Z' },
      { attempt: 2, scheduledAt: '2030-01-01T12:05:00.000Z', retryAt: '2030-01-01T12:05:34.000Z' },
      { attempt: 3, scheduledAt: '2030-01-01T12:05:00.000Z' },
    ],
  )
  t.notOk(failed[2]?.data && 'retryAt' in failed[2].data, 'the third try, past the limit of 2 retries, is the last')
})

t.test('a retry that succeeds ends the firing: no further tries', async (t) => {
  const { runner, clock, members, events } = setUp(t, [cronJob('backup', { jobTemplate: { backoffLimit: 3, template: { image: 'busybox' } } })])
  lookAt(runner, clock, '2030-01-01T12:04:00.000Z')
  clock.wall = Date.parse('2030-01-01T12:05:00.000Z')
  runner.look()
  members.set(runner.runWorkloads()[0]?.name ?? '', [{ state: 'exited', exitCode: 1 }])
  lookAt(runner, clock, '2030-01-01T12:05:01.000Z')
  clock.wall = Date.parse('2030-01-01T12:05:11.000Z')
  runner.look()
  members.set(runner.runWorkloads()[0]?.name ?? '', [{ state: 'exited', exitCode: 0 }])
  clock.wall = Date.parse('2030-01-01T12:05:12.000Z')
  t.equal(runner.look(), Date.parse('2030-01-01T12:10:00.000Z'))
  t.same(runner.runWorkloads(), [])
  t.match(
    events().map((event) => [event.type, event.data?.attempt]),
    [
      ['JobRunFailed', 1],
      ['JobRunSucceeded', 2],
    ],
  )
})

t.test('a cron job gone from the directory is forgotten: added back, it starts afresh', async (t) => {
  const jobs = [cronJob('backup')]
  const { runner, clock, cronStore } = setUp(t, jobs)
  lookAt(runner, clock, '2030-01-01T12:04:00.000Z')
  jobs.length = 0
  lookAt(runner, clock, '2030-01-01T12:06:00.000Z')
  t.same(cronStore.summaries(), [], 'no fire state or runs are kept for it')
  jobs.push(cronJob('backup'))
  clock.wall = Date.parse('2030-01-01T12:07:00.000Z')
  t.equal(runner.look(), Date.parse('2030-01-01T12:10:00.000Z'))
  t.same(runner.runWorkloads(), [], 'the 12:05 firing, from while it was gone, does not run')
})

t.test('what agent status reads: when each cron job fires next, its active runs and how the last one ended', async (t) => {
  const { runner, clock, members, cronStore } = setUp(t, [cronJob('backup')])
  lookAt(runner, clock, '2030-01-01T12:04:00.000Z')
  t.same(cronStore.summaries(), [
    {
      cronJob: 'backup',
      handledThrough: Date.parse('2030-01-01T12:04:00.000Z'),
      nextFireAt: Date.parse('2030-01-01T12:05:00.000Z'),
      activeRuns: 0,
      lastRun: null,
    },
  ])
  lookAt(runner, clock, '2030-01-01T12:05:00.000Z')
  t.match(cronStore.summaries(), [{ activeRuns: 1, nextFireAt: Date.parse('2030-01-01T12:10:00.000Z'), lastRun: null }])
  const [run] = runner.runWorkloads()
  if (!run) throw new Error('no run')
  members.set(run.name, [{ state: 'exited', exitCode: 4 }])
  lookAt(runner, clock, '2030-01-01T12:05:02.000Z')
  t.match(cronStore.summaries(), [
    {
      activeRuns: 0,
      lastRun: {
        workload: run.name,
        scheduledAt: Date.parse('2030-01-01T12:05:00.000Z'),
        finishedAt: Date.parse('2030-01-01T12:05:02.000Z'),
        outcome: 'failed',
        exitCode: 4,
        reason: 'NonZeroExit',
      },
    },
  ])
})

t.test('a hub cron job and a static one of the same name keep apart: runs, names, fire state, events and removal', async (t) => {
  const hub = [cronJob('backup', { schedule: '*/10 * * * *' })]
  const { runner, clock, members, events, cronStore } = setUp(t, [cronJob('backup')], undefined, undefined, hub)
  lookAt(runner, clock, '2030-01-01T12:04:00.000Z')
  t.same(cronStore.acceptedCronJobs(), ['backup', 'hub/backup'], 'two fire states, keyed by source and name')
  lookAt(runner, clock, '2030-01-01T12:05:00.000Z')
  t.match(
    runner.runWorkloads().map((w) => w.name),
    [/^static-cron-backup-\d+$/],
    'at 12:05 only the static one fires',
  )
  lookAt(runner, clock, '2030-01-01T12:10:00.000Z')
  const names = runner.runWorkloads().map((w) => [w.name, w.deployment])
  t.match(names, [
    [/^static-cron-backup-\d+$/, 'static-cron-backup'],
    [/^static-cron-backup-\d+$/, 'static-cron-backup'],
    [/^cron-backup-\d+$/, 'cron-backup'],
  ])
  const hubRun = runner.runWorkloads().find((w) => w.deployment === 'cron-backup')
  if (!hubRun) throw new Error('no hub run')
  members.set(hubRun.name, [{ state: 'exited', exitCode: 2 }])
  runner.look()
  t.match(
    events().filter((e) => e.type.startsWith('JobRun')),
    [{ type: 'JobRunFailed', workload: hubRun.name, data: { cronJob: 'backup', source: 'hub', exitCode: 2 }, message: /^cron job hub\/backup:/ }],
    "the hub run's event names its source",
  )
  hub.length = 0
  runner.look()
  t.same(cronStore.acceptedCronJobs(), ['backup'], 'the hub one removed from the document is forgotten; the static one stays')
  t.equal(runner.runWorkloads().filter((w) => w.deployment === 'static-cron-backup').length, 2, 'the static runs go on')
})

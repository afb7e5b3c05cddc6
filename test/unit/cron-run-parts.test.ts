// The small pure parts of the cron runner (agent/jobs/): how runs are named, when a run has
// finished and how, and the events it reports, bounded however many firings were missed.
import t from 'tap'
import { firingSkippedEvent, firingsMissedEvent, runFinishedEvent } from '../../agent/jobs/cron-events.js'
import { CRON_RUN_PREFIX, runDeployment, runWorkloadName } from '../../agent/jobs/run-naming.js'
import { runMembers, runOutcome } from '../../agent/jobs/run-outcome.js'
import { Name, NodeEvent } from '../../protocol/index.js'

const T0 = Date.parse('2030-03-01T10:00:00.000Z')
const AT = '2030-03-01T10:00:05.000Z'

t.test('run naming', async (t) => {
  t.test('a run is static-cron-<job>-<id>, a valid workload name', async (t) => {
    t.equal(CRON_RUN_PREFIX, 'static-cron-')
    t.equal(runWorkloadName('backup', 7), 'static-cron-backup-7')
    t.equal(runDeployment('backup'), 'static-cron-backup')
  })
  t.test("a hub cron job's run is cron-<job>-<id> (its key is hub/<job>), cut to 63 characters the same way", async (t) => {
    t.equal(runWorkloadName('hub/backup', 7), 'cron-backup-7')
    t.equal(runDeployment('hub/backup'), 'cron-backup')
    const long = 'x'.repeat(63)
    t.equal(runWorkloadName(`hub/${long}`, 123).length, 63)
    t.equal(runDeployment(`hub/${long}`).length, 63)
    t.not(runWorkloadName('hub/backup', 1), runWorkloadName('backup', 1), 'a static and a hub cron job of one name never share a run name')
  })
  t.test('a long job name is cut so the name stays within 63 characters and keeps its id', async (t) => {
    const job = `a-${'b'.repeat(58)}-c`
    const name = runWorkloadName(job, 123456)
    t.ok(name.length <= 63, `${name.length} characters`)
    t.match(name, /-123456$/)
    t.ok(Name.safeParse(name).success, 'a valid Name')
    t.ok(Name.safeParse(runDeployment(job)).success, 'the deployment too')
  })
  t.test('runs of two long job names that share their first characters still differ, by their ids', async (t) => {
    const stem = 'x'.repeat(60)
    t.not(runWorkloadName(`${stem}-one`, 1), runWorkloadName(`${stem}-two`, 2))
  })
  t.test('a cut never leaves a hyphen before the id', async (t) => {
    const job = `${'a'.repeat(44)}-${'b'.repeat(10)}`
    t.notMatch(runWorkloadName(job, 1), /--/)
  })
})

t.test('runOutcome', async (t) => {
  const progress = (members: { state: 'exited' | 'running' | 'pending'; exitCode: number | null }[], extra = {}) => ({
    members,
    expectedMembers: 1,
    startedAt: T0,
    activeDeadlineMs: null,
    ...extra,
  })
  t.test('a container that exited 0 is a success', async (t) => {
    t.same(runOutcome(progress([{ state: 'exited', exitCode: 0 }]), T0 + 1_000), { finished: true, outcome: 'succeeded', exitCode: 0, reason: null })
  })
  t.test('a non-zero exit is a failure with its code', async (t) => {
    t.same(runOutcome(progress([{ state: 'exited', exitCode: 3 }]), T0 + 1_000), { finished: true, outcome: 'failed', exitCode: 3, reason: 'NonZeroExit' })
  })
  t.test('a run without a recorded container, or still running, has not finished', async (t) => {
    t.same(runOutcome(progress([]), T0 + 1_000), { finished: false })
    t.same(runOutcome(progress([{ state: 'running', exitCode: null }]), T0 + 1_000), { finished: false })
  })
  t.test('a several-container run finishes when all its containers have exited, failing if any failed', async (t) => {
    const two = { expectedMembers: 2 }
    t.same(runOutcome(progress([{ state: 'exited', exitCode: 0 }], two), T0), { finished: false }, 'the second has no state yet')
    t.same(
      runOutcome(
        progress(
          [
            { state: 'exited', exitCode: 0 },
            { state: 'running', exitCode: null },
          ],
          two,
        ),
        T0,
      ),
      { finished: false },
    )
    t.match(
      runOutcome(
        progress(
          [
            { state: 'exited', exitCode: 0 },
            { state: 'exited', exitCode: 2 },
          ],
          two,
        ),
        T0,
      ),
      { outcome: 'failed', exitCode: 2 },
    )
  })
  t.test('the activeDeadline fails a run still going when it is reached, not before', async (t) => {
    const running = progress([{ state: 'running', exitCode: null }], { activeDeadlineMs: 60_000 })
    t.same(runOutcome(running, T0 + 59_999), { finished: false })
    t.same(runOutcome(running, T0 + 60_000), { finished: true, outcome: 'failed', exitCode: null, reason: 'DeadlineExceeded' })
  })
  t.test('an exit recorded before the deadline is looked at wins over the deadline', async (t) => {
    const exited = progress([{ state: 'exited', exitCode: 0 }], { activeDeadlineMs: 60_000 })
    t.match(runOutcome(exited, T0 + 120_000), { outcome: 'succeeded' })
  })
  t.test("runMembers finds a run's own record or its containers' (run.container), not another run's", async (t) => {
    const records = [
      { name: 'static-cron-a-1', state: 'exited' as const, exitCode: 0 },
      { name: 'static-cron-a-10', state: 'running' as const, exitCode: null },
      { name: 'static-cron-b-2.main', state: 'exited' as const, exitCode: 1 },
    ]
    t.same(runMembers(records, 'static-cron-a-1'), [{ state: 'exited', exitCode: 0 }])
    t.same(runMembers(records, 'static-cron-b-2'), [{ state: 'exited', exitCode: 1 }])
  })
})

t.test('events', async (t) => {
  const run = {
    cronJob: 'backup',
    workload: 'static-cron-backup-4',
    scheduledAt: T0,
    startedAt: T0 + 200,
    finishedAt: T0 + 4_000,
    attempt: 1,
    retryAt: null,
  }
  t.test('a succeeded run: JobRunSucceeded, info, with the run workload and its times', async (t) => {
    const event = runFinishedEvent('n1', AT, { ...run, exitCode: 0, outcome: 'succeeded', reason: null })
    t.ok(NodeEvent.safeParse(event).success, 'a valid NodeEvent')
    t.match(event, {
      type: 'JobRunSucceeded',
      severity: 'info',
      workload: 'static-cron-backup-4',
      data: {
        cronJob: 'backup',
        scheduledAt: '2030-03-01T10:00:00.000Z',
        exitCode: 0,
        startedAt: '2030-03-01T10:00:00.200Z',
        finishedAt: '2030-03-01T10:00:04.000Z',
      },
    })
    t.notOk(event.data && 'reason' in event.data)
  })
  t.test('a failed run: JobRunFailed, warning, with its exit code or why it was stopped', async (t) => {
    const exited = runFinishedEvent('n1', AT, { ...run, exitCode: 3, outcome: 'failed', reason: 'NonZeroExit' })
    t.match(exited, { type: 'JobRunFailed', severity: 'warning', data: { exitCode: 3, reason: 'NonZeroExit' }, message: /failed with exit code 3/ })
    const late = runFinishedEvent('n1', AT, { ...run, exitCode: null, outcome: 'failed', reason: 'DeadlineExceeded' })
    t.match(late, { data: { exitCode: null, reason: 'DeadlineExceeded' }, message: /failed \(DeadlineExceeded\)/ })
  })
  t.test('a failed try that will be tried again says which try it was and when the next one starts', async (t) => {
    const retried = runFinishedEvent('n1', AT, { ...run, exitCode: 3, outcome: 'failed', reason: 'NonZeroExit', retryAt: T0 + 14_000 })
    t.ok(NodeEvent.safeParse(retried).success, 'a valid NodeEvent')
    t.match(retried, {
      type: 'JobRunFailed',
      data: { attempt: 1, retryAt: '2030-03-01T10:00:14.000Z' },
      message: /failed with exit code 3 \(try 1\); try 2 starts at 2030-03-01T10:00:14\.000Z/,
    })
    const last = runFinishedEvent('n1', AT, { ...run, exitCode: 3, outcome: 'failed', reason: 'NonZeroExit', attempt: 3 })
    t.match(last, { data: { attempt: 3 }, message: /failed with exit code 3 \(try 3\)$/ })
    t.notOk(last.data && 'retryAt' in last.data, 'the last try names no next one')
  })
  t.test('a skipped firing names the runs still active', async (t) => {
    const event = firingSkippedEvent('n1', AT, 'backup', T0, ['static-cron-backup-3'], 'forbid-running')
    t.ok(NodeEvent.safeParse(event).success)
    t.match(event, {
      type: 'CronJobSkipped',
      message: /concurrencyPolicy Forbid/,
      data: { cronJob: 'backup', reason: 'forbid-running', running: 'static-cron-backup-3' },
    })
    const capped = firingSkippedEvent('n1', AT, 'backup', T0, ['static-cron-backup-3'], 'active-limit')
    t.match(capped, { message: /at most 10 runs of a cron job are active at once/, data: { reason: 'active-limit' } })
  })
  t.test('missed firings are one bounded event: the count (capped) and the latest few times', async (t) => {
    const latest = [1, 2, 3, 4, 5].map((i) => T0 + i * 60_000)
    const event = firingsMissedEvent('n1', AT, 'backup', { reason: 'superseded', count: 1_000, countIsExact: false, latest })
    t.ok(NodeEvent.safeParse(event).success, 'a valid NodeEvent')
    t.match(event, {
      type: 'CronJobMissed',
      severity: 'warning',
      data: { cronJob: 'backup', reason: 'superseded', count: 1_000, countIsExact: false, latest: latest.map((ms) => new Date(ms).toISOString()).join(',') },
      message: /1000\+ firing\(s\) missed .*the latest at 2030-03-01T10:05:00\.000Z/,
    })
    t.ok(JSON.stringify(event).length < 1_000, 'small, however many were missed')
  })
})

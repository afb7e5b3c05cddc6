import t from 'tap'
import { type JobCopy, type JobCounts, jobProgress } from '../../common/jobs/job-completion.js'

const START = Date.parse('2026-05-01T10:00:00Z')
const s = (seconds: number): number => START + seconds * 1_000

const running = (id: string): JobCopy => ({ id, phase: 'running' })
const pending = (id: string): JobCopy => ({ id, phase: 'pending' })
const exited = (id: string, exitCode: number, atSecond: number): JobCopy => ({ id, phase: 'exited', exitCode, finishedAt: s(atSecond) })

const counts = (overrides: Partial<JobCounts> = {}): JobCounts => ({ completions: 1, parallelism: 1, backoffLimit: 6, activeDeadlineMs: null, ...overrides })

t.test('completions 3, parallelism 2, one copy failing twice: the whole story', async (t) => {
  const job = counts({ completions: 3, parallelism: 2 })
  t.same(jobProgress(job, [], START, s(0)), {
    kind: 'running',
    startNow: 2,
    startLater: 0,
    startAt: null,
    deadlineAt: null,
    tally: { succeeded: 0, failed: 0, active: 0 },
  })
  t.same(jobProgress(job, [pending('a'), running('b')], START, s(1)), {
    kind: 'running',
    startNow: 0,
    startLater: 0,
    startAt: null,
    deadlineAt: null,
    tally: { succeeded: 0, failed: 0, active: 2 },
  })
  // a succeeds, b fails (exit 1) at 60 s: two more wanted, after 10 s.
  const first = [exited('a', 0, 60), exited('b', 1, 60)]
  t.same(jobProgress(job, first, START, s(65)), {
    kind: 'running',
    startNow: 0,
    startLater: 2,
    startAt: s(70),
    deadlineAt: null,
    tally: { succeeded: 1, failed: 1, active: 0 },
  })
  t.same(jobProgress(job, first, START, s(70)), {
    kind: 'running',
    startNow: 2,
    startLater: 0,
    startAt: null,
    deadlineAt: null,
    tally: { succeeded: 1, failed: 1, active: 0 },
  })
  // c (b's retry) fails again at 100 s, d succeeds: one more wanted, after 20 s now.
  const second = [...first, exited('c', 137, 100), exited('d', 0, 95)]
  t.same(jobProgress(job, second, START, s(100)), {
    kind: 'running',
    startNow: 0,
    startLater: 1,
    startAt: s(120),
    deadlineAt: null,
    tally: { succeeded: 2, failed: 2, active: 0 },
  })
  const retried = jobProgress(job, second, START, s(120))
  t.same(retried.kind === 'running' && [retried.startNow, retried.startLater], [1, 0], 'at 120 s the last copy starts')
  const third = [...second, exited('e', 0, 150)]
  t.same(jobProgress(job, third, START, s(150)), { kind: 'complete', stop: [], tally: { succeeded: 3, failed: 2, active: 0 } })
})

t.test('never more active than parallelism, nor than the successes still needed', async (t) => {
  const progress = (job: JobCounts, copies: JobCopy[]) => {
    const result = jobProgress(job, copies, START, s(0))
    return result.kind === 'running' ? result.startNow : -1
  }
  t.equal(progress(counts({ completions: 1, parallelism: 3 }), []), 1, 'one completion needs one copy')
  t.equal(progress(counts({ completions: 5, parallelism: 2 }), []), 2)
  t.equal(progress(counts({ completions: 5, parallelism: 2 }), [running('a')]), 1)
  t.equal(
    progress(counts({ completions: 5, parallelism: 2 }), [running('a'), running('b'), running('c')]),
    0,
    'more active than parallelism (it was lowered): none, none stopped',
  )
  t.equal(progress(counts({ completions: 3, parallelism: 3 }), [exited('a', 0, 0), exited('b', 0, 0), running('c')]), 0, 'one needed, one running')
})

t.test('success is exit code 0; any other code is a failure', async (t) => {
  for (const code of [1, 2, 125, 137, 255, -1]) {
    const result = jobProgress(counts({ backoffLimit: 0 }), [exited('a', code, 5)], START, s(5))
    t.equal(result.kind, 'failed', `exit ${code}`)
  }
  t.equal(jobProgress(counts(), [exited('a', 0, 5)], START, s(5)).kind, 'complete')
})

t.test('enough successes complete the job and stop the copies still running', async (t) => {
  const result = jobProgress(counts({ completions: 2, parallelism: 3 }), [exited('a', 0, 5), exited('b', 0, 6), running('c')], START, s(7))
  t.same(result, { kind: 'complete', stop: ['c'], tally: { succeeded: 2, failed: 0, active: 1 } })
})

t.test('failures beyond backoffLimit fail the job, stopping the copies still active', async (t) => {
  const job = counts({ completions: 3, parallelism: 2, backoffLimit: 1 })
  t.equal(jobProgress(job, [exited('a', 1, 5), running('b')], START, s(20)).kind, 'running', 'one failure is within a limit of 1')
  t.same(jobProgress(job, [exited('a', 1, 5), exited('c', 2, 30), running('b')], START, s(30)), {
    kind: 'failed',
    reason: 'BackoffLimitExceeded',
    stop: ['b'],
    tally: { succeeded: 0, failed: 2, active: 1 },
  })
})

t.test('the active deadline fails the job when it runs out, and is named while running', async (t) => {
  const job = counts({ completions: 2, activeDeadlineMs: 300_000 })
  const before = jobProgress(job, [running('a')], START, s(299))
  t.equal(before.kind, 'running')
  t.equal(before.kind === 'running' && before.deadlineAt, s(300))
  t.same(jobProgress(job, [running('a')], START, s(300)), {
    kind: 'failed',
    reason: 'DeadlineExceeded',
    stop: ['a'],
    tally: { succeeded: 0, failed: 0, active: 1 },
  })
  t.equal(jobProgress(job, [exited('a', 0, 100), exited('b', 0, 200)], START, s(400)).kind, 'complete', 'done is done, even looked at late')
})

t.test('a backoff wait past the deadline still reports the deadline', async (t) => {
  const job = counts({ activeDeadlineMs: 15_000 })
  const waiting = jobProgress(job, [exited('a', 1, 10)], START, s(12))
  t.same(waiting, { kind: 'running', startNow: 0, startLater: 1, startAt: s(20), deadlineAt: s(15), tally: { succeeded: 0, failed: 1, active: 0 } })
})

t.test('the retry delay counts from the latest failure', async (t) => {
  const job = counts({ completions: 2, parallelism: 2 })
  const result = jobProgress(job, [exited('a', 1, 50), exited('b', 1, 10)], START, s(60))
  t.same(result.kind === 'running' && [result.startNow, result.startAt], [0, s(70)], 'two failures: 20 s from 50 s')
})

t.test('no copies wanted while waiting: nothing later either', async (t) => {
  const result = jobProgress(counts({ completions: 2 }), [exited('a', 1, 10), running('b')], START, s(12))
  t.same(result.kind === 'running' && [result.startNow, result.startLater, result.startAt], [0, 0, null])
})

t.test('completions of 0 are complete at once', async (t) => {
  t.same(jobProgress(counts({ completions: 0 }), [], START, s(0)), { kind: 'complete', stop: [], tally: { succeeded: 0, failed: 0, active: 0 } })
})

t.test('parallelism 0 starts nothing: the job is paused', async (t) => {
  const result = jobProgress(counts({ completions: 3, parallelism: 0 }), [], START, s(0))
  t.same(result.kind === 'running' && [result.startNow, result.startLater], [0, 0])
})

import t from 'tap'
import { DEFAULT_FAILED_HISTORY, DEFAULT_SUCCESSFUL_HISTORY, expiresAt, type FinishedRun, runsToForget, ttlExpired } from '../../common/jobs/history-limits.js'

const run = (id: string, outcome: FinishedRun['outcome'], finishedAt: number): FinishedRun => ({ id, outcome, finishedAt })

t.test('by default three successful and one failed run are kept, the newest', async (t) => {
  t.equal(DEFAULT_SUCCESSFUL_HISTORY, 3)
  t.equal(DEFAULT_FAILED_HISTORY, 1)
  const runs = [
    run('s1', 'succeeded', 1),
    run('f1', 'failed', 2),
    run('s2', 'succeeded', 3),
    run('s3', 'succeeded', 4),
    run('f2', 'failed', 5),
    run('s4', 'succeeded', 6),
    run('s5', 'succeeded', 7),
  ]
  t.same(runsToForget(runs), ['s1', 'f1', 's2'], 'oldest first')
})

t.test('the limits can be chosen, 0 keeping none', async (t) => {
  const runs = [run('s1', 'succeeded', 1), run('f1', 'failed', 2), run('s2', 'succeeded', 3)]
  t.same(runsToForget(runs, { successful: 0, failed: 0 }), ['s1', 'f1', 's2'])
  t.same(runsToForget(runs, { successful: 1, failed: 5 }), ['s1'])
  t.same(runsToForget(runs, { successful: 10, failed: 10 }), [])
})

t.test('the order given does not matter; equal finish times go by id', async (t) => {
  const runs = [run('b', 'succeeded', 5), run('a', 'succeeded', 5), run('c', 'succeeded', 5)]
  t.same(runsToForget(runs, { successful: 1, failed: 1 }), ['a', 'b'], 'c is kept')
  t.same(runsToForget([...runs].reverse(), { successful: 1, failed: 1 }), ['a', 'b'])
  t.same(runsToForget([]), [])
})

t.test('ttlAfterFinished: a finished job expires that long after it finished', async (t) => {
  t.equal(expiresAt(1_000, 60_000), 61_000)
  t.equal(expiresAt(1_000, null), null, 'no ttl: kept until deleted')
  t.notOk(ttlExpired(1_000, 60_000, 60_999))
  t.ok(ttlExpired(1_000, 60_000, 61_000))
  t.ok(ttlExpired(1_000, 0, 1_000), 'a ttl of 0: forgotten at once')
  t.notOk(ttlExpired(1_000, null, Number.MAX_SAFE_INTEGER))
})

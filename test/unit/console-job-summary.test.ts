// The console's jobs pages in a word: a cron job's latest run per node, its soonest firing, a
// job's condition as a badge, and a job's NDJSON output by copy.
import t from 'tap'
import type { CronJobNodeView, CronRunView } from '../../protocol/api/index.js'
import { anyLatestFailed, jobConditionClass, lastRunSummary, outputByCopy, soonestFiring } from '../../hub/console/src/job-summary.js'

const run = (outcome: CronRunView['outcome'], scheduledAt = '2026-12-07T10:00:00.000Z'): CronRunView => ({
  workload: 'cron-backup-1',
  scheduledAt,
  attempt: 1,
  outcome,
  exitCode: outcome === 'succeeded' ? 0 : 1,
  reason: null,
  startedAt: scheduledAt,
  finishedAt: scheduledAt,
})

const node = (nodeId: string, runs: CronRunView[], extra: Partial<CronJobNodeView> = {}): CronJobNodeView => ({
  nodeId,
  placed: true,
  online: true,
  zone: 'UTC',
  nextFireAt: null,
  skipped: 0,
  missed: 0,
  runs,
  lapses: [],
  ...extra,
})

t.test('the latest run per carrying node, summarised', async (t) => {
  t.equal(lastRunSummary([]), '0 nodes')
  t.equal(lastRunSummary([node('a', [])]), '1 node: 1 no run yet')
  t.equal(
    lastRunSummary([node('a', [run('succeeded'), run('failed')]), node('b', [run('succeeded')]), node('c', [run('failed'), run('succeeded')])]),
    '3 nodes: 2 succeeded, 1 failed',
  )
  t.equal(lastRunSummary([node('a', [run('failed')]), node('b', [])]), '2 nodes: 1 failed, 1 no run yet')
  t.equal(
    lastRunSummary([node('a', [run('succeeded')]), node('gone', [run('failed')], { placed: false })]),
    '1 node: 1 succeeded',
    'a node that no longer carries it is not counted',
  )
  t.notOk(anyLatestFailed([node('a', [run('succeeded'), run('failed')])]), 'only the latest run counts')
  t.ok(anyLatestFailed([node('a', [run('failed')])]))
  t.notOk(anyLatestFailed([node('gone', [run('failed')], { placed: false })]))
})

t.test('the soonest next firing over the carrying nodes', async (t) => {
  t.equal(soonestFiring([]), null)
  t.equal(soonestFiring([node('a', [])]), null, 'suspended or unknown zone: none')
  t.equal(
    soonestFiring([
      node('a', [], { nextFireAt: '2026-12-07T12:00:00.000Z' }),
      node('b', [], { nextFireAt: '2026-12-07T11:00:00+00:00' }),
      node('c', []),
      node('gone', [], { placed: false, nextFireAt: '2026-12-07T09:00:00.000Z' }),
    ]),
    '2026-12-07T11:00:00+00:00',
  )
})

t.test("a job's condition as a badge class", async (t) => {
  t.equal(jobConditionClass({ type: 'Complete', reason: 'Completed', message: '' }), 'ok')
  t.equal(jobConditionClass({ type: 'Failed', reason: 'BackoffLimitExceeded', message: '' }), 'bad')
  t.equal(jobConditionClass({ type: 'Failed', reason: 'DeadlineExceeded', message: '' }), 'bad')
  t.equal(jobConditionClass({ type: 'Active', reason: 'Pending', message: '' }), 'warn')
  t.equal(jobConditionClass({ type: 'Active', reason: 'Retrying', message: '' }), 'warn')
  t.equal(jobConditionClass({ type: 'Active', reason: 'Running', message: '' }), 'info')
  t.equal(jobConditionClass({ type: 'Active', reason: 'Created', message: '' }), 'info')
})

t.test("a job's output by copy", async (t) => {
  const records = [
    { type: 'start', targets: [{ node: 'n1', workload: 'job-a-0' }] },
    { type: 'line', node: 'n1', workload: 'job-a-0', stream: 'stdout', text: 'one' },
    '',
    'not json',
    { type: 'line', node: 'n2', workload: 'job-a-1', stream: 'stderr', text: 'oops' },
    { type: 'gap', node: 'n1', workload: 'job-a-0', missing: 3 },
    { type: 'line', node: 'n1', workload: 'job-a-0', stream: 'stdout', text: 'two' },
    { type: 'error', node: 'n3', workload: 'job-a-2', code: 'node-offline', message: 'n3 is offline' },
    { type: 'end' },
  ]
  const text = records.map((r) => (typeof r === 'string' ? r : JSON.stringify(r))).join('\n')
  const output = outputByCopy(text)
  t.same([...output.keys()], ['job-a-0', 'job-a-1', 'job-a-2'])
  t.same(output.get('job-a-0'), {
    lines: [
      { stream: 'stdout', text: 'one' },
      { stream: 'stdout', text: 'two' },
    ],
    missing: 3,
    error: null,
  })
  t.same(output.get('job-a-1'), { lines: [{ stream: 'stderr', text: 'oops' }], missing: 0, error: null })
  t.same(output.get('job-a-2'), { lines: [], missing: 0, error: 'n3 is offline' })
  t.same(outputByCopy(''), new Map())
})

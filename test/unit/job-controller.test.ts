// The hub's decision for one Job (hub/jobs/job-controller.ts): finished copies from the nodes'
// reports, new copies and where, retries with backoff, the job's condition, every-node, a node
// going away, the deadline and the ttl. Pure: nodes, reports and the time are given.
import t from 'tap'
import { JobSpec, type WorkloadState } from '../../protocol/index.js'
import { decideJob, type CopyReport, type JobCopyRecord, type JobInput, type JobView } from '../../hub/jobs/job-controller.js'
import type { SchedulerNode } from '../../hub/scheduler/types.js'
import { schedulerNode } from '../support/scheduler-nodes.js'

const T0 = Date.parse('2026-12-07T10:00:00Z')
const UID = 7

function jobOf(spec: Record<string, unknown>, finished: JobView['finished'] = null): JobView {
  return { name: 'export', uid: UID, spec: JobSpec.parse({ template: { image: 'busybox' }, ...spec }), startedAt: T0, finished }
}

type Reports = Record<string, { state: WorkloadState; exitCode?: number; since?: number; revision?: number; lastLogLines?: string[] }>

function input(
  job: JobView,
  copies: JobCopyRecord[],
  options: { reports?: Reports; nodes?: SchedulerNode[]; now?: number; retryBaseMs?: number } = {},
): JobInput {
  const reports = options.reports ?? {}
  return {
    job,
    copies,
    report: (nodeId, workload): CopyReport | undefined => {
      const r = reports[`${nodeId}/${workload}`]
      return r === undefined
        ? undefined
        : {
            revision: r.revision ?? UID,
            state: r.state,
            ...(r.exitCode !== undefined ? { exitCode: r.exitCode } : {}),
            since: r.since ?? T0,
            ...(r.lastLogLines ? { lastLogLines: r.lastLogLines } : {}),
          }
    },
    nodes: options.nodes ?? [schedulerNode('a'), schedulerNode('b')],
    usedByOthers: () => ({ cpuMillis: 0, memoryBytes: 0, gpus: 0 }),
    now: options.now ?? T0,
    ...(options.retryBaseMs !== undefined ? { retryBaseMs: options.retryBaseMs } : {}),
  }
}

function running(index: number, attempt: number, nodeId: string, startedAt = T0): JobCopyRecord {
  return { index, attempt, nodeId, workload: `job-export-${index}-${attempt}`, state: 'running', exitCode: null, startedAt, finishedAt: null, reason: null }
}

function ended(
  index: number,
  attempt: number,
  nodeId: string,
  exitCode: number | null,
  finishedAt: number,
  reason: JobCopyRecord['reason'] = exitCode === 0 ? 'Succeeded' : 'NonZeroExit',
): JobCopyRecord {
  return { ...running(index, attempt, nodeId), state: exitCode === 0 ? 'succeeded' : 'failed', exitCode, finishedAt, reason }
}

t.test('a new job starts parallelism copies at the lowest indexes, spread over the nodes', async (t) => {
  const decision = decideJob(input(jobOf({ completions: 3, parallelism: 2 }), []))
  t.same(
    decision.start.map((s) => [s.workload, s.nodeId]),
    [
      ['job-export-0-1', 'a'],
      ['job-export-1-1', 'b'],
    ],
  )
  t.equal(decision.active.length, 2)
  t.match(decision.condition, { type: 'Active', reason: 'Running', message: '0/3 succeeded, 0 failed, 2 running' })
  t.equal(decision.ended, null)
})

t.test('one node takes several copies when it is the only one that fits', async (t) => {
  const decision = decideJob(input(jobOf({ completions: 2, parallelism: 2 }), [], { nodes: [schedulerNode('a')] }))
  t.same(
    decision.start.map((s) => s.nodeId),
    ['a', 'a'],
  )
})

t.test('an exited report ends a copy: 0 succeeded, otherwise failed, with its lines and the time it exited', async (t) => {
  const copies = [running(0, 1, 'a'), running(1, 1, 'b')]
  const reports: Reports = {
    'a/job-export-0-1': { state: 'exited', exitCode: 0, since: T0 + 3_000, lastLogLines: ['stdout: done'] },
    'b/job-export-1-1': { state: 'exited', exitCode: 3, since: T0 + 4_000 },
  }
  const decision = decideJob(input(jobOf({ completions: 3, parallelism: 2 }), copies, { reports, now: T0 + 5_000 }))
  t.same(
    decision.finish.map((f) => [f.workload, f.state, f.exitCode, f.reason, f.finishedAt - T0, f.logLines]),
    [
      ['job-export-0-1', 'succeeded', 0, 'Succeeded', 3_000, ['stdout: done']],
      ['job-export-1-1', 'failed', 3, 'NonZeroExit', 4_000, null],
    ],
  )
  t.same(decision.start, [], 'the whole job waits out the retry delay after a failure')
  t.match(decision.condition, {
    type: 'Active',
    reason: 'Retrying',
    message: /1\/3 succeeded, 1 failed, 0 running; 2 more after the retry delay, at 2026-12-07T10:00:14\.000Z/,
  })
  t.equal(decision.wakeAt, T0 + 14_000, '10 s after the failure')
})

t.test('reports that are not final, or about another job of the same name, change nothing', async (t) => {
  const copies = [running(0, 1, 'a')]
  for (const report of [
    { state: 'running' as const },
    { state: 'pulling' as const },
    { state: 'crash-loop' as const, exitCode: 1 },
    { state: 'exited' as const, exitCode: 0, revision: UID - 1 },
  ]) {
    const decision = decideJob(input(jobOf({}), copies, { reports: { 'a/job-export-0-1': report } }))
    t.same(decision.finish, [], JSON.stringify(report))
    t.same(decision.start, [])
    t.equal(decision.active.length, 1)
  }
})

t.test('a retry starts after the delay, at the failed index, on another node when one fits', async (t) => {
  const copies = [ended(0, 1, 'a', 1, T0 + 1_000), ended(1, 1, 'b', 0, T0 + 1_000), running(2, 1, 'b')]
  const early = decideJob(input(jobOf({ completions: 3, parallelism: 2 }), copies, { now: T0 + 10_999 }))
  t.same(early.start, [])
  const decision = decideJob(input(jobOf({ completions: 3, parallelism: 2 }), copies, { now: T0 + 11_000 }))
  t.same(
    decision.start.map((s) => [s.workload, s.nodeId]),
    [['job-export-0-2', 'b']],
    'attempt 2 of index 0 avoids a, where it failed, though b already runs a copy',
  )
})

t.test('a retry goes back to the same node when no other fits', async (t) => {
  const copies = [ended(0, 1, 'a', 1, T0)]
  const decision = decideJob(input(jobOf({}), copies, { now: T0 + 10_000, nodes: [schedulerNode('a'), schedulerNode('b', { cordoned: true })] }))
  t.same(
    decision.start.map((s) => [s.workload, s.nodeId]),
    [['job-export-0-2', 'a']],
  )
})

t.test('the retry delay doubles with each failure, from the test knob base when set', async (t) => {
  const copies = [ended(0, 1, 'a', 1, T0), ended(0, 2, 'b', 1, T0 + 100), ended(0, 3, 'a', 1, T0 + 200)]
  const decision = decideJob(input(jobOf({}), copies, { now: T0 + 200, retryBaseMs: 100 }))
  t.equal(decision.wakeAt, T0 + 200 + 400, '100 ms × 2² after the third failure')
  t.same(
    decideJob(input(jobOf({}), copies, { now: T0 + 600, retryBaseMs: 100 })).start.map((s) => s.workload),
    ['job-export-0-4'],
  )
})

t.test('past backoffLimit the job fails, its running copies stopped', async (t) => {
  const copies = [ended(0, 1, 'a', 1, T0), running(1, 1, 'b')]
  const reports: Reports = { 'b/job-export-1-1': { state: 'exited', exitCode: 2, since: T0 + 500 } }
  const decision = decideJob(input(jobOf({ completions: 3, parallelism: 2, backoffLimit: 1 }), [...copies, running(2, 1, 'a')], { reports, now: T0 + 1_000 }))
  t.same(
    decision.finish.map((f) => [f.workload, f.state, f.reason]),
    [
      ['job-export-1-1', 'failed', 'NonZeroExit'],
      ['job-export-2-1', 'stopped', 'BackoffLimitExceeded'],
    ],
  )
  t.match(decision.condition, {
    type: 'Failed',
    reason: 'BackoffLimitExceeded',
    message: '2 failed copies exceed backoffLimit 1; 0/3 succeeded, 2 failed, 0 running; 1 running copy stopped',
  })
  t.same(decision.ended, { at: T0 + 1_000, condition: decision.condition })
  t.same(decision.active, [])
  t.same(decision.start, [])
})

t.test('backoffLimit 0 fails on the first failure', async (t) => {
  const decision = decideJob(input(jobOf({ backoffLimit: 0 }), [running(0, 1, 'a')], { reports: { 'a/job-export-0-1': { state: 'exited', exitCode: 1 } } }))
  t.equal(decision.condition.type, 'Failed')
})

t.test('activeDeadline fails the job and stops its copies', async (t) => {
  const job = jobOf({ activeDeadline: '1m' })
  const before = decideJob(input(job, [running(0, 1, 'a')], { now: T0 + 59_999 }))
  t.equal(before.condition.type, 'Active')
  t.equal(before.wakeAt, T0 + 60_000, 'wakes at the deadline')
  const after = decideJob(input(job, [running(0, 1, 'a')], { now: T0 + 60_000 }))
  t.match(after.condition, { type: 'Failed', reason: 'DeadlineExceeded', message: /still running after activeDeadline 1m/ })
  t.same(
    after.finish.map((f) => [f.workload, f.state, f.reason]),
    [['job-export-0-1', 'stopped', 'DeadlineExceeded']],
  )
})

t.test('enough successes complete the job; a copy still running is stopped, a late failure does not count', async (t) => {
  const copies = [ended(0, 1, 'a', 0, T0), running(1, 1, 'b'), running(2, 1, 'a')]
  const reports: Reports = { 'b/job-export-1-1': { state: 'exited', exitCode: 0 } }
  const decision = decideJob(input(jobOf({ completions: 2, parallelism: 2 }), copies, { reports, now: T0 + 1 }))
  t.match(decision.condition, { type: 'Complete', reason: 'Completed', message: '2/2 succeeded, 0 failed, 0 running; 1 running copy stopped' })
  t.same(
    decision.finish.map((f) => [f.workload, f.state, f.reason]),
    [
      ['job-export-1-1', 'succeeded', 'Succeeded'],
      ['job-export-2-1', 'stopped', 'JobComplete'],
    ],
  )
  t.equal(decision.tally.active, 0)
})

t.test('completions 3, parallelism 2 with one failure: indexes and attempts over a whole run', async (t) => {
  const job = jobOf({ completions: 3, parallelism: 2 })
  let copies: JobCopyRecord[] = []
  let now = T0
  const apply = (reports: Reports = {}): ReturnType<typeof decideJob> => {
    const decision = decideJob(input(job, copies, { reports, now, retryBaseMs: 1_000 }))
    const finished = new Map(decision.finish.map((f) => [f.workload, f]))
    copies = [
      ...copies.map((c) => {
        const f = finished.get(c.workload)
        return f ? { ...c, state: f.state, exitCode: f.exitCode, finishedAt: f.finishedAt, reason: f.reason } : c
      }),
      ...decision.active.filter((a) => !copies.some((c) => c.workload === a.workload)),
    ]
    return decision
  }
  apply()
  t.same(
    copies.map((c) => c.workload),
    ['job-export-0-1', 'job-export-1-1'],
  )
  now += 1_000
  apply({ 'a/job-export-0-1': { state: 'exited', exitCode: 1, since: now }, 'b/job-export-1-1': { state: 'exited', exitCode: 0, since: now } })
  t.same(
    copies.filter((c) => c.state === 'running'),
    [],
    'waits out the retry delay',
  )
  now += 1_000
  apply()
  t.same(
    copies.filter((c) => c.state === 'running').map((c) => [c.workload, c.nodeId]),
    [
      ['job-export-0-2', 'b'],
      ['job-export-2-1', 'a'],
    ],
  )
  now += 1_000
  const last = apply({ 'b/job-export-0-2': { state: 'exited', exitCode: 0, since: now }, 'a/job-export-2-1': { state: 'exited', exitCode: 0, since: now } })
  t.match(last.condition, { type: 'Complete', message: '3/3 succeeded, 1 failed, 0 running' })
  t.same(last.ended?.at, now)
})

t.test('a copy whose node is removed fails with NodeLost and is retried on another node', async (t) => {
  const decision = decideJob(input(jobOf({}), [running(0, 1, 'gone')], { now: T0 + 5_000 }))
  t.same(
    decision.finish.map((f) => [f.workload, f.state, f.reason, f.exitCode]),
    [['job-export-0-1', 'failed', 'NodeLost', null]],
  )
  const later = decideJob(input(jobOf({}), [ended(0, 1, 'gone', null, T0 + 5_000, 'NodeLost')], { now: T0 + 15_000 }))
  t.same(
    later.start.map((s) => [s.workload, s.nodeId]),
    [['job-export-0-2', 'a']],
  )
})

t.test('copies that fit nowhere leave the job pending with the scheduler reasons', async (t) => {
  const nodes = [schedulerNode('a', { labels: { site: 'south' } }), schedulerNode('b', { online: false, labels: { site: 'north' } })]
  const decision = decideJob(input(jobOf({ completions: 2, parallelism: 2, selector: { matchLabels: { site: 'north' } } }), [], { nodes }))
  t.same(decision.start, [])
  t.match(decision.condition, {
    type: 'Active',
    reason: 'Pending',
    message: /2 copies wait for a node: 0\/2 nodes match: 1 is offline, 1 does not match selector site=north/,
  })
})

t.test('capacity: a copy asking for more memory than a node has free waits', async (t) => {
  const job = jobOf({ completions: 2, parallelism: 2, template: { image: 'busybox', resources: { memory: '6Gi' } } })
  const decision = decideJob(input(job, [], { nodes: [schedulerNode('a')] }))
  t.same(
    decision.start.map((s) => s.nodeId),
    ['a'],
    'one fits in 8 GiB, the second does not',
  )
  t.match(decision.condition, { reason: 'Pending', message: /1 copy waits for a node: 0\/1 nodes match: 1 has insufficient memory/ })
})

t.test('every-node: one copy on each matching node, at an index of its own, never again once it succeeded', async (t) => {
  const nodes = [schedulerNode('a', { labels: { fleet: 'x' } }), schedulerNode('b', { labels: { fleet: 'x' } }), schedulerNode('c')]
  const job = jobOf({ mode: 'every-node', selector: { matchLabels: { fleet: 'x' } } })
  const first = decideJob(input(job, [], { nodes }))
  t.same(
    first.start.map((s) => [s.workload, s.nodeId]),
    [
      ['job-export-0-1', 'a'],
      ['job-export-1-1', 'b'],
    ],
  )
  const reports: Reports = { 'a/job-export-0-1': { state: 'exited', exitCode: 0 }, 'b/job-export-1-1': { state: 'exited', exitCode: 4 } }
  const second = decideJob(input(job, [running(0, 1, 'a'), running(1, 1, 'b')], { reports, nodes, now: T0 + 1_000 }))
  t.same(second.start, [], 'b waits out the retry delay; a is done')
  t.match(second.condition, { message: /1\/2 succeeded, 1 failed/ })
  const copies = [ended(0, 1, 'a', 0, T0 + 1_000), ended(1, 1, 'b', 4, T0 + 1_000)]
  const retry = decideJob(input(job, copies, { nodes, now: T0 + 11_000 }))
  t.same(
    retry.start.map((s) => [s.workload, s.nodeId]),
    [['job-export-1-2', 'b']],
    'the retry stays on its node, at its index',
  )
  const done = decideJob(input(job, [...copies, ended(1, 2, 'b', 0, T0 + 12_000)], { nodes, now: T0 + 12_000 }))
  t.match(done.condition, { type: 'Complete', message: '2/2 succeeded, 1 failed, 0 running' })
})

t.test('every-node: a node that joins while the job runs gets a copy; an offline node is waited for', async (t) => {
  const job = jobOf({ mode: 'every-node' })
  const nodes = [schedulerNode('a'), schedulerNode('b', { online: false }), schedulerNode('c')]
  const decision = decideJob(input(job, [ended(0, 1, 'a', 0, T0)], { nodes, now: T0 + 1 }))
  t.same(
    decision.start.map((s) => [s.workload, s.nodeId]),
    [['job-export-1-1', 'c']],
  )
  t.match(decision.condition, { type: 'Active', reason: 'Pending', message: /1\/3 succeeded.*waiting for b is offline/ })
})

t.test('every-node: a node removed before its copy succeeded no longer counts; its copy failed with NodeLost', async (t) => {
  const job = jobOf({ mode: 'every-node' })
  const decision = decideJob(input(job, [ended(0, 1, 'a', 0, T0), running(1, 1, 'b')], { nodes: [schedulerNode('a')], now: T0 + 1 }))
  t.same(
    decision.finish.map((f) => [f.nodeId, f.reason]),
    [['b', 'NodeLost']],
  )
  t.match(decision.condition, { type: 'Complete', message: '1/1 succeeded, 1 failed, 0 running' })
})

t.test('every-node with no matching node waits, and says so', async (t) => {
  const decision = decideJob(input(jobOf({ mode: 'every-node', selector: { matchLabels: { gpu: 'yes' } } }), []))
  t.same(decision.start, [])
  t.match(decision.condition, { type: 'Active', reason: 'Pending', message: /no node matches: 0\/2 nodes/ })
})

t.test('parallelism 0 starts nothing', async (t) => {
  const decision = decideJob(input(jobOf({ parallelism: 0 }), []))
  t.same(decision.start, [])
  t.equal(decision.condition.type, 'Active')
})

t.test('ttlAfterFinished: a finished job is kept until its ttl, then expires; without one it stays', async (t) => {
  const condition = { type: 'Complete' as const, reason: 'Completed', message: '1/1 succeeded, 0 failed, 0 running' }
  const job = jobOf({ ttlAfterFinished: '1h' }, { at: T0, condition })
  const kept = decideJob(input(job, [ended(0, 1, 'a', 0, T0)], { now: T0 + 3_599_999 }))
  t.equal(kept.expired, false)
  t.equal(kept.wakeAt, T0 + 3_600_000)
  t.same(kept.condition, condition, 'a finished job keeps the condition it ended with')
  t.same([kept.start, kept.finish, kept.active], [[], [], []])
  t.equal(decideJob(input(job, [], { now: T0 + 3_600_000 })).expired, true)
  t.equal(decideJob(input(jobOf({}, { at: T0, condition }), [], { now: T0 + 1e12 })).expired, false)
})

t.test('the decision that ends a job wakes at its ttl', async (t) => {
  const decision = decideJob(
    input(jobOf({ ttlAfterFinished: '10s' }), [running(0, 1, 'a')], { reports: { 'a/job-export-0-1': { state: 'exited', exitCode: 0 } }, now: T0 + 5 }),
  )
  t.equal(decision.condition.type, 'Complete')
  t.equal(decision.wakeAt, T0 + 5 + 10_000)
})

/**
 * The hub's decision for one Job, as a pure function of the job, its copy records, what the
 * nodes report about those copies, the nodes and the time: which copies finished (and how), which
 * to start and where, and the job's condition. Applied by JobPlanner (job-planner.ts), which
 * records the outcome before a finished copy leaves its node's desired document.
 */
import { jobProgress, type JobCopy, type JobCounts, type JobTally } from '../../common/jobs/job-completion.js'
import { ttlExpired } from '../../common/jobs/history-limits.js'
import { durationMs, jobCompletions, jobParallelism, type JobSpec, type WorkloadState } from '../../protocol/index.js'
import { ADMISSION, CAPACITY, ELIGIBILITY, firstRejection } from '../scheduler/checks/chain.js'
import { placementDemand, type Demand } from '../scheduler/demand.js'
import { counted, singular, tally } from '../scheduler/explain.js'
import { pickBest } from '../scheduler/rank.js'
import type { Amounts, Rejection, SchedulerNode } from '../scheduler/types.js'
import { plus } from '../scheduler/usage.js'
import { jobCopyDeployment, jobCopyName } from './copy-names.js'

/** A copy's life: running until its node reports it exited (or it is lost or stopped); then final. */
export type CopyState = 'running' | 'succeeded' | 'failed' | 'stopped'

/**
 * Why a copy ended: `Succeeded` (exit 0), `NonZeroExit`, `NodeLost` (its node was removed), or
 * stopped because the job ended or was deleted (`JobComplete`, `BackoffLimitExceeded`,
 * `DeadlineExceeded`, `JobDeleted`).
 */
export type CopyReason = 'Succeeded' | 'NonZeroExit' | 'NodeLost' | 'JobComplete' | 'BackoffLimitExceeded' | 'DeadlineExceeded' | 'JobDeleted'

/** One attempt at one index of the job, on one node (a row of job_runs). */
export interface JobCopyRecord {
  readonly index: number
  readonly attempt: number
  readonly nodeId: string
  readonly workload: string
  readonly state: CopyState
  readonly exitCode: number | null
  readonly startedAt: number
  readonly finishedAt: number | null
  readonly reason: CopyReason | null
}

export interface JobView {
  readonly name: string
  /** Unique over all jobs ever stored (never reused): the copies' `revision`, so a report about a deleted job's copy of the same name is not taken for this one's. */
  readonly uid: number
  readonly spec: JobSpec
  /** When the job was created (hub time, ms): activeDeadline counts from here. */
  readonly startedAt: number
  /** When it completed or failed, and how; null while active. */
  readonly finished: { readonly at: number; readonly condition: JobCondition } | null
}

/** What a node last reported about a copy (from its workload status). */
export interface CopyReport {
  readonly revision: number
  readonly state: WorkloadState
  readonly exitCode?: number
  /** When this state began, on the hub's clock (ms). */
  readonly since: number
  readonly lastLogLines?: readonly string[]
}

export interface JobInput {
  readonly job: JobView
  readonly copies: readonly JobCopyRecord[]
  readonly report: (nodeId: string, workload: string) => CopyReport | undefined
  readonly nodes: readonly SchedulerNode[]
  /** What other work (deployments' copies, other jobs' copies) takes on each node. */
  readonly usedByOthers: (nodeId: string) => Amounts
  readonly now: number
  /** The first retry delay; 10 s unless set (a test knob). */
  readonly retryBaseMs?: number
}

export interface CopyFinish {
  readonly workload: string
  readonly nodeId: string
  readonly index: number
  readonly attempt: number
  readonly state: Exclude<CopyState, 'running'>
  readonly exitCode: number | null
  readonly finishedAt: number
  readonly reason: CopyReason
  /** The copy's last lines of output as its node reported them; null when it sent none. */
  readonly logLines: readonly string[] | null
}

export interface CopyStart {
  readonly index: number
  readonly attempt: number
  readonly nodeId: string
  readonly workload: string
  readonly startedAt: number
}

export type JobConditionType = 'Active' | 'Complete' | 'Failed'

/** Kubernetes-like: the job's state in one word, why (`Running`, `Pending`, `Retrying`, `Completed`, `BackoffLimitExceeded`, `DeadlineExceeded`) and in words. */
export interface JobCondition {
  readonly type: JobConditionType
  readonly reason: string
  readonly message: string
}

export interface JobDecision {
  readonly finish: readonly CopyFinish[]
  readonly start: readonly CopyStart[]
  /** The copies the nodes run after this decision (those started included): what the desired documents carry. */
  readonly active: readonly JobCopyRecord[]
  readonly condition: JobCondition
  /** Set when this decision ends the job. */
  readonly ended: { readonly at: number; readonly condition: JobCondition } | null
  readonly tally: JobTally
  /** Decide again by then (a retry delay, the deadline, the ttl), besides on reports; null: no need. */
  readonly wakeAt: number | null
  /** The job finished more than ttlAfterFinished ago: delete it and its records. */
  readonly expired: boolean
}

/** The job's demand on a node, as the scheduler's checks read it. */
export function jobDemand(job: Pick<JobView, 'name' | 'spec'>): Demand {
  return placementDemand(jobCopyDeployment(job.name), { ...job.spec, offlineGrace: '0s' }, 0)
}

export function decideJob(input: JobInput): JobDecision {
  const { job, now } = input
  if (job.finished !== null) return settled(input, job.finished)

  // 1. What the reports (and the node list) say about the running copies.
  const nodeIds = new Set(input.nodes.map((node) => node.id))
  const finish: CopyFinish[] = []
  const copies = input.copies.map((copy): JobCopyRecord => {
    if (copy.state !== 'running') return copy
    const ended = endOf(copy, input.report(copy.nodeId, copy.workload), job.uid, nodeIds.has(copy.nodeId), now)
    if (ended === null) return copy
    finish.push(ended)
    return { ...copy, state: ended.state, exitCode: ended.exitCode, finishedAt: ended.finishedAt, reason: ended.reason }
  })

  // 2. The accounting: what succeeded, failed and runs, against completions (or the nodes).
  const demand = jobDemand(job)
  const everyNode = job.spec.mode === 'every-node'
  const targets = everyNode ? targetNodes(copies, input.nodes, demand) : []
  const counts: JobCounts = {
    completions: everyNode ? Math.max(1, targets.length) : jobCompletions(job.spec),
    parallelism: everyNode ? targets.length : jobParallelism(job.spec),
    backoffLimit: job.spec.backoffLimit,
    activeDeadlineMs: job.spec.activeDeadline === undefined ? null : durationMs(job.spec.activeDeadline),
    ...(input.retryBaseMs !== undefined ? { retryBaseMs: input.retryBaseMs } : {}),
  }
  const progress = jobProgress(counts, copies.filter(counting).map(asJobCopy), job.startedAt, now)

  if (progress.kind !== 'running') {
    const reason: CopyReason = progress.kind === 'complete' ? 'JobComplete' : progress.reason
    for (const copy of copies) if (copy.state === 'running') finish.push(stopped(copy, reason, now))
    const type = progress.kind === 'complete' ? 'Complete' : 'Failed'
    const stoppedCount = progress.tally.active
    const counted = `${summary({ ...progress.tally, active: 0 }, counts.completions)}${stoppedCount > 0 ? `; ${stoppedCount} running ${stoppedCount === 1 ? 'copy' : 'copies'} stopped` : ''}`
    const condition: JobCondition =
      progress.kind === 'complete'
        ? { type, reason: 'Completed', message: counted }
        : {
            type,
            reason: progress.reason,
            message:
              progress.reason === 'DeadlineExceeded'
                ? `still running after activeDeadline ${job.spec.activeDeadline}; ${counted}`
                : `${progress.tally.failed} failed copies exceed backoffLimit ${job.spec.backoffLimit}; ${counted}`,
          }
    const ttl = ttlMs(job.spec)
    return {
      finish,
      start: [],
      active: [],
      condition,
      ended: { at: now, condition },
      tally: { ...progress.tally, active: 0 },
      wakeAt: ttl === null ? null : now + ttl,
      expired: ttl !== null && ttl <= 0,
    }
  }

  // 3. New copies, where they fit.
  const placed = everyNode
    ? placeOnEachNode(copies, targets, progress.startNow, input, demand)
    : placeReplicas(copies, progress.startNow, counts.completions, input, demand)
  const active = [...copies.filter((copy) => copy.state === 'running'), ...placed.start.map(asRecord)]
  const tallyNow = { ...progress.tally, active: active.length }
  const wakes = [progress.startAt, progress.deadlineAt].filter((at): at is number => at !== null)
  return {
    finish,
    start: placed.start,
    active,
    condition: activeCondition(tallyNow, counts.completions, progress.startAt, progress.startLater, placed.pending),
    ended: null,
    tally: tallyNow,
    wakeAt: wakes.length === 0 ? null : Math.min(...wakes),
    expired: false,
  }
}

/** A job that has already ended: nothing runs; only its ttl is looked at. */
function settled(input: JobInput, finished: NonNullable<JobView['finished']>): JobDecision {
  const { job, copies, now } = input
  const ttl = ttlMs(job.spec)
  const finishedAt = finished.at
  const succeeded = copies.filter((copy) => copy.state === 'succeeded').length
  const failed = copies.filter((copy) => copy.state === 'failed').length
  return {
    finish: [],
    start: [],
    active: [],
    condition: finished.condition,
    ended: null,
    tally: { succeeded, failed, active: 0 },
    wakeAt: ttl === null ? null : finishedAt + ttl,
    expired: ttlExpired(finishedAt, ttl, now),
  }
}

function ttlMs(spec: JobSpec): number | null {
  return spec.ttlAfterFinished === undefined ? null : durationMs(spec.ttlAfterFinished)
}

/**
 * A running copy's end, if it has one: its node reported it exited (restartPolicy never makes
 * that final), or its node is gone. A report about another job of the same name (another uid)
 * or from before the copy started says nothing about it.
 */
function endOf(copy: JobCopyRecord, report: CopyReport | undefined, uid: number, nodeExists: boolean, now: number): CopyFinish | null {
  const base = { workload: copy.workload, nodeId: copy.nodeId, index: copy.index, attempt: copy.attempt }
  if (!nodeExists) return { ...base, state: 'failed', exitCode: null, finishedAt: now, reason: 'NodeLost', logLines: null }
  if (report === undefined || report.revision !== uid || report.state !== 'exited' || report.exitCode === undefined) return null
  const succeeded = report.exitCode === 0
  return {
    ...base,
    state: succeeded ? 'succeeded' : 'failed',
    exitCode: report.exitCode,
    finishedAt: Math.min(now, Math.max(copy.startedAt, report.since)),
    reason: succeeded ? 'Succeeded' : 'NonZeroExit',
    logLines: report.lastLogLines ?? null,
  }
}

function stopped(copy: JobCopyRecord, reason: CopyReason, now: number): CopyFinish {
  return {
    workload: copy.workload,
    nodeId: copy.nodeId,
    index: copy.index,
    attempt: copy.attempt,
    state: 'stopped',
    exitCode: null,
    finishedAt: now,
    reason,
    logLines: null,
  }
}

/** Stopped copies were ended by the job, not by themselves: they count neither way. */
function counting(copy: JobCopyRecord): boolean {
  return copy.state !== 'stopped'
}

function asJobCopy(copy: JobCopyRecord): JobCopy {
  if (copy.state === 'running') return { id: copy.workload, phase: 'running' }
  // A lost copy has no exit code; it failed all the same.
  const exitCode = copy.state === 'succeeded' ? 0 : (copy.exitCode ?? -1)
  return { id: copy.workload, phase: 'exited', exitCode, finishedAt: copy.finishedAt ?? 0 }
}

function asRecord(start: CopyStart): JobCopyRecord {
  return { ...start, state: 'running', exitCode: null, finishedAt: null, reason: null }
}

/**
 * Every-node: the nodes the job runs on once each. Those it has run on (a node removed since
 * counts only if its copy succeeded there), and every node that matches it now and is not
 * cordoned. A matching node that is offline is waited for, as an every-node Deployment waits.
 */
function targetNodes(copies: readonly JobCopyRecord[], nodes: readonly SchedulerNode[], demand: Demand): string[] {
  const present = new Set(nodes.map((node) => node.id))
  const targets = new Set<string>()
  for (const copy of copies) if (present.has(copy.nodeId) || copy.state === 'succeeded') targets.add(copy.nodeId)
  for (const node of nodes) if (!node.cordoned && firstRejection(ELIGIBILITY, node, demand, NO_USE) === null) targets.add(node.id)
  return [...targets].sort()
}

const NO_USE: Amounts = { cpuMillis: 0, memoryBytes: 0, gpus: 0 }

interface Placed {
  readonly start: readonly CopyStart[]
  /** Why some copies could not start now; null when all that may start did. */
  readonly pending: string | null
}

/** What this job's running copies take on each node, on top of other work. */
function usage(copies: readonly JobCopyRecord[], input: JobInput, demand: Demand): (nodeId: string) => Amounts {
  const own = new Map<string, Amounts>()
  for (const copy of copies) if (copy.state === 'running') own.set(copy.nodeId, plus(own.get(copy.nodeId) ?? NO_USE, demand.request))
  return (nodeId) => plus(input.usedByOthers(nodeId), own.get(nodeId) ?? NO_USE)
}

function rejection(node: SchedulerNode, demand: Demand, used: Amounts): Rejection | null {
  return firstRejection(ELIGIBILITY, node, demand, used) ?? firstRejection(ADMISSION, node, demand, used) ?? firstRejection(CAPACITY, node, demand, used)
}

/** The next attempt number at an index. */
function nextAttempt(copies: readonly JobCopyRecord[], index: number): number {
  return Math.max(0, ...copies.filter((copy) => copy.index === index).map((copy) => copy.attempt)) + 1
}

/**
 * Replicated: `count` copies at the lowest indexes that have neither succeeded nor a copy
 * running, each on the best node that passes every check. Copies spread: a node holding fewer of
 * this job's running copies comes first; then the scheduler's rankers. A retry goes to a node
 * where its index has not failed yet when one fits, else to the same node.
 */
function placeReplicas(copies: readonly JobCopyRecord[], count: number, completions: number, input: JobInput, demand: Demand): Placed {
  const { job, now } = input
  const done = new Set(copies.filter((copy) => copy.state === 'succeeded' || copy.state === 'running').map((copy) => copy.index))
  const indexes: number[] = []
  for (let index = 0; index < completions && indexes.length < count; index++) if (!done.has(index)) indexes.push(index)
  const working = [...copies]
  const start: CopyStart[] = []
  let pending: string | null = null
  for (const index of indexes) {
    const used = usage(working, input, demand)
    const reasons: string[] = []
    const fitting = input.nodes.filter((node) => {
      const refused = rejection(node, demand, used(node.id))
      if (refused !== null) reasons.push(refused.reason)
      return refused === null
    })
    if (fitting.length === 0) {
      const waiting = indexes.length - start.length
      const why = Object.entries(tally(reasons)).map(([reason, n]) => counted(n, reason))
      pending = `${waiting} ${waiting === 1 ? 'copy waits' : 'copies wait'} for a node: 0/${input.nodes.length} nodes match${why.length > 0 ? `: ${why.join(', ')}` : ''}`
      break
    }
    const failedOn = new Set(working.filter((copy) => copy.index === index && copy.state === 'failed').map((copy) => copy.nodeId))
    const fresh = fitting.filter((node) => !failedOn.has(node.id))
    const candidates = fresh.length > 0 ? fresh : fitting
    const mine = (nodeId: string) => working.filter((copy) => copy.state === 'running' && copy.nodeId === nodeId).length
    const fewest = Math.min(...candidates.map((node) => mine(node.id)))
    const target = pickBest(
      candidates.filter((node) => mine(node.id) === fewest),
      { demand, usedOn: used, copiesInDomain: new Map() },
    )
    if (target === undefined) break
    const attempt = nextAttempt(working, index)
    const copy: CopyStart = { index, attempt, nodeId: target.id, workload: jobCopyName(job.name, index, attempt), startedAt: now }
    start.push(copy)
    working.push(asRecord(copy))
  }
  return { start, pending }
}

/**
 * Every-node: a copy on each target node that has neither succeeded nor one running, up to
 * `count`, at the node's own index (the next free one the first time). A node that cannot take
 * it now (offline, cordoned since, no room) is waited for.
 */
function placeOnEachNode(copies: readonly JobCopyRecord[], targets: readonly string[], count: number, input: JobInput, demand: Demand): Placed {
  const { job, now } = input
  const byId = new Map(input.nodes.map((node) => [node.id, node]))
  const indexOf = new Map(copies.map((copy) => [copy.nodeId, copy.index]))
  let nextIndex = Math.max(-1, ...copies.map((copy) => copy.index)) + 1
  const busy = new Set(copies.filter((copy) => copy.state === 'succeeded' || copy.state === 'running').map((copy) => copy.nodeId))
  const working = [...copies]
  const start: CopyStart[] = []
  const waits: string[] = []
  for (const nodeId of targets) {
    if (busy.has(nodeId)) continue
    const node = byId.get(nodeId)
    if (node === undefined) continue
    if (start.length >= count) break
    const refused = rejection(node, demand, usage(working, input, demand)(nodeId))
    if (refused !== null) {
      waits.push(`${nodeId} ${singular(refused.reason)}`)
      continue
    }
    let index = indexOf.get(nodeId)
    if (index === undefined) {
      index = nextIndex++
      indexOf.set(nodeId, index)
    }
    const attempt = nextAttempt(working, index)
    const copy: CopyStart = { index, attempt, nodeId, workload: jobCopyName(job.name, index, attempt), startedAt: now }
    start.push(copy)
    working.push(asRecord(copy))
  }
  if (targets.length === 0) return { start, pending: `no node matches: 0/${input.nodes.length} nodes` }
  return { start, pending: waits.length === 0 ? null : `waiting for ${waits.join(', ')}` }
}

function summary(counts: JobTally, completions: number): string {
  return `${counts.succeeded}/${completions} succeeded, ${counts.failed} failed, ${counts.active} running`
}

function activeCondition(counts: JobTally, completions: number, startAt: number | null, waiting: number, pending: string | null): JobCondition {
  const head = summary(counts, completions)
  if (startAt !== null && waiting > 0)
    return { type: 'Active', reason: 'Retrying', message: `${head}; ${waiting} more after the retry delay, at ${new Date(startAt).toISOString()}` }
  if (pending !== null) return { type: 'Active', reason: 'Pending', message: `${head}; ${pending}` }
  return { type: 'Active', reason: 'Running', message: head }
}

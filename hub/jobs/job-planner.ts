/**
 * Applies the job controller's decisions inside the fleet controller's pass (one transaction): the
 * outcome of each finished copy is recorded, new copies are recorded, the job's condition and its
 * events are stored, and the copies still running are returned as workloads for their nodes'
 * desired documents. A copy leaves its node's document in the same pass that records its outcome,
 * so the agent removes its container only once the hub has what it needs of it.
 */
import type { Logger } from 'pino'
import type { Workload, WorkloadTemplate } from '../../protocol/index.js'
import type { HubStore } from '../store/hub-store.js'
import type { JobRecord } from '../store/job-repository.js'
import type { WorkloadStatusRecord } from '../store/status-repository.js'
import { copyRequest } from '../scheduler/demand.js'
import type { Amounts, SchedulerNode } from '../scheduler/types.js'
import { minus, NOTHING, plus } from '../scheduler/usage.js'
import { isJobCopyDeployment, jobCopyDeployment } from './copy-names.js'
import { decideJob, type CopyFinish, type CopyReport, type JobDecision, type JobView } from './job-controller.js'
import { jobEvents } from './job-events.js'

export interface JobPassInput {
  readonly nodes: readonly SchedulerNode[]
  /** The deployments' copies this pass places: they take room on their nodes. */
  readonly placements: readonly { readonly nodeId: string; readonly deployment: string }[]
  readonly deployments: ReadonlyMap<string, { readonly manifest: { readonly spec: { readonly template: WorkloadTemplate } } }>
  readonly now: number
  readonly issuedAt: string
}

export interface JobPassResult {
  /** The copies each node runs now. */
  readonly workloads: ReadonlyMap<string, Workload[]>
  /** Event ids stored, for the change feed. */
  readonly events: readonly { readonly id: number; readonly nodeId: string | null; readonly eventType: string; readonly message: string }[]
  readonly wakeAt: number | null
  /** Jobs whose condition or copies changed this pass. */
  readonly changed: readonly string[]
}

export interface JobPlannerOptions {
  readonly store: HubStore
  readonly logger: Logger
  /** The first retry delay of a failed copy (10 s unless set): a test knob. */
  readonly retryBaseMs?: number
}

export class JobPlanner {
  private readonly logger: Logger

  constructor(private readonly options: JobPlannerOptions) {
    this.logger = options.logger.child({ component: 'jobs' })
  }

  /** Must run inside the pass's transaction. */
  plan(input: JobPassInput): JobPassResult {
    const { store } = this.options
    const jobs = store.jobs.list()
    // A fleet without jobs pays one small query per pass, not a read of every workload status.
    if (jobs.length === 0) return { workloads: new Map(), events: [], wakeAt: null, changed: [] }
    const runs = store.jobs.runs()
    const reports = new Map(
      store.status
        .workloads()
        .filter((w) => isJobCopyDeployment(w.deployment))
        .map((w) => [`${w.nodeId}/${w.name}`, w]),
    )
    // Every job's running copies count against their nodes, as deployments' copies do.
    const used = new Map<string, Amounts>()
    const request = new Map(jobs.map((job) => [job.uid, copyRequest(job.manifest.spec.template)]))
    const add = (nodeId: string, amounts: Amounts, sign: 1 | -1): void => {
      const current = used.get(nodeId) ?? NOTHING
      used.set(nodeId, sign === 1 ? plus(current, amounts) : minus(current, amounts))
    }
    for (const placement of input.placements) {
      const template = input.deployments.get(placement.deployment)?.manifest.spec.template
      if (template !== undefined) add(placement.nodeId, copyRequest(template), 1)
    }
    for (const run of runs) if (run.state === 'running') add(run.nodeId, request.get(run.jobUid) ?? NOTHING, 1)

    const workloads = new Map<string, Workload[]>()
    const events: { id: number; nodeId: string | null; eventType: string; message: string }[] = []
    const changed: string[] = []
    let wakeAt: number | null = null
    for (const job of jobs) {
      const copies = runs.filter((run) => run.jobUid === job.uid)
      const own = request.get(job.uid) ?? NOTHING
      for (const copy of copies) if (copy.state === 'running') add(copy.nodeId, own, -1)
      const decision = decideJob({
        job: viewOf(job),
        copies,
        report: (nodeId, workload) => reportOf(reports.get(`${nodeId}/${workload}`)),
        nodes: input.nodes,
        usedByOthers: (nodeId) => used.get(nodeId) ?? NOTHING,
        now: input.now,
        ...(this.options.retryBaseMs !== undefined ? { retryBaseMs: this.options.retryBaseMs } : {}),
      })
      for (const copy of decision.active) add(copy.nodeId, own, 1)
      if (decision.wakeAt !== null) wakeAt = wakeAt === null ? decision.wakeAt : Math.min(wakeAt, decision.wakeAt)
      if (decision.expired) {
        store.jobs.delete(job.uid)
        this.logger.info({ job: job.name }, 'job deleted: ttlAfterFinished has passed')
        changed.push(job.name)
        continue
      }
      if (this.record(job, copies.length > 0, decision, input, events)) changed.push(job.name)
      for (const copy of decision.active) {
        const list = workloads.get(copy.nodeId) ?? []
        list.push({ name: copy.workload, deployment: jobCopyDeployment(job.name), revision: job.uid, template: job.manifest.spec.template })
        workloads.set(copy.nodeId, list)
      }
    }
    return { workloads, events, wakeAt, changed }
  }

  /** Stores what the decision changed and its events; whether anything changed. */
  private record(job: JobRecord, hadCopies: boolean, decision: JobDecision, input: JobPassInput, events: JobPassResult['events'][number][]): boolean {
    const { store } = this.options
    for (const copy of decision.finish) store.jobs.finish(job.uid, copy)
    for (const copy of decision.start) store.jobs.start(job.uid, copy)
    const conditionChanged = JSON.stringify(decision.condition) !== JSON.stringify(job.condition)
    if (decision.ended !== null) store.jobs.setCondition(job.uid, decision.ended.condition, decision.ended.at)
    else if (conditionChanged && job.finishedAt === null) store.jobs.setCondition(job.uid, decision.condition, null)
    for (const event of jobEvents(job.name, decision, !hadCopies)) {
      const id = store.status.appendEvent({ ...event, at: input.issuedAt }, input.issuedAt)
      events.push({ id, nodeId: event.nodeId, eventType: event.type, message: event.message })
    }
    if (decision.finish.length > 0) this.logger.info({ job: job.name, finished: decision.finish.map(brief) }, 'job copies finished')
    return decision.finish.length > 0 || decision.start.length > 0 || (conditionChanged && job.finishedAt === null)
  }
}

function brief(copy: CopyFinish): string {
  return `${copy.workload}@${copy.nodeId}: ${copy.reason}`
}

export function viewOf(job: JobRecord): JobView {
  return {
    name: job.name,
    uid: job.uid,
    spec: job.manifest.spec,
    startedAt: job.createdAt,
    finished: job.finishedAt === null ? null : { at: job.finishedAt, condition: job.condition },
  }
}

function reportOf(status: WorkloadStatusRecord | undefined): CopyReport | undefined {
  if (status === undefined) return undefined
  return {
    revision: status.revision,
    state: status.state,
    ...(status.exitCode !== undefined ? { exitCode: status.exitCode } : {}),
    since: Date.parse(status.hubSince),
    ...(status.lastLogLines ? { lastLogLines: status.lastLogLines } : {}),
  }
}

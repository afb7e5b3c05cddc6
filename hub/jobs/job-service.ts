import type { DeepReadonly, JobDeleted, JobDetail, JobList } from '../../protocol/api/index.js'
import { isoNow, type Clock } from '../../common/clock.js'
import type { ChangeFeed } from '../ingest/change-feed.js'
import type { HubStore } from '../store/hub-store.js'
import type { JobRunRecord } from '../store/job-repository.js'
import type { LogTarget } from '../logs/log-targets.js'
import { jobDetail, jobSummary } from './job-views.js'

/** A job the hub does not hold. The API answers 404. */
export class JobNotFoundError extends Error {
  constructor(readonly job: string) {
    super(`job ${job} not found`)
    this.name = 'JobNotFoundError'
  }
}

export interface JobServiceOptions {
  readonly store: HubStore
  readonly fleet: { request(reason: string): Promise<void> }
  readonly feed: ChangeFeed
  readonly clock: Clock
}

/** A finished copy's kept output, and where the running copies' output is read. */
export interface JobLogSources {
  readonly kept: readonly { readonly nodeId: string; readonly workload: string; readonly lines: readonly string[] }[]
  readonly running: readonly LogTarget[]
}

/** Job use cases for the API: list, show, delete, and where a job's output is. */
export class JobService {
  constructor(private readonly options: JobServiceOptions) {}

  list(): DeepReadonly<JobList> {
    const { store } = this.options
    const runs = store.jobs.runs()
    return {
      items: store.jobs.list().map((job) =>
        jobSummary(
          job,
          runs.filter((run) => run.jobUid === job.uid),
        ),
      ),
    }
  }

  get(name: string): DeepReadonly<JobDetail> {
    const job = this.options.store.jobs.get(name)
    if (!job) throw new JobNotFoundError(name)
    return jobDetail(job, this.options.store.jobs.runs(job.uid))
  }

  /** Removes the job and its records; the pass that follows takes its copies out of their nodes' documents, so they stop. */
  async delete(name: string, actor: string): Promise<DeepReadonly<JobDeleted>> {
    const { store, fleet, clock, feed } = this.options
    const stopped = store.transaction(() => {
      const job = store.jobs.get(name)
      if (!job) throw new JobNotFoundError(name)
      const running = store.jobs.runs(job.uid).filter((run) => run.state === 'running').length
      store.jobs.delete(job.uid)
      store.audit.append({ at: isoNow(clock), actor, action: 'job.delete', target: name, detail: JSON.stringify({ uid: job.uid, stopped: running }) })
      return running
    })
    await fleet.request('job-deleted')
    feed.publish({ type: 'job', name, reason: 'deleted' })
    return { deleted: name, stopped }
  }

  /** Each copy's output (optionally on one node): kept lines of finished copies, live targets of running ones. */
  logSources(name: string, nodeId: string | null): JobLogSources {
    const job = this.options.store.jobs.get(name)
    if (!job) throw new JobNotFoundError(name)
    const runs = this.options.store.jobs.runs(job.uid).filter((run) => nodeId === null || run.nodeId === nodeId)
    return {
      kept: runs.filter((run) => run.state !== 'running').map((run) => ({ nodeId: run.nodeId, workload: run.workload, lines: keptLines(run) })),
      running: runs.filter((run) => run.state === 'running').map((run) => ({ nodeId: run.nodeId, workload: run.workload })),
    }
  }
}

function keptLines(run: JobRunRecord): readonly string[] {
  return run.logLines ?? []
}

/** A job as the API shows it (protocol/api/jobs.ts), from its stored record and runs. Pure. */
import type { DeepReadonly, JobCopyView, JobDetail, JobSummaryView } from '../../protocol/api/index.js'
import { jobCompletions } from '../../protocol/index.js'
import type { JobRecord, JobRunRecord } from '../store/job-repository.js'

const iso = (ms: number): string => new Date(ms).toISOString()

export function jobSummary(job: JobRecord, runs: readonly JobRunRecord[]): DeepReadonly<JobSummaryView> {
  const { spec } = job.manifest
  const succeeded = runs.filter((run) => run.state === 'succeeded').length
  const failed = runs.filter((run) => run.state === 'failed').length
  const active = runs.filter((run) => run.state === 'running').length
  const desired = spec.mode === 'every-node' ? new Set(runs.map((run) => run.nodeId)).size : jobCompletions(spec)
  return {
    name: job.name,
    labels: job.manifest.metadata.labels ?? {},
    mode: spec.mode,
    desired,
    succeeded,
    failed,
    active,
    pending: job.finishedAt === null ? Math.max(0, desired - succeeded - active) : 0,
    condition: job.condition,
    createdAt: iso(job.createdAt),
    finishedAt: job.finishedAt === null ? null : iso(job.finishedAt),
  }
}

export function jobCopyView(run: JobRunRecord): JobCopyView {
  return {
    index: run.index,
    attempt: run.attempt,
    nodeId: run.nodeId,
    workload: run.workload,
    state: run.state,
    exitCode: run.exitCode,
    startedAt: iso(run.startedAt),
    finishedAt: run.finishedAt === null ? null : iso(run.finishedAt),
    reason: run.reason,
  }
}

export function jobDetail(job: JobRecord, runs: readonly JobRunRecord[]): DeepReadonly<JobDetail> {
  return { ...jobSummary(job, runs), uid: job.uid, manifest: job.manifest, copies: runs.map(jobCopyView) }
}

/**
 * How a Job's copies are named as workloads: `job-<job>-<index>-<attempt>`, and their
 * `deployment` is `job-<job>`. A Job's name is at most 40 characters (protocol/job.ts), so the
 * whole name always fits in 63 and two copies never share one. A Deployment's workloads are
 * `<name>` or `<name>-<N>`, so Deployments named `job-…` are refused (read-manifests.ts): one
 * named `job-x-0` would otherwise run a workload `job-x-0-1`. Cron runs are `cron-…` and
 * `static-cron-…`, which never begin with `job-`.
 */
export const JOB_COPY_PREFIX = 'job-'

export function jobCopyName(job: string, index: number, attempt: number): string {
  return `${JOB_COPY_PREFIX}${job}-${index}-${attempt}`
}

/** The `deployment` every copy of a job reports (and its events and statuses are filed under). */
export function jobCopyDeployment(job: string): string {
  return `${JOB_COPY_PREFIX}${job}`
}

/** Whether a workload status's `deployment` is a job's copies'. */
export function isJobCopyDeployment(deployment: string): boolean {
  return deployment.startsWith(JOB_COPY_PREFIX)
}

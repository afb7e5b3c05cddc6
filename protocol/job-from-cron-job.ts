import type { CronJob } from './cron-job.js'
import type { JobInput } from './job.js'
import { API_VERSION } from './object-meta.js'

/** The label a Job made from a cron job carries: which cron job it was made from. */
export const FROM_CRON_JOB_LABEL = 'shoal.io/from-cronjob'

/**
 * A Job that runs a cron job's run now, once on each node the cron job's placement matches (each
 * of those nodes fires the schedule by itself, so each runs the manual run too): the run's
 * template, backoffLimit and activeDeadline, and the cron job's selector and requires, as
 * `kubectl create job --from=cronjob/NAME` does with a CronJob's jobTemplate. The cron job's
 * labels go along, with FROM_CRON_JOB_LABEL naming it. Pure; the Job is validated where it is
 * applied.
 */
export function jobFromCronJob(cronJob: CronJob, name: string): JobInput {
  const { spec, metadata } = cronJob
  const run = spec.jobTemplate
  return {
    apiVersion: API_VERSION,
    kind: 'Job',
    metadata: { name, labels: { ...(metadata.labels ?? {}), [FROM_CRON_JOB_LABEL]: metadata.name } },
    spec: {
      mode: 'every-node',
      ...(spec.selector !== undefined ? { selector: spec.selector } : {}),
      ...(spec.requires !== undefined ? { requires: spec.requires } : {}),
      backoffLimit: run.backoffLimit,
      ...(run.activeDeadline !== undefined ? { activeDeadline: run.activeDeadline } : {}),
      template: run.template,
    },
  }
}

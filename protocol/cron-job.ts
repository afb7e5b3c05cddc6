import { z } from 'zod'
import { neverFiresReason, parseCronSchedule } from './cron/cron-schedule.js'
import { checkTimeZone, LOCAL_TIME_ZONE } from './cron/time-zone.js'
import { API_VERSION, ObjectMeta } from './object-meta.js'
import { isPodTemplate, WorkloadTemplate } from './pod-template.js'
import { Duration } from './primitives.js'

/**
 * A run's containers run to completion: a restartPolicy left out means `never` here (a container
 * template's own default is `always`, which would never finish). Set before the template's schema
 * applies its defaults, since after that an omitted field cannot be told from a written one.
 */
function neverByDefault(template: unknown): unknown {
  if (typeof template !== 'object' || template === null || Array.isArray(template)) return template
  const fields = template as Record<string, unknown>
  const withNever = (container: unknown): unknown =>
    typeof container === 'object' && container !== null && !Array.isArray(container) && !('restartPolicy' in container)
      ? { ...container, restartPolicy: 'never' }
      : container
  if (Array.isArray(fields.containers)) return { ...fields, containers: fields.containers.map(withNever) }
  return withNever(fields)
}

const RUN_RESTART_MESSAGE = "a cron job's run runs to completion: restartPolicy must be never (retries are the jobTemplate's backoffLimit)"

export const JobTemplate = z.strictObject({
  backoffLimit: z
    .number()
    .int()
    .min(0)
    .max(100)
    .default(0)
    .describe('how often a failed run of one firing is tried again (after 10 s, doubling, at most 6 min) before the firing counts as failed'),
  activeDeadline: Duration.optional().describe('a run still going after this long is stopped and counts as failed (DeadlineExceeded)'),
  template: z.preprocess(neverByDefault, WorkloadTemplate).describe('what each run runs; restartPolicy must be never (the default here)'),
})
export type JobTemplate = z.infer<typeof JobTemplate>

export const CronJobSpec = z
  .strictObject({
    schedule: z.string().min(1).max(200).describe('five cron fields (minute hour day-of-month month day-of-week) or a macro such as @daily (docs/jobs.md)'),
    timeZone: z.string().min(1).max(64).describe(`an IANA zone such as Europe/Berlin or UTC, or ${LOCAL_TIME_ZONE}: the node's own zone`),
    concurrencyPolicy: z.enum(['Allow', 'Forbid', 'Replace']).default('Allow').describe('what a firing does while an earlier run is still active'),
    startingDeadline: Duration.optional().describe('a firing found later than this after its time is not run but reported missed'),
    suspend: z.boolean().default(false).describe('firings that fall due while suspended are reported missed and never run'),
    successfulJobsHistoryLimit: z.number().int().min(0).max(100).default(3),
    failedJobsHistoryLimit: z.number().int().min(0).max(100).default(1),
    jobTemplate: JobTemplate,
  })
  .superRefine((spec, ctx) => {
    const parsed = parseCronSchedule(spec.schedule)
    if (!parsed.ok) ctx.addIssue({ code: 'custom', path: ['schedule'], message: parsed.error.message })
    else {
      const never = neverFiresReason(parsed.schedule)
      if (never !== null) ctx.addIssue({ code: 'custom', path: ['schedule'], message: `never fires: ${never}` })
    }
    if (spec.timeZone !== LOCAL_TIME_ZONE) {
      const zoneError = checkTimeZone(spec.timeZone)
      if (zoneError) ctx.addIssue({ code: 'custom', path: ['timeZone'], message: zoneError.message })
    }
    const template = spec.jobTemplate.template
    if (isPodTemplate(template)) {
      template.containers.forEach((container, index) => {
        if (container.restartPolicy !== 'never')
          ctx.addIssue({ code: 'custom', path: ['jobTemplate', 'template', 'containers', index, 'restartPolicy'], message: RUN_RESTART_MESSAGE })
      })
    } else if (template.restartPolicy !== 'never') {
      ctx.addIssue({ code: 'custom', path: ['jobTemplate', 'template', 'restartPolicy'], message: RUN_RESTART_MESSAGE })
    }
  })
export type CronJobSpec = z.infer<typeof CronJobSpec>

/** A schedule the agent fires by itself, from its own clock (docs/jobs.md). */
export const CronJob = z.strictObject({
  apiVersion: z.literal(API_VERSION),
  kind: z.literal('CronJob'),
  metadata: ObjectMeta,
  spec: CronJobSpec,
})
export type CronJob = z.infer<typeof CronJob>
export type CronJobInput = z.input<typeof CronJob>

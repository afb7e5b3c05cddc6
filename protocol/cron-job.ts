import { z } from 'zod'
import { neverFiresReason, parseCronSchedule } from './cron/cron-schedule.js'
import { checkTimeZone, LOCAL_TIME_ZONE } from './cron/time-zone.js'
import { API_VERSION, ObjectMeta } from './object-meta.js'
import { WorkloadTemplate } from './pod-template.js'
import { Duration, Name } from './primitives.js'
import { Requirements } from './requirements.js'
import { neverByDefault, refuseRestarts } from './run-to-completion.js'
import { LabelSelector } from './selector.js'

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

/** What a node needs to fire a cron job: everything but where it runs (the hub's business). */
const scheduleFields = {
  schedule: z.string().min(1).max(200).describe('five cron fields (minute hour day-of-month month day-of-week) or a macro such as @daily (docs/jobs.md)'),
  timeZone: z.string().min(1).max(64).describe(`an IANA zone such as Europe/Berlin or UTC, or ${LOCAL_TIME_ZONE}: the node's own zone`),
  concurrencyPolicy: z.enum(['Allow', 'Forbid', 'Replace']).default('Allow').describe('what a firing does while an earlier run is still active'),
  startingDeadline: Duration.optional().describe('a firing found later than this after its time is not run but reported missed'),
  suspend: z.boolean().default(false).describe('firings that fall due while suspended are reported missed and never run'),
  successfulJobsHistoryLimit: z.number().int().min(0).max(100).default(3),
  failedJobsHistoryLimit: z.number().int().min(0).max(100).default(1),
  jobTemplate: JobTemplate,
}

/** The checks one schema cannot say field by field: the schedule fires, the zone exists, runs never restart. */
function checkSchedule(spec: { schedule: string; timeZone: string; jobTemplate: JobTemplate }, ctx: z.RefinementCtx): void {
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
  refuseRestarts(spec.jobTemplate.template, ['jobTemplate', 'template'], RUN_RESTART_MESSAGE, ctx)
}

/**
 * A cron job as a node's desired document carries it: the spec without its placement, so moving
 * a cron job's selector does not give the nodes that keep it a new document.
 */
export const NodeCronJobSpec = z.strictObject(scheduleFields).superRefine(checkSchedule)
export type NodeCronJobSpec = z.infer<typeof NodeCronJobSpec>

export const CronJobSpec = z
  .strictObject({
    ...scheduleFields,
    selector: LabelSelector.optional().describe('the nodes that run the schedule, each by itself (hub cron jobs; every node when left out)'),
    requires: Requirements.optional().describe("what those nodes must have, as a Deployment's requires (hub cron jobs)"),
  })
  .superRefine(checkSchedule)
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

/** Most cron jobs one node's desired document carries: a bound on the document and on the node's runner. */
export const MAX_NODE_CRON_JOBS = 64

/** One cron job in a node's desired document (protocol/desired.ts): its name and what the node fires. */
export const DesiredCronJob = z.strictObject({ name: Name, spec: NodeCronJobSpec })
export type DesiredCronJob = z.infer<typeof DesiredCronJob>

/** The part of a CronJob's spec its nodes get: the placement (selector, requires) stays on the hub. */
export function nodeCronJobSpec(spec: CronJobSpec): NodeCronJobSpec {
  const { selector: _selector, requires: _requires, ...rest } = spec
  return rest
}

import { z } from 'zod'
import { API_VERSION, ObjectMeta } from './object-meta.js'
import { WorkloadTemplate } from './pod-template.js'
import { Duration, Name } from './primitives.js'
import { PlacementFields } from './placement.js'
import { neverByDefault, refuseRestarts } from './run-to-completion.js'

/**
 * A Job's name is at most this long: its copies are workloads named `job-<job>-<index>-<attempt>`
 * (63 characters at most), and the whole name must fit, so two jobs' copies never share a name.
 */
export const JOB_NAME_MAX = 40
export const MAX_COMPLETIONS = 1000
/** Kubernetes' default: six retries, so a seventh failure fails the job. */
export const JOB_DEFAULT_BACKOFF_LIMIT = 6

const COPY_RESTART_MESSAGE = "a job's copies run to completion: restartPolicy must be never (retries are the job's backoffLimit)"

export const JobSpec = z
  .strictObject({
    mode: z
      .enum(['replicated', 'every-node'])
      .default('replicated')
      .describe('replicated: completions successful copies wherever they fit; every-node: once on each matching node'),
    completions: z.number().int().min(1).max(MAX_COMPLETIONS).optional().describe('successful copies the job needs (default 1; replicated only)'),
    parallelism: z
      .number()
      .int()
      .min(0)
      .max(MAX_COMPLETIONS)
      .optional()
      .describe('copies running at once, at most (default 1; 0 starts none; replicated only)'),
    // Where copies may run: the same words as a Deployment's, read by the same scheduler checks.
    ...PlacementFields,
    backoffLimit: z
      .number()
      .int()
      .min(0)
      .max(100)
      .default(JOB_DEFAULT_BACKOFF_LIMIT)
      .describe('failed copies allowed (each retried after 10 s, doubling, at most 6 min); one more fails the job with BackoffLimitExceeded'),
    activeDeadline: Duration.optional().describe('the job fails with DeadlineExceeded this long after it started, its running copies stopped'),
    ttlAfterFinished: Duration.optional().describe('the finished job and its records are deleted this long after it completed or failed'),
    template: z.preprocess(neverByDefault, WorkloadTemplate).describe('what each copy runs; restartPolicy must be never (the default here)'),
  })
  .superRefine((spec, ctx) => {
    if (spec.mode === 'every-node') {
      for (const field of ['completions', 'parallelism'] as const)
        if (spec[field] !== undefined)
          ctx.addIssue({ code: 'custom', path: [field], message: `${field} cannot be set with mode: every-node (one copy runs on each matching node)` })
    }
    refuseRestarts(spec.template, ['template'], COPY_RESTART_MESSAGE, ctx)
  })
export type JobSpec = z.infer<typeof JobSpec>

/** Run-to-completion work placed by the hub (docs/jobs.md, "Jobs"). */
export const Job = z.strictObject({
  apiVersion: z.literal(API_VERSION),
  kind: z.literal('Job'),
  metadata: ObjectMeta.extend({
    name: Name.max(JOB_NAME_MAX, `must be at most ${JOB_NAME_MAX} characters (its copies are named job-<name>-<index>-<attempt>)`),
  }),
  spec: JobSpec,
})
export type Job = z.infer<typeof Job>
export type JobInput = z.input<typeof Job>

/** Successful copies a replicated job needs (1 unless set). */
export function jobCompletions(spec: JobSpec): number {
  return spec.completions ?? 1
}

/** Copies of a replicated job running at once, at most (1 unless set). */
export function jobParallelism(spec: JobSpec): number {
  return spec.parallelism ?? 1
}

import { z } from 'zod'
import { Job } from '../job.js'
import { IsoTime, Labels, Name, NodeId } from '../primitives.js'
import { listOf } from './envelopes.js'

const Count = z.number().int().nonnegative()

/** Kubernetes-like: Active while it runs, then Complete or Failed, with why in a word and in words. */
export const JobConditionView = z.strictObject({
  type: z.enum(['Active', 'Complete', 'Failed']),
  reason: z.string().describe('Active: Created, Running, Pending or Retrying; Complete: Completed; Failed: BackoffLimitExceeded or DeadlineExceeded'),
  message: z.string(),
})
export type JobConditionView = z.infer<typeof JobConditionView>

/** One attempt at one copy of a job, on one node. */
export const JobCopyView = z.strictObject({
  index: Count,
  attempt: z.number().int().min(1),
  nodeId: NodeId,
  workload: Name,
  state: z.enum(['running', 'succeeded', 'failed', 'stopped']),
  exitCode: z.number().int().nullable(),
  startedAt: IsoTime,
  finishedAt: IsoTime.nullable(),
  reason: z
    .string()
    .nullable()
    .describe('Succeeded, NonZeroExit, NodeLost, or why it was stopped: JobComplete, BackoffLimitExceeded, DeadlineExceeded, JobDeleted'),
})
export type JobCopyView = z.infer<typeof JobCopyView>

/** A job in brief: GET /api/v1/jobs. */
export const JobSummaryView = z.strictObject({
  name: Name,
  labels: Labels,
  mode: z.enum(['replicated', 'every-node']),
  /** Successful copies it needs: completions, or for every-node the nodes it has run on so far. */
  desired: Count,
  succeeded: Count,
  failed: Count,
  active: Count,
  /** Copies not started yet (waiting for a node, the retry delay or parallelism); 0 once finished. */
  pending: Count,
  condition: JobConditionView,
  createdAt: IsoTime,
  finishedAt: IsoTime.nullable(),
})
export type JobSummaryView = z.infer<typeof JobSummaryView>

export const JobList = listOf(JobSummaryView)
export type JobList = z.infer<typeof JobList>

/** GET /api/v1/jobs/:name: the job, its manifest and every copy attempt. */
export const JobDetail = JobSummaryView.extend({
  uid: z.number().int().min(1).describe("unique over every job the hub ever held: its copies' revision"),
  manifest: Job,
  copies: z.array(JobCopyView),
})
export type JobDetail = z.infer<typeof JobDetail>

/** DELETE /api/v1/jobs/:name: the job is gone; its running copies stop on the next pass. */
export const JobDeleted = z.strictObject({ deleted: Name, stopped: Count.describe('copies that were running') })
export type JobDeleted = z.infer<typeof JobDeleted>

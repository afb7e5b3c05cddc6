import { z } from 'zod'
import { CronJob } from '../cron-job.js'
import { IsoTime, Labels, Name, NodeId } from '../primitives.js'
import { listOf } from './envelopes.js'

const Count = z.number().int().nonnegative()

/** One run try of a cron job on one node, as its JobRunSucceeded / JobRunFailed event reported it. */
export const CronRunView = z.strictObject({
  workload: Name.describe('the run as a workload on the node: cron-<job>-<id>'),
  scheduledAt: IsoTime.describe('the firing it ran for'),
  attempt: z.number().int().min(1).describe('1 for the first try of a firing; retries (jobTemplate.backoffLimit) count up'),
  outcome: z.enum(['succeeded', 'failed']),
  exitCode: z.number().int().nullable().describe('null when it was stopped (DeadlineExceeded, Replaced, CronJobRemoved)'),
  reason: z.string().nullable(),
  startedAt: IsoTime,
  finishedAt: IsoTime,
})
export type CronRunView = z.infer<typeof CronRunView>

/** A firing skipped (concurrencyPolicy Forbid, or ten runs active) or a batch of missed ones, as the node reported it. */
export const CronLapseView = z.strictObject({
  kind: z.enum(['skipped', 'missed']),
  scheduledAt: IsoTime.describe("the skipped firing, or the latest of the missed batch's"),
  reason: z.string(),
  count: Count.describe('firings in it (1 for a skip)'),
})
export type CronLapseView = z.infer<typeof CronLapseView>

/** The cron job on one node: when it fires next by the schedule, and what the node reported. */
export const CronJobNodeView = z.strictObject({
  nodeId: NodeId,
  placed: z.boolean().describe("the node's document carries the cron job now (false: it did, and its reports are kept)"),
  online: z.boolean(),
  zone: z.string().describe('the zone it fires in; node-local for timeZone: local on a node that never reported its zone'),
  nextFireAt: IsoTime.nullable().describe("by the schedule, after now; null when suspended, never firing, or the zone is the node's own and unknown"),
  skipped: Count.describe('firings skipped, in all'),
  missed: Count.describe('firings missed, in all'),
  runs: z.array(CronRunView).describe('newest first, bounded by the history limits'),
  lapses: z.array(CronLapseView).describe('the latest skips and misses, newest first'),
})
export type CronJobNodeView = z.infer<typeof CronJobNodeView>

export const CronJobView = z.strictObject({
  name: Name,
  labels: Labels,
  revision: z.number().int().min(1).describe('grows by one with each apply that changes the cron job'),
  schedule: z.string(),
  timeZone: z.string(),
  suspend: z.boolean(),
  concurrencyPolicy: z.enum(['Allow', 'Forbid', 'Replace']),
  nodes: Count.describe('nodes whose document carries it'),
  lastRun: z
    .strictObject({ nodeId: NodeId, scheduledAt: IsoTime, outcome: z.enum(['succeeded', 'failed']), exitCode: z.number().int().nullable() })
    .nullable()
    .describe('the latest run reported by any node'),
  createdAt: IsoTime,
  updatedAt: IsoTime,
})
export type CronJobView = z.infer<typeof CronJobView>

export const CronJobList = listOf(CronJobView)
export type CronJobList = z.infer<typeof CronJobList>

export const CronJobDetail = CronJobView.extend({
  manifest: CronJob,
  perNode: z.array(CronJobNodeView).describe('by node id: every node that carries it or reported on it'),
})
export type CronJobDetail = z.infer<typeof CronJobDetail>

export const CronJobDeleted = z.strictObject({ deleted: Name })
export type CronJobDeleted = z.infer<typeof CronJobDeleted>

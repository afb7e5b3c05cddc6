import { z } from 'zod'
import { IsoTime, Name, type NodeEvent } from '../../protocol/index.js'

/**
 * What one of a node's cron events says about a hub cron job, for the hub's per-node history
 * (cron_runs): a finished run try, a skipped firing, or a batch of missed ones. Each is keyed by
 * (cron job, node, kind, scheduledAt, attempt), which names it once whichever way it arrives: a
 * run try by its firing and try, a skip by its firing, a missed batch by its latest firing (the
 * agent never reports one firing missed twice).
 */
export type CronRecord =
  | {
      readonly kind: 'run'
      readonly cronJob: string
      readonly scheduledAt: string
      readonly attempt: number
      readonly workload: string
      readonly outcome: 'succeeded' | 'failed'
      readonly exitCode: number | null
      readonly reason: string | null
      readonly startedAt: string
      readonly finishedAt: string
    }
  | { readonly kind: 'skipped'; readonly cronJob: string; readonly scheduledAt: string; readonly attempt: 0; readonly reason: string }
  | { readonly kind: 'missed'; readonly cronJob: string; readonly scheduledAt: string; readonly attempt: 0; readonly reason: string; readonly count: number }

const FromHub = z.object({ cronJob: Name, source: z.literal('hub') })
const RunData = FromHub.extend({
  scheduledAt: IsoTime,
  startedAt: IsoTime,
  finishedAt: IsoTime,
  exitCode: z.number().int().nullable(),
  attempt: z.number().int().min(1),
  reason: z.string().max(64).optional(),
})
const SkipData = FromHub.extend({ scheduledAt: IsoTime, reason: z.string().max(64) })
const MissData = FromHub.extend({ reason: z.string().max(64), count: z.number().int().min(1), latest: z.string().min(1).max(200) })

/**
 * The record an event makes, or null: another kind of event, a static cron job's (its source is
 * not the hub; a hub cron job of the same name is another job), or data that does not read. Pure.
 */
export function cronRecordOf(event: Pick<NodeEvent, 'type' | 'workload' | 'data'>): CronRecord | null {
  switch (event.type) {
    case 'JobRunSucceeded':
    case 'JobRunFailed': {
      const data = RunData.safeParse(event.data)
      if (!data.success || event.workload === undefined) return null
      return {
        kind: 'run',
        cronJob: data.data.cronJob,
        scheduledAt: data.data.scheduledAt,
        attempt: data.data.attempt,
        workload: event.workload,
        outcome: event.type === 'JobRunSucceeded' ? 'succeeded' : 'failed',
        exitCode: data.data.exitCode,
        reason: data.data.reason ?? null,
        startedAt: data.data.startedAt,
        finishedAt: data.data.finishedAt,
      }
    }
    case 'CronJobSkipped': {
      const data = SkipData.safeParse(event.data)
      return data.success ? { kind: 'skipped', cronJob: data.data.cronJob, scheduledAt: data.data.scheduledAt, attempt: 0, reason: data.data.reason } : null
    }
    case 'CronJobMissed': {
      const data = MissData.safeParse(event.data)
      if (!data.success) return null
      const latest = data.data.latest.split(',').at(-1) ?? ''
      if (!IsoTime.safeParse(latest).success) return null
      return { kind: 'missed', cronJob: data.data.cronJob, scheduledAt: latest, attempt: 0, reason: data.data.reason, count: data.data.count }
    }
    default:
      return null
  }
}

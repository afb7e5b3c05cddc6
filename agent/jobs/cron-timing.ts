import { createHash } from 'node:crypto'
import type { CronTiming } from '../../common/jobs/fire-decision.js'
import { parseCronSchedule } from '../../protocol/cron/cron-schedule.js'
import { resolveTimeZone, type ZoneClocks } from '../../protocol/cron/time-zone.js'
import { type CronJobSpec, durationMs } from '../../protocol/index.js'

export interface ResolvedTiming {
  readonly timing: CronTiming
  /**
   * Identifies the schedule and the zone it resolved to: when it changes, the cron job starts
   * afresh from that moment (firings of the old schedule are not caught up under the new one).
   */
  readonly specHash: string
}

/** A validated spec's timing, its zone resolved (`local`: the node's). Throws TimeZoneError for a zone this runtime does not know. */
export function cronTiming(spec: CronJobSpec, zones: ZoneClocks, nodeZone: () => string): ResolvedTiming {
  const parsed = parseCronSchedule(spec.schedule)
  // The manifest was validated with the same parser, so this does not happen; if it did, say which.
  if (!parsed.ok) throw parsed.error
  const zone = resolveTimeZone(spec.timeZone, nodeZone)
  return {
    timing: {
      schedule: parsed.schedule,
      clock: zones.get(zone),
      concurrencyPolicy: spec.concurrencyPolicy,
      startingDeadlineMs: spec.startingDeadline === undefined ? null : durationMs(spec.startingDeadline),
      suspend: spec.suspend,
    },
    specHash: createHash('sha256')
      .update(JSON.stringify([spec.schedule, zone]))
      .digest('hex')
      .slice(0, 16),
  }
}

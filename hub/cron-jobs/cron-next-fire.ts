import { parseCronSchedule } from '../../protocol/cron/cron-schedule.js'
import { nextFireAfter } from '../../protocol/cron/next-fire.js'
import { LOCAL_TIME_ZONE, TimeZoneError, type ZoneClock, type ZoneClocks } from '../../protocol/cron/time-zone.js'
import type { NodeCronJobSpec } from '../../protocol/index.js'

/** Said instead of a zone when a `timeZone: local` cron job's node never reported its zone. */
export const NODE_LOCAL = 'node-local'

export interface NodeNextFire {
  /** The zone the node fires it in; NODE_LOCAL when only the node knows. */
  readonly zone: string
  /** The next firing after now (ISO), or null: suspended, never fires, or the zone is the node's secret. */
  readonly nextFireAt: string | null
}

/**
 * When a node next fires a cron job, as the hub can tell from the schedule: the first firing
 * after `now` in the job's zone, or for `timeZone: local` in the zone the node reported at
 * enrollment (null: not reported, or not a zone this runtime knows). A suspended job has none.
 * The node decides by its own clock and state (a run still active under Forbid is skipped), so
 * this is the schedule's answer, not a promise. Pure but for the zone clocks it reuses.
 */
export function nextFireOnNode(
  spec: Pick<NodeCronJobSpec, 'schedule' | 'timeZone' | 'suspend'>,
  nodeZone: string | null,
  now: number,
  zones: ZoneClocks,
): NodeNextFire {
  const zone = spec.timeZone === LOCAL_TIME_ZONE ? nodeZone : spec.timeZone
  const clock = zone === null ? null : clockFor(zone, zones)
  if (zone === null || clock === null) return { zone: NODE_LOCAL, nextFireAt: null }
  if (spec.suspend) return { zone, nextFireAt: null }
  const parsed = parseCronSchedule(spec.schedule)
  if (!parsed.ok) return { zone, nextFireAt: null }
  const at = nextFireAfter(parsed.schedule, clock, now)
  return { zone, nextFireAt: at === null ? null : new Date(at).toISOString() }
}

/**
 * The zone's clock from the shared cache, or null for a name this runtime does not know: asked
 * through the cache, since every Intl formatter made holds ICU memory the process keeps.
 */
function clockFor(zone: string, zones: ZoneClocks): ZoneClock | null {
  try {
    return zones.get(zone)
  } catch (error) {
    if (error instanceof TimeZoneError) return null
    throw error
  }
}

/**
 * Wall-clock arithmetic in the node's own time zone (Date's local time) or a named one (Intl,
 * which tests pass): pull windows and the budget's calendar month are the node's local time, and daylight
 * saving moves both. Pure.
 */

export interface LocalParts {
  readonly year: number
  /** 1-12. */
  readonly month: number
  readonly day: number
  /** Minutes after local midnight, 0-1439. */
  readonly minute: number
}

const MINUTE_MS = 60_000
const formats = new Map<string, Intl.DateTimeFormat>()

function formatFor(zone: string): Intl.DateTimeFormat {
  let format = formats.get(zone)
  if (format === undefined) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
    })
    formats.set(zone, format)
  }
  return format
}

/** Throws a RangeError naming the zone when Intl does not know it. */
export function checkZone(zone: string): string {
  if (!isLocalZone(zone)) formatFor(zone)
  return zone
}

/**
 * The process's own zone (TZ, else the system's) is written `local:<name>` (see system-zone.ts)
 * and read through Date's local-time methods, not Intl: the first Intl time-zone call maps about
 * 6 MiB of the node binary's ICU data into the agent's resident memory for good
 * (docs/benchmarks.md, section 1), and Date needs none of it. The name is for messages only.
 */
export const LOCAL_ZONE_PREFIX = 'local:'

export function isLocalZone(zone: string): boolean {
  return zone.startsWith(LOCAL_ZONE_PREFIX)
}

/** How a zone is named to a person: the process's own by its name. */
export function zoneLabel(zone: string): string {
  return isLocalZone(zone) ? zone.slice(LOCAL_ZONE_PREFIX.length) : zone
}

export function localParts(at: number, zone: string): LocalParts {
  if (isLocalZone(zone)) {
    const date = new Date(at)
    return { year: date.getFullYear(), month: date.getMonth() + 1, day: date.getDate(), minute: date.getHours() * 60 + date.getMinutes() }
  }
  const parts: Record<string, number> = {}
  for (const part of formatFor(zone).formatToParts(new Date(at))) if (part.type !== 'literal') parts[part.type] = Number(part.value)
  return { year: parts.year ?? 1970, month: parts.month ?? 1, day: parts.day ?? 1, minute: (parts.hour ?? 0) * 60 + (parts.minute ?? 0) }
}

/** The zone's offset from UTC at an instant, in ms (east positive), to the minute. */
function offsetAt(at: number, zone: string): number {
  const local = localParts(at, zone)
  const asUtc = Date.UTC(local.year, local.month - 1, local.day, 0, local.minute)
  return asUtc - Math.floor(at / MINUTE_MS) * MINUTE_MS
}

/**
 * The first instant at or after local (year, month, day, minute) in the zone. A local time the
 * clocks skip (spring forward) comes to the first minute after the gap; one that happens twice
 * (fall back), to its first occurrence. Day and month may overflow (day 32 is next month's 1st).
 */
export function localToInstant(year: number, month: number, day: number, minute: number, zone: string): number {
  const wanted = Date.UTC(year, month - 1, day, 0, minute)
  // Two rounds settle any offset; the earlier candidate that reads as the wanted time wins.
  const candidates = [wanted - offsetAt(wanted - 86_400_000, zone), wanted - offsetAt(wanted + 86_400_000, zone)]
  const exact = candidates.filter((at) => readsAs(at, wanted, zone)).sort((a, b) => a - b)
  if (exact[0] !== undefined) return exact[0]
  // In a gap: the first minute whose local time is past the wanted one is where the clocks land.
  let low = Math.min(...candidates)
  let high = Math.max(...candidates)
  if (localAsUtc(low, zone) > wanted || localAsUtc(high, zone) <= wanted) return high
  while (high - low > MINUTE_MS) {
    const middle = low + Math.floor((high - low) / 2 / MINUTE_MS) * MINUTE_MS
    if (localAsUtc(middle, zone) > wanted) high = middle
    else low = middle
  }
  return high
}

function localAsUtc(at: number, zone: string): number {
  const local = localParts(at, zone)
  return Date.UTC(local.year, local.month - 1, local.day, 0, local.minute)
}

function readsAs(at: number, wanted: number, zone: string): boolean {
  return localAsUtc(at, zone) === wanted
}

/** "2026-12" for the calendar month an instant falls in, locally. */
export function monthKey(at: number, zone: string): string {
  const local = localParts(at, zone)
  return `${local.year}-${String(local.month).padStart(2, '0')}`
}

/** The instant the local calendar month after the one `at` falls in begins. */
export function nextMonthStart(at: number, zone: string): number {
  const local = localParts(at, zone)
  return localToInstant(local.year, local.month + 1, 1, 0, zone)
}

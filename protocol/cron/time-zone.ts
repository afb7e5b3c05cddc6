/**
 * Wall-clock time in an IANA zone, from the runtime's own zone data (Intl, full ICU in Node 20):
 * no zone library, no tzdata of our own. Readings are whole seconds, of years AD (the en-US
 * format read here carries no era).
 */

/** `timeZone: local`: the node's own zone, resolved by the agent (resolveTimeZone). */
export const LOCAL_TIME_ZONE = 'local'

/** Longer than any IANA name (the longest is about 30 characters). */
const ZONE_NAME_MAX = 64

export class TimeZoneError extends Error {
  readonly code = 'invalid-time-zone'
  constructor(
    readonly zone: string,
    readonly reason: string,
  ) {
    super(`time zone ${JSON.stringify(zone)}: ${reason}`)
    this.name = 'TimeZoneError'
  }
}

/** Why a name is not a zone this runtime knows, or null when it is one. `local` is not a name here. */
export function checkTimeZone(zone: string): TimeZoneError | null {
  if (zone === '') return new TimeZoneError(zone, 'empty; give an IANA name such as Europe/Berlin, or local')
  if (zone.length > ZONE_NAME_MAX) return new TimeZoneError(zone, `longer than ${ZONE_NAME_MAX} characters`)
  if (/^[+-]?\d/.test(zone)) return new TimeZoneError(zone, 'a UTC offset is not a zone; give an IANA name such as Asia/Tokyo or Etc/GMT-9')
  if (!/^[A-Za-z][A-Za-z0-9_+\-/]*$/.test(zone)) return new TimeZoneError(zone, 'not an IANA zone name (letters, digits, _ + - and /)')
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone })
    return null
  } catch {
    return new TimeZoneError(zone, 'not a time zone this runtime knows (IANA names such as America/New_York, or UTC)')
  }
}

/**
 * The zone a cron job runs in: its own setting, or the node's zone for `local`. The node's zone
 * may be given as a function, asked only for `local`: reading it through Intl maps about 8 MiB of
 * ICU data into the process for good, which an agent without such jobs should not pay.
 */
export function resolveTimeZone(setting: string, nodeZone: string | (() => string)): string {
  if (setting !== LOCAL_TIME_ZONE) return setting
  return typeof nodeZone === 'string' ? nodeZone : nodeZone()
}

/**
 * The instants a wall-clock reading names: one; two in a fall-back fold (`first` the earlier); or
 * none in a spring-forward gap, where `transition` is the first instant after the gap.
 */
export type WallInstants =
  | { readonly kind: 'unique'; readonly instant: number }
  | { readonly kind: 'repeated'; readonly first: number; readonly second: number }
  | { readonly kind: 'skipped'; readonly transition: number }

const SECOND = 1_000
const DAY = 86_400_000
const READING = /^(\d+)\/(\d+)\/(\d+), (\d+):(\d+):(\d+)$/

/**
 * One zone's clock. Wall-clock readings are given as "wall ms": the reading's fields laid on the
 * UTC calendar (Date.UTC(year, month - 1, day, hour, minute)), so calendar arithmetic needs no zone.
 * Holds its formatter, so make one per zone and reuse it.
 */
export class ZoneClock {
  private readonly format: Intl.DateTimeFormat

  /** Throws TimeZoneError for a name the runtime does not know. */
  constructor(readonly zone: string) {
    const fault = checkTimeZone(zone)
    if (fault) throw fault
    this.format = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    })
  }

  /** Wall time minus UTC at an instant, in ms (New York in winter: -5 h). */
  offsetAt(instant: number): number {
    const second = Math.floor(instant / SECOND) * SECOND
    return this.readingAt(second) - second
  }

  /** The wall-clock reading at an instant, as wall ms. */
  wallAt(instant: number): number {
    return instant + this.offsetAt(instant)
  }

  /** The instants at which the clock reads `wall`. */
  instantsAt(wall: number): WallInstants {
    // Offsets a day either side: no zone changes its offset twice within a day.
    const before = this.offsetAt(wall - DAY)
    const after = this.offsetAt(wall + DAY)
    const found = [...new Set([wall - before, wall - after])].filter((instant) => this.wallAt(instant) === wall).sort((a, b) => a - b)
    const [first, second] = found
    if (first !== undefined && second !== undefined) return { kind: 'repeated', first, second }
    if (first !== undefined) return { kind: 'unique', instant: first }
    // In the gap the instant lies in (wall - after, wall - before]; the transition is there too.
    const transition = this.nextTransition(wall - after, wall - before)
    return { kind: 'skipped', transition: transition ?? wall - before }
  }

  /**
   * The first instant in (after, until] at which the offset differs from the offset at `after`,
   * or null. Samples a day apart, then narrows to the second: a zone changing its offset twice
   * within a day (no zone in use does) would go unseen.
   */
  nextTransition(after: number, until: number): number | null {
    const base = this.offsetAt(after)
    let previous = after
    while (previous < until) {
      const sample = Math.min(previous + DAY, until)
      if (this.offsetAt(sample) !== base) return this.narrow(previous, sample, base)
      previous = sample
    }
    return null
  }

  /** The first whole second in (low, high] off `base`, given that `high` is off it. */
  private narrow(low: number, high: number, base: number): number {
    let lowSecond = Math.floor(low / SECOND)
    let highSecond = Math.floor(high / SECOND)
    while (highSecond - lowSecond > 1) {
      const middle = Math.floor((lowSecond + highSecond) / 2)
      if (this.offsetAt(middle * SECOND) === base) lowSecond = middle
      else highSecond = middle
    }
    return highSecond * SECOND
  }

  private readingAt(second: number): number {
    const text = this.format.format(second)
    const match = READING.exec(text)
    if (match) {
      const [, month, day, year, hour, minute, secs] = match.map(Number) as number[]
      return utc(year as number, month as number, day as number, hour as number, minute as number, secs as number)
    }
    // Not the usual en-US shape (another ICU release): read the parts instead.
    const parts: Record<string, number> = {}
    for (const part of this.format.formatToParts(second)) parts[part.type] = Number(part.value)
    return utc(parts.year ?? 0, parts.month ?? 1, parts.day ?? 1, parts.hour ?? 0, parts.minute ?? 0, parts.second ?? 0)
  }
}

function utc(year: number, month: number, day: number, hour: number, minute: number, second: number): number {
  if (year >= 100) return Date.UTC(year, month - 1, day, hour, minute, second)
  // Date.UTC maps years 0-99 to 1900-1999; setUTCFullYear does not.
  const date = new Date(Date.UTC(2000, 0, 1, hour, minute, second))
  date.setUTCFullYear(year, month - 1, day)
  return date.getTime()
}

/**
 * One ZoneClock per zone name, made on first use. Each Intl formatter holds ICU memory outside
 * the JS heap that the allocator keeps after collection (a thousand formatters made and dropped
 * grew a process by about 27 MB of RSS; docs/jobs.md), so the agent keeps its clocks here.
 */
export class ZoneClocks {
  private readonly clocks = new Map<string, ZoneClock>()

  /** Throws TimeZoneError for a name the runtime does not know. */
  get(zone: string): ZoneClock {
    let clock = this.clocks.get(zone)
    if (!clock) {
      clock = new ZoneClock(zone)
      this.clocks.set(zone, clock)
    }
    return clock
  }
}

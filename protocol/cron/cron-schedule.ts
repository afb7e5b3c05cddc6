/**
 * The five-field cron schedule of a CronJob (minute hour day-of-month month day-of-week), parsed
 * without a library: the agent fires schedules itself and has a 50 MB budget (docs/jobs.md says
 * what a library would cost). Pure; manifest validation and the agent's next-fire search share it.
 */

export type CronField = 'minute' | 'hour' | 'dayOfMonth' | 'month' | 'dayOfWeek'

/** Where a fault lies: one of the five fields, or the schedule as a whole (field count, macros). */
export type CronErrorField = CronField | 'schedule'

/** A schedule that cannot be parsed: the field and what is wrong with it, in words for the operator. */
export class CronScheduleError extends Error {
  readonly code = 'invalid-cron'
  constructor(
    readonly field: CronErrorField,
    readonly reason: string,
    readonly text: string,
  ) {
    super(field === 'schedule' ? reason : `${FIELD_LABEL[field]} field: ${reason}`)
    this.name = 'CronScheduleError'
  }
}

/**
 * A parsed schedule: the allowed values of each field, ascending and without repeats. Plain data,
 * so it can be compared and stored.
 */
export interface CronSchedule {
  /** The schedule as written, for messages and status. */
  readonly text: string
  readonly minutes: readonly number[]
  readonly hours: readonly number[]
  /** 1-31 */
  readonly daysOfMonth: readonly number[]
  /** 1-12 */
  readonly months: readonly number[]
  /** 0-6, Sunday 0 (a written 7 is Sunday too). */
  readonly daysOfWeek: readonly number[]
  /**
   * The Vixie rule: a day field written starting with `*` does not restrict the day. When both day
   * fields restrict, a day matches if EITHER matches; otherwise it must match both.
   */
  readonly dayOfMonthRestricted: boolean
  readonly dayOfWeekRestricted: boolean
  /**
   * Neither the minute nor the hour field begins with `*`: the job runs at fixed times of day.
   * Vixie cron treats such jobs apart at daylight-saving changes (next-fire.ts): a fixed time
   * skipped by the clocks runs once right after the gap, and a repeated one runs only once.
   * Other jobs follow the clock as it reads.
   */
  readonly fixedTimeOfDay: boolean
}

export type CronParseResult = { readonly ok: true; readonly schedule: CronSchedule } | { readonly ok: false; readonly error: CronScheduleError }

/** Longer than any sensible schedule; bounds the work done on input from a manifest. */
export const CRON_TEXT_MAX = 200

const FIELD_LABEL: Readonly<Record<CronField, string>> = {
  minute: 'minute',
  hour: 'hour',
  dayOfMonth: 'day-of-month',
  month: 'month',
  dayOfWeek: 'day-of-week',
}

interface FieldRange {
  readonly field: CronField
  readonly min: number
  readonly max: number
  /** Names accepted in place of numbers (case-insensitive), mapped to their values. */
  readonly names?: Readonly<Record<string, number>>
}

const MONTH_NAMES: Readonly<Record<string, number>> = {
  JAN: 1,
  FEB: 2,
  MAR: 3,
  APR: 4,
  MAY: 5,
  JUN: 6,
  JUL: 7,
  AUG: 8,
  SEP: 9,
  OCT: 10,
  NOV: 11,
  DEC: 12,
}
const DAY_NAMES: Readonly<Record<string, number>> = { SUN: 0, MON: 1, TUE: 2, WED: 3, THU: 4, FRI: 5, SAT: 6 }

// Day-of-week reads 0-7 so that 7 may stand for Sunday, as in Vixie cron; it is folded to 0 after.
const FIELDS: readonly FieldRange[] = [
  { field: 'minute', min: 0, max: 59 },
  { field: 'hour', min: 0, max: 23 },
  { field: 'dayOfMonth', min: 1, max: 31 },
  { field: 'month', min: 1, max: 12, names: MONTH_NAMES },
  { field: 'dayOfWeek', min: 0, max: 7, names: DAY_NAMES },
]

const MACROS: Readonly<Record<string, string>> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
}

export function parseCronSchedule(text: string): CronParseResult {
  try {
    return { ok: true, schedule: parseOrThrow(text) }
  } catch (error) {
    if (error instanceof CronScheduleError) return { ok: false, error }
    throw error
  }
}

function parseOrThrow(text: string): CronSchedule {
  const fail = (field: CronErrorField, reason: string): never => {
    throw new CronScheduleError(field, reason, text)
  }
  if (text.length > CRON_TEXT_MAX) fail('schedule', `longer than ${CRON_TEXT_MAX} characters`)
  const trimmed = text.trim()
  if (trimmed === '') fail('schedule', 'empty; expected five fields: minute hour day-of-month month day-of-week')
  if (/^(CRON_)?TZ=/i.test(trimmed)) fail('schedule', 'a time zone is set in the timeZone field, not in the schedule')
  let expanded = trimmed
  if (trimmed.startsWith('@')) {
    const macro = MACROS[trimmed.toLowerCase()]
    if (macro === undefined) {
      const known = Object.keys(MACROS).join(', ')
      fail('schedule', `${JSON.stringify(trimmed)} is not a known macro (known: ${known}; @reboot is not a schedule)`)
    }
    expanded = macro as string
  }
  const parts = expanded.split(/\s+/)
  if (parts.length !== 5) {
    const extra = parts.length > 5 ? '; seconds and years are not supported' : ''
    fail('schedule', `expected five fields (minute hour day-of-month month day-of-week), found ${parts.length}${extra}`)
  }
  const [minutes, hours, daysOfMonth, months, weekdays] = FIELDS.map((range, index) => parseField(parts[index] as string, range, fail))
  const daysOfWeek = [...new Set((weekdays as number[]).map((day) => day % 7))].sort((a, b) => a - b)
  const starts = (index: number): boolean => (parts[index] as string).startsWith('*')
  return {
    text,
    minutes: minutes as number[],
    hours: hours as number[],
    daysOfMonth: daysOfMonth as number[],
    months: months as number[],
    daysOfWeek,
    dayOfMonthRestricted: !starts(2),
    dayOfWeekRestricted: !starts(4),
    fixedTimeOfDay: !starts(0) && !starts(1),
  }
}

type Fail = (field: CronErrorField, reason: string) => never

/** One field: a comma-separated list of `*`, `n`, `a-b`, each optionally with `/step`. */
function parseField(source: string, range: FieldRange, fail: Fail): number[] {
  const bad = (reason: string): never => fail(range.field, reason)
  const values = new Set<number>()
  for (const item of source.split(',')) {
    if (item === '') bad(`${JSON.stringify(source)} has an empty list item`)
    const slash = item.indexOf('/')
    const base = slash < 0 ? item : item.slice(0, slash)
    let step = 1
    if (slash >= 0) {
      const stepText = item.slice(slash + 1)
      if (!/^\d+$/.test(stepText)) bad(`${JSON.stringify(item)}: the step after "/" must be a whole number`)
      step = Number(stepText)
      if (step === 0) bad(`${JSON.stringify(item)}: a step of 0 never advances`)
    }
    let low: number
    let high: number
    if (base === '*') {
      low = range.min
      high = range.field === 'dayOfWeek' ? 6 : range.max
    } else {
      const dash = base.indexOf('-')
      if (base.indexOf('-', dash + 1) >= 0) bad(`${JSON.stringify(base)}: a range has one "-"`)
      if (dash < 0) {
        low = value(base, range, bad)
        // "5/15" is read as "5-max/15", as Kubernetes (robfig/cron) and many crontabs do.
        high = slash >= 0 ? (range.field === 'dayOfWeek' ? 6 : range.max) : low
      } else {
        low = value(base.slice(0, dash), range, bad)
        high = value(base.slice(dash + 1), range, bad)
        if (low > high) bad(`${JSON.stringify(base)}: the range starts after it ends (ranges do not wrap around)`)
      }
    }
    for (let n = low; n <= high; n += step) values.add(n)
  }
  return [...values].sort((a, b) => a - b)
}

function value(text: string, range: FieldRange, bad: (reason: string) => never): number {
  if (text === '') bad('a range is missing a number')
  if (/^\d+$/.test(text)) {
    const n = Number(text)
    if (n < range.min || n > range.max) bad(`${text} is outside ${range.min}-${range.max}`)
    return n
  }
  const named = range.names?.[text.toUpperCase()]
  if (named !== undefined) return named
  if (text === '?' || /[LW#]/i.test(text)) bad(`${JSON.stringify(text)}: the Quartz extensions ? L W # are not supported`)
  const hint = range.names ? ` or a name (${Object.keys(range.names)[0]}-${Object.keys(range.names).at(-1)})` : ''
  return bad(`${JSON.stringify(text)} is not a number${hint}`)
}

const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
const MONTH_LABEL = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December']

/**
 * Why a schedule can never fire (such as `0 0 30 2 *`, February 30th), or null when it can.
 * Validation may refuse such a schedule; the next-fire search finds none and says so.
 */
export function neverFiresReason(schedule: CronSchedule): string | null {
  // A restricted day-of-week always matches some day, and with the Vixie OR rule that is enough.
  if (schedule.dayOfWeekRestricted && schedule.dayOfMonthRestricted) return null
  const firstDay = schedule.daysOfMonth[0] ?? 1
  if (schedule.months.some((month) => firstDay <= (DAYS_IN_MONTH[month - 1] ?? 0))) return null
  const days = schedule.daysOfMonth.join(',')
  const months = schedule.months.map((month) => MONTH_LABEL[month - 1]).join(', ')
  return `day-of-month ${days} never occurs in ${months}`
}

/** Whether a calendar day matches the day fields, by the Vixie rule above. */
export function matchesDay(schedule: CronSchedule, dayOfMonth: number, weekday: number): boolean {
  const byMonthDay = schedule.daysOfMonth.includes(dayOfMonth)
  const byWeekday = schedule.daysOfWeek.includes(weekday)
  if (schedule.dayOfMonthRestricted && schedule.dayOfWeekRestricted) return byMonthDay || byWeekday
  return byMonthDay && byWeekday
}

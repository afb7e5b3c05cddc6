import t from 'tap'
import { type CronSchedule, parseCronSchedule } from '../../protocol/cron/cron-schedule.js'
import { firingsBetween, latestFiringsBetween, nextFireAfter } from '../../protocol/cron/next-fire.js'
import { ZoneClock } from '../../protocol/cron/time-zone.js'

const MINUTE = 60_000
const HOUR = 3_600_000
const DAY = 86_400_000
const at = (iso: string): number => Date.parse(iso)
const iso = (instant: number | null): string | null => (instant === null ? null : new Date(instant).toISOString().replace('.000Z', 'Z'))

const parse = (text: string): CronSchedule => {
  const result = parseCronSchedule(text)
  if (!result.ok) throw new Error(result.error.message)
  return result.schedule
}

const clocks = new Map<string, ZoneClock>()
const clockFor = (zone: string): ZoneClock => {
  let clock = clocks.get(zone)
  if (!clock) {
    clock = new ZoneClock(zone)
    clocks.set(zone, clock)
  }
  return clock
}

/** The next `count` firings after `from`, as UTC ISO strings. */
const firings = (text: string, zone: string, from: string, count: number): string[] =>
  firingsBetween(parse(text), clockFor(zone), at(from), Number.MAX_SAFE_INTEGER, count).times.map((time) => iso(time) as string)

const next = (text: string, zone: string, after: string): string | null => iso(nextFireAfter(parse(text), clockFor(zone), at(after)))

t.test('the next firing is strictly after the given instant, on a whole minute', async (t) => {
  t.equal(next('* * * * *', 'UTC', '2026-05-01T10:00:00Z'), '2026-05-01T10:01:00Z', 'a firing at the instant itself is not next')
  t.equal(next('* * * * *', 'UTC', '2026-05-01T10:00:00.001Z'), '2026-05-01T10:01:00Z')
  t.equal(next('* * * * *', 'UTC', '2026-05-01T09:59:59.999Z'), '2026-05-01T10:00:00Z')
  t.equal(next('30 * * * *', 'UTC', '2026-05-01T10:30:00Z'), '2026-05-01T11:30:00Z')
  t.equal(next('0 0 * * *', 'UTC', '2026-12-31T23:59:00Z'), '2027-01-01T00:00:00Z', 'across the year')
  t.equal(next('59 23 31 12 *', 'UTC', '2026-12-31T23:59:00Z'), '2027-12-31T23:59:00Z')
  t.equal(next('0-5 23 * * *', 'UTC', '2026-05-01T23:10:00Z'), '2026-05-02T23:00:00Z', 'past the last minute of the last hour: the next day')
})

t.test('lists, ranges and steps in UTC', async (t) => {
  t.same(firings('*/20 * * * *', 'UTC', '2026-05-01T10:05:00Z', 4), [
    '2026-05-01T10:20:00Z',
    '2026-05-01T10:40:00Z',
    '2026-05-01T11:00:00Z',
    '2026-05-01T11:20:00Z',
  ])
  t.same(firings('0 9-10 * * 1-5', 'UTC', '2026-05-01T09:30:00Z', 4), [
    '2026-05-01T10:00:00Z', // Friday
    '2026-05-04T09:00:00Z', // Monday
    '2026-05-04T10:00:00Z',
    '2026-05-05T09:00:00Z',
  ])
  t.same(firings('0 0 1 */4 *', 'UTC', '2026-02-01T00:00:00Z', 3), ['2026-05-01T00:00:00Z', '2026-09-01T00:00:00Z', '2027-01-01T00:00:00Z'])
  t.same(firings('@weekly', 'UTC', '2026-05-01T00:00:00Z', 2), ['2026-05-03T00:00:00Z', '2026-05-10T00:00:00Z'], 'Sundays')
  t.same(firings('0 12 * * 7', 'UTC', '2026-05-01T00:00:00Z', 1), ['2026-05-03T12:00:00Z'], '7 is Sunday')
  t.same(firings('@yearly', 'UTC', '2026-05-01T00:00:00Z', 2), ['2027-01-01T00:00:00Z', '2028-01-01T00:00:00Z'])
  t.same(
    firings('0 0 31 * *', 'UTC', '2026-01-31T00:00:00Z', 3),
    ['2026-03-31T00:00:00Z', '2026-05-31T00:00:00Z', '2026-07-31T00:00:00Z'],
    'months without a 31st are passed over',
  )
})

t.test('when both day fields restrict, either day fires (Vixie)', async (t) => {
  // January 2026: Fridays are the 2nd, 9th, 16th, 23rd, 30th; the 13th is a Tuesday.
  t.same(firings('0 0 13 * 5', 'UTC', '2026-01-01T00:00:00Z', 6), [
    '2026-01-02T00:00:00Z',
    '2026-01-09T00:00:00Z',
    '2026-01-13T00:00:00Z',
    '2026-01-16T00:00:00Z',
    '2026-01-23T00:00:00Z',
    '2026-01-30T00:00:00Z',
  ])
  t.same(
    firings('0 0 */10 * 5', 'UTC', '2026-01-01T00:00:00Z', 2),
    ['2026-05-01T00:00:00Z', '2026-07-31T00:00:00Z'],
    'a day field starting with * makes it AND: days 1, 11, 21, 31 that are Fridays',
  )
})

t.test('a leap-day schedule fires only on leap years, and not in 2100', async (t) => {
  t.same(firings('0 0 29 2 *', 'UTC', '2026-01-01T00:00:00Z', 2), ['2028-02-29T00:00:00Z', '2032-02-29T00:00:00Z'])
  t.equal(next('0 0 29 2 *', 'UTC', '2096-03-01T00:00:00Z'), '2104-02-29T00:00:00Z', '2100 is not a leap year')
  t.equal(next('0 0 29 2 *', 'America/New_York', '2026-01-01T00:00:00Z'), '2028-02-29T05:00:00Z', 'midnight in New York')
  t.equal(next('0 0 29 2 1', 'UTC', '2026-01-01T00:00:00Z'), '2026-02-02T00:00:00Z', 'with a weekday too, Mondays in February also fire')
})

t.test('a schedule that can never fire has no next firing, and the search ends', async (t) => {
  t.equal(next('0 0 30 2 *', 'UTC', '2026-01-01T00:00:00Z'), null)
  t.equal(next('0 0 31 4,6,9,11 *', 'Europe/Berlin', '2026-01-01T00:00:00Z'), null)
  t.same(firingsBetween(parse('0 0 30 2 *'), clockFor('UTC'), 0, Number.MAX_SAFE_INTEGER, 10), { times: [], truncated: false })
})

t.test('a zone without daylight saving: Asia/Tokyo', async (t) => {
  t.same(firings('0 9 * * *', 'Asia/Tokyo', '2026-03-07T12:00:00Z', 3), ['2026-03-08T00:00:00Z', '2026-03-09T00:00:00Z', '2026-03-10T00:00:00Z'])
  t.same(
    firings('30 2 * * *', 'Asia/Tokyo', '2026-10-31T00:00:00Z', 2),
    ['2026-10-31T17:30:00Z', '2026-11-01T17:30:00Z'],
    'other zones changing clocks change nothing',
  )
})

t.test('New York: a fixed time skipped when clocks spring forward fires once, right after the gap', async (t) => {
  // 2026-03-08: at 02:00 EST the clocks go to 03:00 EDT (07:00 UTC); 02:30 never happens.
  t.same(firings('30 2 * * *', 'America/New_York', '2026-03-06T12:00:00Z', 4), [
    '2026-03-07T07:30:00Z', // 02:30 EST
    '2026-03-08T07:00:00Z', // 03:00 EDT, the first instant after the gap
    '2026-03-09T06:30:00Z', // 02:30 EDT
    '2026-03-10T06:30:00Z',
  ])
  t.same(
    firings('0,15,45 2 * * *', 'America/New_York', '2026-03-08T00:00:00Z', 2),
    ['2026-03-08T07:00:00Z', '2026-03-09T06:00:00Z'],
    'several skipped times fire once together',
  )
  t.same(firings('0 3 * * *', 'America/New_York', '2026-03-08T00:00:00Z', 2), ['2026-03-08T07:00:00Z', '2026-03-09T07:00:00Z'], '03:00 itself fires once')
  t.same(
    firings('30 2,3 * * *', 'America/New_York', '2026-03-08T00:00:00Z', 3),
    ['2026-03-08T07:00:00Z', '2026-03-08T07:30:00Z', '2026-03-09T06:30:00Z'],
    'the skipped 02:30, then 03:30',
  )
  t.equal(next('30 2 * * *', 'America/New_York', '2026-03-08T06:59:59.999Z'), '2026-03-08T07:00:00Z', 'asked a moment before the gap')
  t.equal(next('30 2 * * *', 'America/New_York', '2026-03-08T07:00:00Z'), '2026-03-09T06:30:00Z', 'asked at the firing itself')
})

t.test('New York: a job that is not at a fixed time follows the clock through the gap', async (t) => {
  t.same(
    firings('30 * * * *', 'America/New_York', '2026-03-08T05:00:00Z', 3),
    ['2026-03-08T05:30:00Z', '2026-03-08T06:30:00Z', '2026-03-08T07:30:00Z'],
    '00:30, 01:30 EST, then 03:30 EDT',
  )
  t.same(
    firings('*/15 * * * *', 'America/New_York', '2026-03-08T06:40:00Z', 3),
    ['2026-03-08T06:45:00Z', '2026-03-08T07:00:00Z', '2026-03-08T07:15:00Z'],
    '01:45 EST, 03:00, 03:15 EDT',
  )
  t.same(firings('*/20 2 * * *', 'America/New_York', '2026-03-08T00:00:00Z', 1), ['2026-03-09T06:00:00Z'], 'a minute star in the 02 hour: nothing that night')
})

t.test('New York: a fixed time repeated when clocks fall back fires once', async (t) => {
  // 2026-11-01: at 02:00 EDT (06:00 UTC) the clocks go back to 01:00 EST; 01:00-01:59 happens twice.
  t.same(firings('30 1 * * *', 'America/New_York', '2026-10-31T00:00:00Z', 3), [
    '2026-10-31T05:30:00Z',
    '2026-11-01T05:30:00Z', // 01:30 EDT, the first time
    '2026-11-02T06:30:00Z', // 01:30 EST the next day; not 2026-11-01T06:30Z
  ])
  t.equal(
    next('30 1 * * *', 'America/New_York', '2026-11-01T06:10:00Z'),
    '2026-11-02T06:30:00Z',
    'asked during the second pass: the first pass already fired it',
  )
  t.equal(next('0 1 * * *', 'America/New_York', '2026-11-01T05:59:00Z'), '2026-11-02T06:00:00Z')
  t.same(firings('0,30 1-2 * * *', 'America/New_York', '2026-11-01T04:00:00Z', 5), [
    '2026-11-01T05:00:00Z',
    '2026-11-01T05:30:00Z',
    '2026-11-01T07:00:00Z', // 02:00 EST
    '2026-11-01T07:30:00Z',
    '2026-11-02T06:00:00Z',
  ])
})

t.test('New York: a job that is not at a fixed time fires in both passes of the repeated hour', async (t) => {
  t.same(
    firings('30 * * * *', 'America/New_York', '2026-11-01T04:00:00Z', 4),
    ['2026-11-01T04:30:00Z', '2026-11-01T05:30:00Z', '2026-11-01T06:30:00Z', '2026-11-01T07:30:00Z'],
    'every hour, as hours pass',
  )
  t.same(firings('@hourly', 'America/New_York', '2026-11-01T05:00:00Z', 2), ['2026-11-01T06:00:00Z', '2026-11-01T07:00:00Z'])
  t.equal(next('*/10 1 * * *', 'America/New_York', '2026-11-01T05:50:00Z'), '2026-11-01T06:00:00Z', '01:00 EST follows 01:50 EDT')
})

t.test('Berlin: spring forward and fall back', async (t) => {
  // 2026-03-29 02:00 CET -> 03:00 CEST at 01:00 UTC; 2026-10-25 03:00 CEST -> 02:00 CET at 01:00 UTC.
  t.same(firings('30 2 * * *', 'Europe/Berlin', '2026-03-28T00:00:00Z', 3), ['2026-03-28T01:30:00Z', '2026-03-29T01:00:00Z', '2026-03-30T00:30:00Z'])
  t.same(
    firings('30 2 * * *', 'Europe/Berlin', '2026-10-24T00:00:00Z', 3),
    ['2026-10-24T00:30:00Z', '2026-10-25T00:30:00Z', '2026-10-26T01:30:00Z'],
    'once in the repeated hour',
  )
  t.same(
    firings('0 * * * *', 'Europe/Berlin', '2026-10-24T23:30:00Z', 3),
    ['2026-10-25T00:00:00Z', '2026-10-25T01:00:00Z', '2026-10-25T02:00:00Z'],
    'hourly: 02:00 CEST, 02:00 CET, 03:00 CET',
  )
  t.same(firings('0 * * * *', 'Europe/Berlin', '2026-03-28T23:30:00Z', 2), ['2026-03-29T00:00:00Z', '2026-03-29T01:00:00Z'], 'hourly: 01:00 CET, 03:00 CEST')
})

t.test('Lord Howe Island: half an hour of daylight saving', async (t) => {
  // 2026-10-04 02:00 -> 02:30 (+10:30 -> +11) at 15:30 UTC on the 3rd; 2026-04-05 02:00 -> 01:30 at 15:00 UTC on the 4th.
  t.same(firings('15 2 * * *', 'Australia/Lord_Howe', '2026-10-02T00:00:00Z', 3), ['2026-10-02T15:45:00Z', '2026-10-03T15:30:00Z', '2026-10-04T15:15:00Z'])
  t.same(firings('*/15 * * * *', 'Australia/Lord_Howe', '2026-10-03T15:00:00Z', 2), ['2026-10-03T15:15:00Z', '2026-10-03T15:30:00Z'], '01:45, then 02:30')
  t.same(
    firings('45 1 * * *', 'Australia/Lord_Howe', '2026-04-03T00:00:00Z', 3),
    ['2026-04-03T14:45:00Z', '2026-04-04T14:45:00Z', '2026-04-05T15:15:00Z'],
    'once in the repeated half hour',
  )
  t.same(
    firings('45 * * * *', 'Australia/Lord_Howe', '2026-04-04T14:00:00Z', 3),
    ['2026-04-04T14:45:00Z', '2026-04-04T15:15:00Z', '2026-04-04T16:15:00Z'],
    'both 01:45s',
  )
})

t.test('firings between two instants: start excluded, end included, limited', async (t) => {
  const hourly = parse('0 * * * *')
  const utc = clockFor('UTC')
  t.same(firingsBetween(hourly, utc, at('2026-05-01T10:00:00Z'), at('2026-05-01T13:00:00Z'), 10).times.map(iso), [
    '2026-05-01T11:00:00Z',
    '2026-05-01T12:00:00Z',
    '2026-05-01T13:00:00Z',
  ])
  t.same(firingsBetween(hourly, utc, at('2026-05-01T10:00:00Z'), at('2026-05-01T13:00:00Z'), 10).truncated, false)
  t.same(firingsBetween(hourly, utc, at('2026-05-01T10:00:00Z'), at('2026-05-01T13:00:00Z'), 3).truncated, false, 'exactly the limit is complete')
  const limited = firingsBetween(hourly, utc, at('2026-05-01T10:00:00Z'), at('2026-05-08T10:00:00Z'), 2)
  t.same(limited.times.map(iso), ['2026-05-01T11:00:00Z', '2026-05-01T12:00:00Z'])
  t.equal(limited.truncated, true)
  t.same(firingsBetween(hourly, utc, at('2026-05-01T10:00:00Z'), at('2026-05-01T10:59:00Z'), 10), { times: [], truncated: false })
})

t.test('the latest firings between two instants, without walking the whole span', async (t) => {
  const everyMinute = parse('* * * * *')
  const utc = clockFor('UTC')
  t.same(latestFiringsBetween(everyMinute, utc, at('2026-05-01T00:00:00Z'), at('2027-05-01T00:00:00Z'), 3).map(iso), [
    '2027-04-30T23:58:00Z',
    '2027-04-30T23:59:00Z',
    '2027-05-01T00:00:00Z',
  ])
  t.same(
    latestFiringsBetween(parse('0 0 1 1 *'), utc, at('2020-06-01T00:00:00Z'), at('2026-05-01T00:00:00Z'), 2).map(iso),
    ['2025-01-01T00:00:00Z', '2026-01-01T00:00:00Z'],
    'rare firings, far back',
  )
  t.same(
    latestFiringsBetween(parse('0 0 1 1 *'), utc, at('2025-06-01T00:00:00Z'), at('2026-05-01T00:00:00Z'), 2).map(iso),
    ['2026-01-01T00:00:00Z'],
    'fewer in the span',
  )
  t.same(latestFiringsBetween(everyMinute, utc, at('2026-05-01T00:00:00Z'), at('2026-05-01T00:00:00Z'), 2), [], 'an empty span')
  t.same(latestFiringsBetween(everyMinute, utc, at('2026-05-01T00:00:00Z'), at('2026-05-01T01:00:00Z'), 0), [], 'none asked for')
  t.same(latestFiringsBetween(parse('0 0 30 2 *'), utc, 0, at('2026-05-01T00:00:00Z'), 2), [], 'never fires')
})

// The property: the search agrees with a plain minute-by-minute walk over real instants, whose DST
// rules are written out independently below.

/** A deterministic generator (Park-Miller), so a failure can be replayed. */
function generator(seed: number): () => number {
  let state = seed
  return () => {
    state = (state * 48_271) % 2_147_483_647
    return (state - 1) / 2_147_483_646
  }
}

const ZONES: Readonly<Record<string, readonly string[]>> = {
  'America/New_York': ['2026-03-08T07:00:00Z', '2026-11-01T06:00:00Z', '2027-03-14T07:00:00Z'],
  'Europe/Berlin': ['2026-03-29T01:00:00Z', '2026-10-25T01:00:00Z'],
  'Australia/Lord_Howe': ['2026-04-04T15:00:00Z', '2026-10-03T15:30:00Z'],
  'Asia/Tokyo': ['2026-03-08T07:00:00Z'],
  UTC: ['2026-02-28T12:00:00Z'],
}

function randomSchedule(random: () => number): string {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T
  const int = (low: number, high: number): number => low + Math.floor(random() * (high - low + 1))
  const list = (low: number, high: number, count: number): string => Array.from({ length: count }, () => int(low, high)).join(',')
  const minute = pick([() => '*', () => `*/${int(5, 30)}`, () => list(0, 59, int(1, 3)), () => `${int(0, 20)}-${int(30, 59)}/${int(7, 20)}`])()
  const hour = pick([() => '*', () => `*/${int(2, 6)}`, () => list(0, 23, int(2, 8)), () => `${int(0, 2)}-${int(2, 4)}`, () => '1,2,3'])()
  const dayOfMonth = pick(['*', '*', '*', list(1, 31, 10), '*/2'])
  const dayOfWeek = pick(['*', '*', '*', '1-5', '0,6', list(0, 6, 3)])
  return `${minute} ${hour} ${dayOfMonth} * ${dayOfWeek}`
}

/** Wall-clock readings of whole minutes, per zone, read one by one from Intl: the walk's own view of the zone. */
const readings = new Map<string, Map<number, number>>()
function readingIn(zone: string): (instant: number) => number {
  const format = new Intl.DateTimeFormat('en-US', {
    timeZone: zone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
  })
  let memo = readings.get(zone)
  if (!memo) {
    memo = new Map()
    readings.set(zone, memo)
  }
  const known = memo
  return (instant) => {
    let wall = known.get(instant)
    if (wall === undefined) {
      const parts = format.formatToParts(instant)
      const part = (type: string): number => Number(parts.find((each) => each.type === type)?.value)
      wall = Date.UTC(part('year'), part('month') - 1, part('day'), part('hour'), part('minute'))
      known.set(instant, wall)
    }
    return wall
  }
}

/** Walks real minutes: each reading fires if it matches; fixed times fire once per reading, and skipped ones right after the gap. */
function walkedNextFire(schedule: CronSchedule, zone: string, after: number, horizon: number): number | 'beyond' {
  const reading = readingIn(zone)
  const [minutes, hours, months, daysOfMonth, daysOfWeek] = [schedule.minutes, schedule.hours, schedule.months, schedule.daysOfMonth, schedule.daysOfWeek].map(
    (values) => new Set(values),
  ) as Set<number>[]
  const matches = (wall: number): boolean => {
    const date = new Date(wall)
    if (!minutes?.has(date.getUTCMinutes()) || !hours?.has(date.getUTCHours()) || !months?.has(date.getUTCMonth() + 1)) return false
    const byMonthDay = daysOfMonth?.has(date.getUTCDate()) ?? false
    const byWeekday = daysOfWeek?.has(date.getUTCDay()) ?? false
    return schedule.dayOfMonthRestricted && schedule.dayOfWeekRestricted ? byMonthDay || byWeekday : byMonthDay && byWeekday
  }
  // From two hours back, so that the first pass of a repeated hour is seen.
  const start = Math.floor(after / MINUTE) * MINUTE - 2 * HOUR
  const seen = new Set<number>()
  let previous = reading(start - MINUTE)
  for (let instant = start; instant <= after + horizon; instant += MINUTE) {
    const wall = reading(instant)
    let fires = matches(wall) && !(schedule.fixedTimeOfDay && seen.has(wall))
    if (schedule.fixedTimeOfDay) for (let skipped = previous + MINUTE; skipped < wall && !fires; skipped += MINUTE) fires = matches(skipped)
    seen.add(wall)
    previous = wall
    if (fires && instant > after) return instant
  }
  return 'beyond'
}

t.test('the search agrees with a minute-by-minute walk, around clock changes in five zones', async (t) => {
  const random = generator(20_261_207)
  const horizon = 30 * HOUR
  const disagreements: string[] = []

  let fired = 0
  for (let i = 0; i < 2_000; i++) {
    const zone = Object.keys(ZONES)[i % Object.keys(ZONES).length] as string
    const anchors = ZONES[zone] as readonly string[]
    const anchor = at(anchors[Math.floor(random() * anchors.length)] as string)
    const after = anchor - 30 * HOUR + Math.floor(random() * 33 * HOUR) + (random() < 0.5 ? 0 : Math.floor(random() * MINUTE))
    const text = randomSchedule(random)
    const schedule = parse(text)
    const expected = walkedNextFire(schedule, zone, after, horizon)
    const actual = nextFireAfter(schedule, clockFor(zone), after)

    const agrees = expected === 'beyond' ? actual === null || actual > after + horizon : actual === expected
    if (expected !== 'beyond') fired++
    if (!agrees && disagreements.length < 10)
      disagreements.push(`${text} in ${zone} after ${iso(after)}: walk ${expected === 'beyond' ? 'beyond' : iso(expected)}, search ${iso(actual)}`)
  }
  t.same(disagreements, [])

  t.ok(fired > 1_200, `most cases fire within the walk (${fired} of 2000)`)
})

t.test('a firing a whole day or more away is found across the offset change', async (t) => {
  t.equal(next('0 12 * * 0', 'America/New_York', '2026-03-01T18:00:00Z'), '2026-03-08T16:00:00Z', 'noon EDT, a week on')
  t.equal(iso(nextFireAfter(parse('0 12 1 1 *'), clockFor('Europe/Berlin'), at('2026-01-02T00:00:00Z') + DAY)), '2027-01-01T11:00:00Z')
})

t.test('before standard time, an offset of whole seconds (local mean time) still gives the reading asked for', async (t) => {
  // New York kept local mean time, -4:56:02, until 1883-11-18.
  const clock = clockFor('America/New_York')
  const noon = nextFireAfter(parse('0 12 * * *'), clock, at('1880-06-01T00:00:00Z'))
  t.equal(iso(noon), '1880-06-01T16:56:02Z')
  t.equal(clock.wallAt(noon as number), at('1880-06-01T12:00:00Z'))
  t.equal(iso(nextFireAfter(parse('0 12 * * *'), clock, noon as number)), '1880-06-02T16:56:02Z', 'strictly after, the next day')
})

t.test('a daily fixed-time job fires exactly once on every day of a year, in a zone with clock changes', async (t) => {
  const clock = clockFor('Europe/Berlin')
  const year = firingsBetween(parse('30 2 * * *'), clock, at('2025-12-31T23:00:00Z'), at('2026-12-31T23:00:00Z'), 1_000)
  t.equal(year.times.length, 365)
  const days = year.times.map((time) => new Date(clock.wallAt(time)).toISOString().slice(0, 10))
  t.equal(new Set(days).size, 365, 'one firing per local day')
  const readings = year.times.map((time) => new Date(clock.wallAt(time)).toISOString().slice(11, 16))
  t.same(
    readings.filter((reading) => reading !== '02:30'),
    ['03:00'],
    'every firing reads 02:30, but the one in the spring gap, at 03:00',
  )
})

t.test('an hourly job fires once per real hour across the fall-back night', async (t) => {
  const fired = firingsBetween(parse('0 * * * *'), clockFor('America/New_York'), at('2026-10-31T00:00:00Z'), at('2026-11-03T00:00:00Z'), 1_000).times
  t.equal(fired.length, 72, 'three days of real hours')
  t.ok(
    fired.every((time, i) => i === 0 || time - (fired[i - 1] as number) === HOUR),
    'an hour apart, every time',
  )
})

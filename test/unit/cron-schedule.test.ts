import t from 'tap'
import { type CronSchedule, CronScheduleError, matchesDay, neverFiresReason, parseCronSchedule } from '../../protocol/cron/cron-schedule.js'

const parse = (text: string): CronSchedule => {
  const result = parseCronSchedule(text)
  if (!result.ok) throw new Error(`expected ${JSON.stringify(text)} to parse: ${result.error.message}`)
  return result.schedule
}

const fault = (text: string): CronScheduleError => {
  const result = parseCronSchedule(text)
  if (result.ok) throw new Error(`expected ${JSON.stringify(text)} to be refused`)
  return result.error
}

const range = (from: number, to: number, step = 1): number[] => Array.from({ length: Math.floor((to - from) / step) + 1 }, (_, i) => from + i * step)

t.test('a star allows the whole range of each field', async (t) => {
  const schedule = parse('* * * * *')
  t.same(schedule.minutes, range(0, 59))
  t.same(schedule.hours, range(0, 23))
  t.same(schedule.daysOfMonth, range(1, 31))
  t.same(schedule.months, range(1, 12))
  t.same(schedule.daysOfWeek, range(0, 6), 'Sunday to Saturday, without the second Sunday 7')
  t.notOk(schedule.dayOfMonthRestricted)
  t.notOk(schedule.dayOfWeekRestricted)
  t.notOk(schedule.fixedTimeOfDay)
  t.equal(schedule.text, '* * * * *')
})

t.test('single values, lists, ranges and steps', async (t) => {
  t.same(parse('5 * * * *').minutes, [5])
  t.same(parse('0,15,30,45 * * * *').minutes, [0, 15, 30, 45])
  t.same(parse('10-14 * * * *').minutes, [10, 11, 12, 13, 14])
  t.same(parse('*/15 * * * *').minutes, [0, 15, 30, 45])
  t.same(parse('10-40/10 * * * *').minutes, [10, 20, 30, 40])
  t.same(parse('10-45/10 * * * *').minutes, [10, 20, 30, 40], 'the step stops inside the range')
  t.same(parse('50/5 * * * *').minutes, [50, 55], '"a/step" runs from a to the end of the range, as Kubernetes reads it')
  t.same(parse('1-3,2-4,30 * * * *').minutes, [1, 2, 3, 4, 30], 'overlaps are merged and sorted')
  t.same(parse('59,0 * * * *').minutes, [0, 59])
  t.same(parse('*/90 * * * *').minutes, [0], 'a step wider than the range keeps its start')
  t.same(parse('07 * * * *').minutes, [7], 'leading zeros are fine')
  t.same(parse('* */6 * * *').hours, [0, 6, 12, 18])
  t.same(parse('* 9-17 * * *').hours, range(9, 17))
  t.same(parse('* * 1,15 * *').daysOfMonth, [1, 15])
  t.same(parse('* * */10 * *').daysOfMonth, [1, 11, 21, 31])
  t.same(parse('* * * */3 *').months, [1, 4, 7, 10])
  t.same(parse('* * * * 1-5').daysOfWeek, [1, 2, 3, 4, 5])
})

t.test('the bounds of each field are accepted', async (t) => {
  t.same(parse('0-59 0-23 1-31 1-12 0-7').minutes.length, 60)
  t.same(parse('59 23 31 12 7').hours, [23])
})

t.test('month and weekday names, in any case, alone, in ranges, lists and with steps', async (t) => {
  t.same(parse('* * * JAN *').months, [1])
  t.same(parse('* * * dec *').months, [12])
  t.same(parse('* * * Mar-May *').months, [3, 4, 5])
  t.same(parse('* * * JAN,jul *').months, [1, 7])
  t.same(parse('* * * JAN/3 *').months, [1, 4, 7, 10])
  t.same(parse('* * * * SUN').daysOfWeek, [0])
  t.same(parse('* * * * MON-FRI').daysOfWeek, [1, 2, 3, 4, 5])
  t.same(parse('* * * * sat,Sun').daysOfWeek, [0, 6])
  t.same(parse('* * * 1-FEB *').months, [1, 2], 'numbers and names mix')
})

t.test('7 is Sunday, like 0', async (t) => {
  t.same(parse('* * * * 7').daysOfWeek, [0])
  t.same(parse('* * * * 0,7').daysOfWeek, [0])
  t.same(parse('* * * * 5-7').daysOfWeek, [0, 5, 6])
  t.same(parse('* * * * 0-7').daysOfWeek, range(0, 6))
  t.same(parse('* * * * */2').daysOfWeek, [0, 2, 4, 6], 'a star in day-of-week stops at Saturday')
})

t.test('the macros', async (t) => {
  const same = (macro: string, fields: string) => {
    const { text: _a, ...fromMacro } = parse(macro)
    const { text: _b, ...fromFields } = parse(fields)
    t.same(fromMacro, fromFields, `${macro} is ${fields}`)
  }
  same('@yearly', '0 0 1 1 *')
  same('@annually', '0 0 1 1 *')
  same('@monthly', '0 0 1 * *')
  same('@weekly', '0 0 * * 0')
  same('@daily', '0 0 * * *')
  same('@midnight', '0 0 * * *')
  same('@hourly', '0 * * * *')
  same('@DAILY', '0 0 * * *')
  t.equal(parse('@daily').text, '@daily', 'keeps the text as written')
})

t.test('fields are separated by any run of blanks, and the ends are trimmed', async (t) => {
  t.same(parse('  5\t4  *   * 1 ').minutes, [5])
  t.same(parse('5 4 * * 1').daysOfWeek, [1])
})

t.test('the Vixie rule: a day field starting with * does not restrict the day', async (t) => {
  t.ok(parse('0 0 1 * *').dayOfMonthRestricted)
  t.notOk(parse('0 0 1 * *').dayOfWeekRestricted)
  t.ok(parse('0 0 * * 1').dayOfWeekRestricted)
  t.notOk(parse('0 0 */2 * 1').dayOfMonthRestricted, '*/2 starts with a star, as Vixie cron reads it')
  t.ok(parse('0 0 1-31 * *').dayOfMonthRestricted, '1-31 covers every day but is written as a restriction')
})

t.test('when both day fields restrict, a day matches if either does', async (t) => {
  const both = parse('0 0 13 * 5') // the 13th, and every Friday
  t.ok(matchesDay(both, 13, 2), 'the 13th on a Tuesday')
  t.ok(matchesDay(both, 7, 5), 'the 7th on a Friday')
  t.ok(matchesDay(both, 13, 5), 'Friday the 13th')
  t.notOk(matchesDay(both, 7, 2), 'neither')
})

t.test('when only one day field restricts, both must match', async (t) => {
  const monthDay = parse('0 0 13 * *')
  t.ok(matchesDay(monthDay, 13, 2))
  t.notOk(matchesDay(monthDay, 7, 5))
  const weekday = parse('0 0 * * 5')
  t.ok(matchesDay(weekday, 7, 5))
  t.notOk(matchesDay(weekday, 13, 2))
  const starStep = parse('0 0 */2 * 5') // odd days that are Fridays
  t.ok(matchesDay(starStep, 3, 5))
  t.notOk(matchesDay(starStep, 4, 5), 'an even Friday')
  t.notOk(matchesDay(starStep, 3, 4), 'an odd Thursday')
})

t.test('fixed times of day: neither minute nor hour starts with *', async (t) => {
  t.ok(parse('30 2 * * *').fixedTimeOfDay)
  t.ok(parse('0,30 1-3 * * *').fixedTimeOfDay)
  t.ok(parse('@daily').fixedTimeOfDay)
  t.notOk(parse('30 * * * *').fixedTimeOfDay)
  t.notOk(parse('*/5 2 * * *').fixedTimeOfDay)
  t.notOk(parse('@hourly').fixedTimeOfDay)
})

t.test('values outside a field say the field and its range', async (t) => {
  const cases: [string, string, string][] = [
    ['60 * * * *', 'minute', 'minute field: 60 is outside 0-59'],
    ['61 * * * *', 'minute', 'minute field: 61 is outside 0-59'],
    ['* 24 * * *', 'hour', 'hour field: 24 is outside 0-23'],
    ['* * 0 * *', 'dayOfMonth', 'day-of-month field: 0 is outside 1-31'],
    ['* * 32 * *', 'dayOfMonth', 'day-of-month field: 32 is outside 1-31'],
    ['* * * 0 *', 'month', 'month field: 0 is outside 1-12'],
    ['* * * 13 *', 'month', 'month field: 13 is outside 1-12'],
    ['* * * * 8', 'dayOfWeek', 'day-of-week field: 8 is outside 0-7'],
    ['0-60 * * * *', 'minute', 'minute field: 60 is outside 0-59'],
  ]
  for (const [text, field, message] of cases) {
    const error = fault(text)
    t.equal(error.field, field, text)
    t.equal(error.message, message, text)
    t.equal(error.code, 'invalid-cron')
    t.equal(error.text, text)
    t.ok(error instanceof CronScheduleError)
  }
})

t.test('malformed items say what is wrong', async (t) => {
  const cases: [string, string, RegExp][] = [
    ['-1 * * * *', 'minute', /range is missing a number/],
    ['1- * * * *', 'minute', /range is missing a number/],
    ['1,,2 * * * *', 'minute', /empty list item/],
    ['1, * * * *', 'minute', /empty list item/],
    ['*/0 * * * *', 'minute', /step of 0 never advances/],
    ['*/ * * * *', 'minute', /step after "\/" must be a whole number/],
    ['*/x * * * *', 'minute', /step after "\/" must be a whole number/],
    ['*/-1 * * * *', 'minute', /step after "\/" must be a whole number/],
    ['1-2-3 * * * *', 'minute', /a range has one "-"/],
    ['30-10 * * * *', 'minute', /starts after it ends/],
    ['* * * * FRI-MON', 'dayOfWeek', /starts after it ends \(ranges do not wrap around\)/],
    ['a * * * *', 'minute', /"a" is not a number$/],
    ['1.5 * * * *', 'minute', /"1.5" is not a number/],
    ['+1 * * * *', 'minute', /"\+1" is not a number/],
    ['* * * FOO *', 'month', /"FOO" is not a number or a name \(JAN-DEC\)/],
    ['* * * * MONDAY', 'dayOfWeek', /"MONDAY" is not a number or a name \(SUN-SAT\)/],
    ['* * * MON *', 'month', /"MON" is not a number or a name/],
    ['* * * * JAN', 'dayOfWeek', /"JAN" is not a number or a name/],
    ['JAN * * * *', 'minute', /"JAN" is not a number$/],
    ['* * L * *', 'dayOfMonth', /Quartz extensions/],
    ['* * 15W * *', 'dayOfMonth', /Quartz extensions/],
    ['* * ? * *', 'dayOfMonth', /Quartz extensions/],
    ['* * * * 5L', 'dayOfWeek', /Quartz extensions/],
    ['* * * * 5#2', 'dayOfWeek', /Quartz extensions/],
    ['*-5 * * * *', 'minute', /"\*" is not a number/],
  ]
  for (const [text, field, message] of cases) {
    const error = fault(text)
    t.equal(error.field, field, text)
    t.match(error.message, message, text)
  }
})

t.test('the schedule as a whole: field count, macros, zones, length', async (t) => {
  const cases: [string, RegExp][] = [
    ['', /empty; expected five fields/],
    ['   ', /empty/],
    ['* * * *', /expected five fields \(minute hour day-of-month month day-of-week\), found 4$/],
    ['* * * * * *', /found 6; seconds and years are not supported/],
    ['0 0 0 * * * 2026', /found 7/],
    ['@reboot', /"@reboot" is not a known macro .*@reboot is not a schedule/],
    ['@every 5m', /not a known macro/],
    ['@daily 5', /not a known macro/],
    ['TZ=UTC 0 0 * * *', /time zone is set in the timeZone field/],
    ['CRON_TZ=Europe/Berlin 0 0 * * *', /timeZone field/],
    [`${'1,'.repeat(100)}1 * * * *`, /longer than 200 characters/],
  ]
  for (const [text, message] of cases) {
    const error = fault(text)
    t.equal(error.field, 'schedule', JSON.stringify(text))
    t.match(error.message, message, JSON.stringify(text))
  }
})

t.test('only the parse errors are caught; the result says ok or not', async (t) => {
  const good = parseCronSchedule('0 0 * * *')
  t.ok(good.ok)
  const bad = parseCronSchedule('nope')
  t.notOk(bad.ok)
})

t.test('schedules that can never fire are named, with the reason', async (t) => {
  t.equal(neverFiresReason(parse('0 0 30 2 *')), 'day-of-month 30 never occurs in February')
  t.equal(neverFiresReason(parse('0 0 31 4,6,9,11 *')), 'day-of-month 31 never occurs in April, June, September, November')
  t.equal(neverFiresReason(parse('0 0 30,31 2 *')), 'day-of-month 30,31 never occurs in February')
  t.equal(neverFiresReason(parse('0 0 29 2 *')), null, 'leap days occur')
  t.equal(neverFiresReason(parse('0 0 31 2,3 *')), null, 'March has a 31st')
  t.equal(neverFiresReason(parse('0 0 30 2 1')), null, 'with both day fields restricted, the Mondays of February match')
  t.equal(neverFiresReason(parse('0 0 * 2 *')), null)
  t.equal(neverFiresReason(parse('* * * * *')), null)
})

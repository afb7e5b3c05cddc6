import t from 'tap'
import { checkZone, localParts, localToInstant, monthKey, nextMonthStart, zoneLabel } from '../../agent/bandwidth/local-time.js'
import { decidePull, formatBytes, type PullQuestion, type PullRules } from '../../agent/bandwidth/pull-decision.js'
import { inPullWindow, nextPullWindow } from '../../agent/bandwidth/pull-windows.js'
import { PullWindow, windowMinutes } from '../../protocol/index.js'

const NO_RULES: PullRules = { budgetBytes: null, windows: null, links: null, link: null }
const MiB = 1024 * 1024
/** 2026-12-07 10:30 UTC, a Monday. */
const MONDAY = Date.UTC(2026, 11, 7, 10, 30)

function ask(overrides: Partial<Omit<PullQuestion, 'rules'>> & { rules?: Partial<PullRules> }): ReturnType<typeof decidePull> {
  return decidePull({ now: MONDAY, zone: 'UTC', usedBytes: 0, expectedBytes: null, override: false, ...overrides, rules: { ...NO_RULES, ...overrides.rules } })
}

t.test('local time in a zone', async (t) => {
  t.same(localParts(MONDAY, 'UTC'), { year: 2026, month: 12, day: 7, minute: 630 })
  t.same(localParts(MONDAY, 'Asia/Tokyo'), { year: 2026, month: 12, day: 7, minute: 19 * 60 + 30 })
  t.same(localParts(MONDAY, 'America/Los_Angeles'), { year: 2026, month: 12, day: 7, minute: 2 * 60 + 30 })
  t.equal(localToInstant(2026, 12, 7, 630, 'UTC'), MONDAY)
  t.equal(localToInstant(2026, 12, 7, 19 * 60 + 30, 'Asia/Tokyo'), MONDAY)
  t.equal(localToInstant(2026, 12, 32, 0, 'UTC'), Date.UTC(2027, 0, 1), 'day 32 of December is 1 January')
  t.equal(localToInstant(2026, 13, 1, 0, 'Europe/Berlin'), Date.UTC(2026, 11, 31, 23), 'month 13 is January, at local midnight')
  t.throws(() => checkZone('Mars/Olympus'), RangeError)
})

t.test('daylight saving: a skipped local time lands after the gap, a doubled one on its first occurrence', async (t) => {
  // Berlin springs forward on 2026-03-29 at 02:00 local (01:00 UTC) to 03:00.
  t.equal(localToInstant(2026, 3, 29, 2 * 60 + 30, 'Europe/Berlin'), Date.UTC(2026, 2, 29, 1, 0))
  // and falls back on 2026-10-25 at 03:00 local (01:00 UTC) to 02:00: 02:30 happens twice.
  t.equal(localToInstant(2026, 10, 25, 2 * 60 + 30, 'Europe/Berlin'), Date.UTC(2026, 9, 25, 0, 30))
  t.equal(localToInstant(2026, 10, 25, 4 * 60, 'Europe/Berlin'), Date.UTC(2026, 9, 25, 3, 0), 'after the change the winter offset holds')
})

t.test('calendar months in the zone', async (t) => {
  t.equal(monthKey(MONDAY, 'UTC'), '2026-12')
  const newYearTokyo = Date.UTC(2026, 11, 31, 15, 30) // 00:30 on 1 January in Tokyo
  t.equal(monthKey(newYearTokyo, 'UTC'), '2026-12')
  t.equal(monthKey(newYearTokyo, 'Asia/Tokyo'), '2027-01')
  t.equal(nextMonthStart(MONDAY, 'UTC'), Date.UTC(2027, 0, 1))
  t.equal(nextMonthStart(MONDAY, 'Asia/Tokyo'), Date.UTC(2026, 11, 31, 15), 'midnight of 1 January in Tokyo')
  t.equal(nextMonthStart(Date.UTC(2026, 0, 31, 12), 'UTC'), Date.UTC(2026, 1, 1), 'January → February')
  t.equal(nextMonthStart(Date.UTC(2026, 1, 28, 23, 59), 'UTC'), Date.UTC(2026, 2, 1), 'February has 28 days in 2026')
  t.equal(nextMonthStart(Date.UTC(2026, 2, 15), 'Europe/Berlin'), Date.UTC(2026, 2, 31, 22), 'April starts on summer time in Berlin')
})

t.test('window syntax', async (t) => {
  for (const good of ['01:00-05:00', '22:00-02:00', '00:00-24:00', '23:59-00:01']) t.ok(PullWindow.safeParse(good).success, good)
  for (const bad of ['1:00-5:00', '01:00-01:00', '24:00-01:00', '01:00-24:30', '01:60-02:00', '0100-0500', '']) t.notOk(PullWindow.safeParse(bad).success, bad)
  t.same(windowMinutes('22:00-02:30'), { start: 1320, end: 150 })
  t.throws(() => windowMinutes('nope'), RangeError)
})

/** Minute by minute, what a window means: the reference the fast functions must agree with. */
function naiveInWindow(minute: number, windows: readonly string[]): boolean {
  return windows.some((w) => {
    const { start, end } = windowMinutes(w)
    for (let m = start; m !== end; m = (m + 1) % 1440) if (m === minute) return true
    return false
  })
}

t.test('inside or outside, every minute of a day, for plain, midnight-crossing and several windows', async (t) => {
  const sets = [['01:00-05:00'], ['22:00-02:00'], ['00:00-24:00'], ['23:59-00:01'], ['01:00-02:00', '13:30-14:15'], ['20:00-04:00', '03:00-06:00']]
  for (const windows of sets) {
    let mismatches = 0
    for (let minute = 0; minute < 1440; minute++) {
      const at = Date.UTC(2026, 11, 7, 0, minute)
      if (inPullWindow(at, windows, 'UTC') !== naiveInWindow(minute, windows)) mismatches++
    }
    t.equal(mismatches, 0, windows.join(' '))
  }
})

t.test('the next opening is the first minute inside a window, from every quarter hour of a day', async (t) => {
  const sets = [['01:00-05:00'], ['22:00-02:00'], ['01:00-02:00', '13:30-14:15']]
  for (const windows of sets) {
    let wrong = 0
    for (let quarter = 0; quarter < 96; quarter++) {
      const from = Date.UTC(2026, 11, 7, 0, quarter * 15) + 17_000 // not on a minute boundary
      let expected = from
      if (!inPullWindow(from, windows, 'UTC')) {
        expected = Math.ceil(from / 60_000) * 60_000
        while (!inPullWindow(expected, windows, 'UTC')) expected += 60_000
      }
      if (nextPullWindow(from, windows, 'UTC') !== expected) wrong++
    }
    t.equal(wrong, 0, windows.join(' '))
  }
})

t.test('windows are local time: the same instant is inside in one zone and outside in another', async (t) => {
  const at = Date.UTC(2026, 11, 7, 18, 0) // 03:00 in Tokyo, 19:00 in Berlin
  t.ok(inPullWindow(at, ['01:00-05:00'], 'Asia/Tokyo'))
  t.notOk(inPullWindow(at, ['01:00-05:00'], 'Europe/Berlin'))
  t.equal(nextPullWindow(at, ['01:00-05:00'], 'Europe/Berlin'), Date.UTC(2026, 11, 8, 0, 0), '01:00 Berlin is 00:00 UTC in winter')
})

t.test('a window whose start the clocks skip opens when they land', async (t) => {
  const before = Date.UTC(2026, 2, 28, 12) // the day before Berlin springs forward
  t.equal(nextPullWindow(before, ['02:30-04:00'], 'Europe/Berlin'), Date.UTC(2026, 2, 29, 1, 0))
})

t.test('no rules: every pull goes', async (t) => {
  t.same(ask({}), { allow: true, overridden: false })
  t.same(ask({ usedBytes: 10 ** 12 }), { allow: true, overridden: false })
})

t.test('the monthly budget', async (t) => {
  t.same(ask({ rules: { budgetBytes: 100 * MiB }, usedBytes: 10 * MiB }), { allow: true, overridden: false }, 'under, size unknown')
  t.same(ask({ rules: { budgetBytes: 100 * MiB }, usedBytes: 10 * MiB, expectedBytes: 90 * MiB }), { allow: true, overridden: false }, 'exactly fits')
  const over = ask({ rules: { budgetBytes: 100 * MiB }, usedBytes: 10 * MiB, expectedBytes: 91 * MiB })
  t.match(over, { allow: false, causes: ['budget'], nextAttemptAt: Date.UTC(2027, 0, 1) }, 'the image would pass it: next month')
  t.match(over, { reason: 'monthly budget: 10.0 MiB of 100.0 MiB used; the image needs about 91.0 MiB' })
  t.match(
    ask({ rules: { budgetBytes: 100 * MiB }, usedBytes: 100 * MiB }),
    { allow: false, causes: ['budget'], reason: 'monthly budget: 100.0 MiB of 100.0 MiB used' },
    'spent',
  )
  t.match(
    ask({ rules: { budgetBytes: 100 * MiB }, expectedBytes: 101 * MiB }),
    { allow: false, causes: ['budget'], nextAttemptAt: null, reason: /larger than the whole monthly budget/ },
    'an image larger than the budget never fits: no time helps',
  )
  t.match(ask({ rules: { budgetBytes: 1 }, usedBytes: 1, zone: 'Asia/Tokyo' }), { nextAttemptAt: Date.UTC(2026, 11, 31, 15) }, 'the next month is local')
})

t.test('month rollover: spent in December, allowed again in January', async (t) => {
  const rules = { budgetBytes: 100 * MiB }
  const december = ask({ rules, usedBytes: 100 * MiB, now: Date.UTC(2026, 11, 31, 23, 59) })
  t.match(december, { allow: false, nextAttemptAt: Date.UTC(2027, 0, 1) })
  // The meter starts the new month at 0 (traffic-meter tests): asked again then, it goes.
  t.same(ask({ rules, usedBytes: 0, now: Date.UTC(2027, 0, 1) }), { allow: true, overridden: false })
})

t.test('pull windows', async (t) => {
  const rules = { windows: ['01:00-05:00'] }
  t.same(ask({ rules, now: Date.UTC(2026, 11, 7, 1, 0) }), { allow: true, overridden: false }, 'the start is inside')
  t.match(ask({ rules, now: Date.UTC(2026, 11, 7, 5, 0) }), { allow: false, causes: ['window'], nextAttemptAt: Date.UTC(2026, 11, 8, 1, 0) }, 'the end is not')
  t.match(ask({ rules }), { allow: false, reason: 'outside the pull windows 01:00-05:00 (UTC)', nextAttemptAt: Date.UTC(2026, 11, 8, 1, 0) })
  const night = { windows: ['22:00-02:00'] }
  t.same(ask({ rules: night, now: Date.UTC(2026, 11, 7, 23, 30) }), { allow: true, overridden: false }, 'before midnight')
  t.same(ask({ rules: night, now: Date.UTC(2026, 11, 8, 1, 59) }), { allow: true, overridden: false }, 'after midnight')
  t.match(ask({ rules: night, now: Date.UTC(2026, 11, 8, 2, 0) }), { allow: false, nextAttemptAt: Date.UTC(2026, 11, 8, 22, 0) })
  t.match(ask({ rules: { windows: ['01:00-02:00', '12:00-13:00'] } }), { nextAttemptAt: Date.UTC(2026, 11, 7, 12, 0) }, 'the nearer of two')
})

t.test('the link', async (t) => {
  t.same(ask({ rules: { links: ['wired'], link: 'wired' } }), { allow: true, overridden: false })
  t.match(ask({ rules: { links: ['wired', 'wifi'], link: 'lte' } }), {
    allow: false,
    causes: ['link'],
    reason: 'link is lte; pulls only over wired, wifi',
    nextAttemptAt: null,
  })
  t.match(ask({ rules: { links: ['wired'], link: null } }), { allow: false, reason: 'link is unknown; pulls only over wired' })
})

t.test('rules together: the first time all of them allow', async (t) => {
  const both = ask({ rules: { budgetBytes: 10, windows: ['01:00-05:00'] }, usedBytes: 10 })
  t.match(both, { allow: false, causes: ['budget', 'window'], nextAttemptAt: Date.UTC(2027, 0, 1, 1, 0) }, 'the first window of next month')
  const budgetOnly = ask({ rules: { budgetBytes: 10, windows: ['10:00-11:00'] }, usedBytes: 10 })
  t.match(budgetOnly, { causes: ['budget'], nextAttemptAt: Date.UTC(2027, 0, 1, 10, 0) }, 'inside a window now, but next month waits for one too')
  t.match(ask({ rules: { windows: ['01:00-05:00'], links: ['wired'], link: 'lte' } }), { causes: ['window', 'link'], nextAttemptAt: null })
})

t.test('--pull-now overrides every rule, and says when it did', async (t) => {
  t.same(ask({ override: true, rules: { budgetBytes: 1, windows: ['01:00-02:00'], links: ['wired'], link: 'lte' }, usedBytes: 5 }), {
    allow: true,
    overridden: true,
  })
  t.same(ask({ override: true }), { allow: true, overridden: false }, 'nothing to override')
})

t.test('byte counts for people', async (t) => {
  t.equal(formatBytes(0), '0 B')
  t.equal(formatBytes(1023), '1023 B')
  t.equal(formatBytes(1536), '1.5 KiB')
  t.equal(formatBytes(2 * 1024 ** 3), '2.0 GiB')
})

t.test("the node's own zone (Date's local time, no Intl) reads as Intl does for the same zone, across daylight saving", async (t) => {
  const { execFileSync } = await import('node:child_process')
  const { fileURLToPath } = await import('node:url')
  const module = fileURLToPath(new URL('../../agent/bandwidth/local-time.ts', import.meta.url))
  // A child with TZ set, so its own zone is Berlin; tap's TypeScript import hook is passed on.
  const script = `
    const { localParts, localToInstant, monthKey } = await import(${JSON.stringify(module)})
    const LOCAL_ZONE = 'local:Europe/Berlin'
    const out = []
    for (let at = Date.UTC(2026, 2, 28, 20); at < Date.UTC(2026, 2, 29, 6); at += 15 * 60_000) out.push([localParts(at, LOCAL_ZONE), localParts(at, 'Europe/Berlin')])
    for (let at = Date.UTC(2026, 9, 24, 20); at < Date.UTC(2026, 9, 25, 6); at += 15 * 60_000) out.push([localParts(at, LOCAL_ZONE), localParts(at, 'Europe/Berlin')])
    const instants = [[2026, 3, 29, 150], [2026, 10, 25, 150], [2026, 10, 25, 240], [2026, 13, 1, 0]].map(([y, m, d, min]) => [localToInstant(y, m, d, min, LOCAL_ZONE), localToInstant(y, m, d, min, 'Europe/Berlin')])
    process.stdout.write(JSON.stringify({ out, instants, month: [monthKey(Date.UTC(2026, 11, 31, 23, 30), LOCAL_ZONE), monthKey(Date.UTC(2026, 11, 31, 23, 30), 'Europe/Berlin')] }))
  `
  const result = JSON.parse(
    execFileSync(process.execPath, [...process.execArgv, '--input-type=module', '-e', script], {
      encoding: 'utf8',
      env: { ...process.env, TZ: 'Europe/Berlin' },
    }),
  ) as { out: Array<[unknown, unknown]>; instants: Array<[number, number]>; month: [string, string] }
  t.equal(result.out.length, 80)
  t.same(
    result.out.filter(([local, intl]) => JSON.stringify(local) !== JSON.stringify(intl)),
    [],
    'every quarter hour around both changes reads the same',
  )
  for (const [local, intl] of result.instants) t.equal(local, intl, 'local times to instants agree (gap, doubled hour, overflow)')
  t.same(result.month, ['2027-01', '2027-01'], 'the month turns at local midnight')
})

t.test("the process's own zone is named without Intl: TZ, else the /etc/localtime link, else /etc/timezone", async (t) => {
  const { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } = await import('node:fs')
  const { tmpdir } = await import('node:os')
  const { join } = await import('node:path')
  const { systemZone } = await import('../../agent/bandwidth/system-zone.js')
  const root = `${mkdtempSync(join(tmpdir(), 'shoal-zone-'))}/`
  t.teardown(() => rmSync(root, { recursive: true, force: true }))
  mkdirSync(join(root, 'etc'))
  t.equal(systemZone({}, root), 'local:local time', 'nothing to go by')
  writeFileSync(join(root, 'etc/timezone'), 'Europe/Lisbon\n')
  t.equal(systemZone({}, root), 'local:Europe/Lisbon')
  symlinkSync('/usr/share/zoneinfo/America/Chicago', join(root, 'etc/localtime'))
  t.equal(systemZone({}, root), 'local:America/Chicago', 'the link before /etc/timezone')
  t.equal(systemZone({ TZ: 'UTC' }, root), 'local:UTC', 'TZ before both')
  t.equal(systemZone({ TZ: ':/usr/share/zoneinfo/Asia/Tokyo' }, root), 'local:Asia/Tokyo')
  t.equal(zoneLabel('local:Asia/Tokyo'), 'Asia/Tokyo')
  t.equal(zoneLabel('Europe/Berlin'), 'Europe/Berlin')
  t.match(
    ask({ zone: 'local:UTC', rules: { windows: ['01:00-05:00'] } }),
    { allow: false, reason: 'outside the pull windows 01:00-05:00 (UTC)', nextAttemptAt: Date.UTC(2026, 11, 8, 1, 0) },
    'messages name the zone, not the marker',
  )
})

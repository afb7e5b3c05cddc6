import t from 'tap'
import { checkTimeZone, LOCAL_TIME_ZONE, resolveTimeZone, TimeZoneError, ZoneClock, ZoneClocks } from '../../protocol/cron/time-zone.js'

const HOUR = 3_600_000
const at = (iso: string): number => Date.parse(iso)
/** A wall-clock reading as wall ms. */
const wall = (reading: string): number => Date.parse(`${reading}Z`)

t.test('IANA names the runtime knows are zones', async (t) => {
  for (const zone of [
    'UTC',
    'Etc/UTC',
    'America/New_York',
    'Europe/Berlin',
    'Asia/Tokyo',
    'Australia/Lord_Howe',
    'Asia/Kolkata',
    'Etc/GMT-9',
    'America/Argentina/Buenos_Aires',
  ]) {
    t.equal(checkTimeZone(zone), null, zone)
  }
})

t.test('other names are refused, saying why', async (t) => {
  const cases: [string, RegExp][] = [
    ['', /empty; give an IANA name/],
    ['Mars/Olympus_Mons', /not a time zone this runtime knows/],
    ['Europe/Berlinn', /not a time zone this runtime knows/],
    ['+05:00', /a UTC offset is not a zone/],
    ['-3', /a UTC offset is not a zone/],
    ['0100', /a UTC offset is not a zone/],
    ['Europe/Berlin ', /not an IANA zone name/],
    ['../etc/passwd', /not an IANA zone name/],
    ['Europe\\Berlin', /not an IANA zone name/],
    ['A'.repeat(65), /longer than 64 characters/],
    [LOCAL_TIME_ZONE, /not a time zone this runtime knows/],
  ]
  for (const [zone, message] of cases) {
    const error = checkTimeZone(zone)
    t.ok(error instanceof TimeZoneError, zone)
    t.equal(error?.code, 'invalid-time-zone')
    t.equal(error?.zone, zone)
    t.match(error?.message, message, zone)
  }
})

t.test('local resolves to the node zone; a name stays itself', async (t) => {
  t.equal(resolveTimeZone('local', 'Europe/Berlin'), 'Europe/Berlin')
  t.equal(resolveTimeZone('Asia/Tokyo', 'Europe/Berlin'), 'Asia/Tokyo')
})

t.test('a clock for an unknown zone cannot be made', async (t) => {
  t.throws(() => new ZoneClock('Nowhere/Special'), TimeZoneError)
  t.equal(new ZoneClock('Asia/Tokyo').zone, 'Asia/Tokyo')
})

t.test('offsets and readings across the year', async (t) => {
  const newYork = new ZoneClock('America/New_York')
  t.equal(newYork.offsetAt(at('2026-01-15T12:00:00Z')), -5 * HOUR, 'EST')
  t.equal(newYork.offsetAt(at('2026-07-15T12:00:00Z')), -4 * HOUR, 'EDT')
  t.equal(newYork.wallAt(at('2026-01-15T12:34:56.789Z')), wall('2026-01-15T07:34:56.789'), 'keeps the milliseconds')
  const tokyo = new ZoneClock('Asia/Tokyo')
  t.equal(tokyo.offsetAt(at('2026-01-15T00:00:00Z')), 9 * HOUR)
  t.equal(tokyo.offsetAt(at('2026-07-15T00:00:00Z')), 9 * HOUR, 'no daylight saving')
  const lordHowe = new ZoneClock('Australia/Lord_Howe')
  t.equal(lordHowe.offsetAt(at('2026-07-15T00:00:00Z')), 10.5 * HOUR)
  t.equal(lordHowe.offsetAt(at('2026-12-15T00:00:00Z')), 11 * HOUR, 'half an hour of daylight saving')
  t.equal(new ZoneClock('UTC').offsetAt(at('2028-02-29T23:59:59Z')), 0)
  t.equal(new ZoneClock('UTC').wallAt(at('2028-02-29T23:59:59Z')), wall('2028-02-29T23:59:59'))
  t.equal(new ZoneClock('UTC').offsetAt(at('0050-03-01T12:00:00Z')), 0, 'years below 100 are not taken for 1900-1999')
})

t.test('a reading names one instant, two in the fall-back fold, none in the spring-forward gap', async (t) => {
  const newYork = new ZoneClock('America/New_York')
  t.same(newYork.instantsAt(wall('2026-03-08T01:59:00')), { kind: 'unique', instant: at('2026-03-08T06:59:00Z') })
  t.same(
    newYork.instantsAt(wall('2026-03-08T02:30:00')),
    { kind: 'skipped', transition: at('2026-03-08T07:00:00Z') },
    '02:30 does not exist; 03:00 EDT follows 01:59 EST',
  )
  t.same(newYork.instantsAt(wall('2026-03-08T03:00:00')), { kind: 'unique', instant: at('2026-03-08T07:00:00Z') })
  t.same(newYork.instantsAt(wall('2026-11-01T01:30:00')), { kind: 'repeated', first: at('2026-11-01T05:30:00Z'), second: at('2026-11-01T06:30:00Z') })
  t.same(newYork.instantsAt(wall('2026-11-01T02:00:00')), { kind: 'unique', instant: at('2026-11-01T07:00:00Z') })
  const berlin = new ZoneClock('Europe/Berlin')
  t.same(berlin.instantsAt(wall('2026-03-29T02:15:00')), { kind: 'skipped', transition: at('2026-03-29T01:00:00Z') })
  t.same(berlin.instantsAt(wall('2026-10-25T02:15:00')), { kind: 'repeated', first: at('2026-10-25T00:15:00Z'), second: at('2026-10-25T01:15:00Z') })
  const lordHowe = new ZoneClock('Australia/Lord_Howe')
  t.same(lordHowe.instantsAt(wall('2026-10-04T02:15:00')), { kind: 'skipped', transition: at('2026-10-03T15:30:00Z') }, '02:00-02:30 is skipped')
  t.same(lordHowe.instantsAt(wall('2026-04-05T01:45:00')), { kind: 'repeated', first: at('2026-04-04T14:45:00Z'), second: at('2026-04-04T15:15:00Z') })
  const tokyo = new ZoneClock('Asia/Tokyo')
  t.same(tokyo.instantsAt(wall('2026-03-08T02:30:00')), { kind: 'unique', instant: at('2026-03-07T17:30:00Z') })
})

t.test('the next offset change, to the second, or none', async (t) => {
  const berlin = new ZoneClock('Europe/Berlin')
  t.equal(berlin.nextTransition(at('2026-01-01T00:00:00Z'), at('2027-01-01T00:00:00Z')), at('2026-03-29T01:00:00Z'))
  t.equal(berlin.nextTransition(at('2026-03-29T01:00:00Z'), at('2027-01-01T00:00:00Z')), at('2026-10-25T01:00:00Z'), 'strictly after the start')
  t.equal(berlin.nextTransition(at('2026-03-29T00:59:59.999Z'), at('2026-03-29T01:00:00Z')), at('2026-03-29T01:00:00Z'), 'the end is included')
  t.equal(berlin.nextTransition(at('2026-04-01T00:00:00Z'), at('2026-10-25T00:59:59Z')), null)
  t.equal(new ZoneClock('Asia/Tokyo').nextTransition(at('2026-01-01T00:00:00Z'), at('2030-01-01T00:00:00Z')), null)
  t.equal(new ZoneClock('UTC').nextTransition(at('2026-01-01T00:00:00Z'), at('2026-01-01T00:00:00Z')), null, 'an empty span')
})

t.test('a set of clocks makes one clock per zone and reuses it', async (t) => {
  const clocks = new ZoneClocks()
  const berlin = clocks.get('Europe/Berlin')
  t.equal(clocks.get('Europe/Berlin'), berlin, 'the same object')
  t.not(clocks.get('Asia/Tokyo'), berlin)
  t.equal(new ZoneClocks().get('Europe/Berlin') === berlin, false, 'each set holds its own')
  t.throws(() => clocks.get('Nowhere/Special'), TimeZoneError)
})

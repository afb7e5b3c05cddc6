import t from 'tap'
import {
  type CronTiming,
  decideFiring,
  type FireDecision,
  type FireState,
  MAX_ACTIVE_RUNS,
  MISSED_COUNT_CAP,
  MISSED_TIMES_KEPT,
} from '../../common/jobs/fire-decision.js'
import { parseCronSchedule } from '../../protocol/cron/cron-schedule.js'
import { ZoneClock } from '../../protocol/cron/time-zone.js'

const MINUTE = 60_000
const HOUR = 3_600_000
const DAY = 86_400_000
const at = (iso: string): number => Date.parse(iso)
const iso = (instant: number): string => new Date(instant).toISOString().replace('.000Z', 'Z')

const utc = new ZoneClock('UTC')

function timing(schedule: string, overrides: Partial<Omit<CronTiming, 'schedule'>> = {}): CronTiming {
  const parsed = parseCronSchedule(schedule)
  if (!parsed.ok) throw new Error(parsed.error.message)
  return { schedule: parsed.schedule, clock: utc, concurrencyPolicy: 'Allow', startingDeadlineMs: null, suspend: false, ...overrides }
}

const state = (handledThrough: string, activeRunIds: readonly string[] = []): FireState => ({ handledThrough: at(handledThrough), activeRunIds })

t.test('nothing due: wait for the next firing', async (t) => {
  t.same(decideFiring(timing('0 * * * *'), state('2026-05-01T10:00:00Z'), at('2026-05-01T10:30:00Z')), { kind: 'wait', until: at('2026-05-01T11:00:00Z') })
  t.same(decideFiring(timing('0 * * * *'), state('2026-05-01T10:00:00Z'), at('2026-05-01T10:59:59.999Z')), { kind: 'wait', until: at('2026-05-01T11:00:00Z') })
})

t.test('a due firing starts, and the decision says what to persist and when to look next', async (t) => {
  t.same(decideFiring(timing('0 * * * *'), state('2026-05-01T10:00:00Z'), at('2026-05-01T11:00:00Z')), {
    kind: 'start',
    scheduledAt: at('2026-05-01T11:00:00Z'),
    handledThrough: at('2026-05-01T11:00:00Z'),
    next: at('2026-05-01T12:00:00Z'),
    missed: null,
  })
  const late = decideFiring(timing('0 * * * *'), state('2026-05-01T10:00:00Z'), at('2026-05-01T11:20:00Z'))
  t.equal(late.kind, 'start', 'late, with no deadline, still starts')
  t.equal(late.kind === 'start' && late.scheduledAt, at('2026-05-01T11:00:00Z'))
})

t.test('firings at or before the time the agent accepted the cron job never run', async (t) => {
  // The agent accepted the job at 10:30 and stored that as handledThrough.
  t.same(decideFiring(timing('0 10 * * *'), state('2026-05-01T10:30:00Z'), at('2026-05-01T10:30:00Z')), { kind: 'wait', until: at('2026-05-02T10:00:00Z') })
})

t.test('a never-firing schedule waits forever', async (t) => {
  t.same(decideFiring(timing('0 0 30 2 *'), state('2026-05-01T00:00:00Z'), at('2027-05-01T00:00:00Z')), { kind: 'wait', until: null })
})

t.test('the clock stepping backwards never fires a schedule twice', async (t) => {
  const hourly = timing('0 * * * *')
  // 11:00 was started and persisted; then NTP steps the clock back 40 minutes.
  t.same(
    decideFiring(hourly, state('2026-05-01T11:00:00Z'), at('2026-05-01T10:20:00Z')),
    { kind: 'wait', until: at('2026-05-01T12:00:00Z') },
    'not 11:00 again',
  )
  t.same(
    decideFiring(hourly, state('2026-05-01T11:00:00Z'), at('2026-05-01T11:00:00Z')),
    { kind: 'wait', until: at('2026-05-01T12:00:00Z') },
    'back to the very instant',
  )
  t.same(decideFiring(hourly, state('2026-05-01T11:00:00Z'), at('2026-04-01T00:00:00Z')), { kind: 'wait', until: at('2026-05-01T12:00:00Z') }, 'a month back')
})

/** Plays an agent: decides at each reading of a hand-moved clock, persists, and notes what it started. */
function play(job: CronTiming, readings: readonly number[], handledThrough: number): { started: number[]; decisions: FireDecision[] } {
  let current: FireState = { handledThrough, activeRunIds: [] }
  const started: number[] = []
  const decisions: FireDecision[] = []
  for (const now of readings) {
    const decision = decideFiring(job, current, now)
    decisions.push(decision)
    if (decision.kind === 'wait') continue
    current = { ...current, handledThrough: decision.handledThrough }
    if (decision.kind === 'start' || decision.kind === 'replace') started.push(decision.scheduledAt)
  }
  return { started, decisions }
}

t.test('forward, back an hour, forward again: each firing starts once', async (t) => {
  const readings = ['10:00', '10:05', '11:00', '11:01', '10:01', '10:30', '11:00', '11:30', '12:00', '11:59', '12:00', '12:01'].map((time) =>
    at(`2026-05-01T${time}:00Z`),
  )
  const { started } = play(timing('0 * * * *'), readings, at('2026-05-01T09:30:00Z'))
  t.same(started.map(iso), ['2026-05-01T10:00:00Z', '2026-05-01T11:00:00Z', '2026-05-01T12:00:00Z'])
})

t.test('whatever the clock does, no firing starts twice and starts only go forward', async (t) => {
  let seed = 4_242
  const random = (): number => {
    seed = (seed * 48_271) % 2_147_483_647
    return (seed - 1) / 2_147_483_646
  }
  for (const schedule of ['* * * * *', '*/7 * * * *', '0 * * * *', '30 2 * * *']) {
    let now = at('2026-03-07T00:00:00Z')
    const readings: number[] = []
    for (let i = 0; i < 400; i++) {
      // Mostly small steps forward; now and then a step back (NTP) or a jump ahead (the node was off).
      const roll = random()
      if (roll < 0.1) now -= Math.floor(random() * 3 * HOUR)
      else if (roll < 0.15) now += Math.floor(random() * 3 * DAY)
      else now += Math.floor(random() * 20 * MINUTE)
      readings.push(now)
    }
    const { started } = play({ ...timing(schedule), clock: new ZoneClock('America/New_York') }, readings, at('2026-03-07T00:00:00Z'))
    t.equal(new Set(started).size, started.length, `${schedule}: no repeats among ${started.length} starts`)
    t.ok(
      started.every((time, i) => i === 0 || time > (started[i - 1] as number)),
      `${schedule}: ascending`,
    )
    t.ok(started.length > 5, `${schedule}: the job did run`)
  }
})

t.test('a week offline without a starting deadline: the latest firing runs, the rest are reported missed', async (t) => {
  const decision = decideFiring(timing('0 * * * *'), state('2026-05-01T00:00:00Z'), at('2026-05-08T00:30:00Z'))
  t.same(decision, {
    kind: 'start',
    scheduledAt: at('2026-05-08T00:00:00Z'),
    handledThrough: at('2026-05-08T00:00:00Z'),
    next: at('2026-05-08T01:00:00Z'),
    missed: {
      reason: 'superseded',
      count: 7 * 24 - 1,
      countIsExact: true,
      latest: ['19:00', '20:00', '21:00', '22:00', '23:00'].map((time) => at(`2026-05-07T${time}:00Z`)),
    },
  })
})

t.test('a week offline with a starting deadline: the latest runs if within it, else all are missed', async (t) => {
  const within = decideFiring(timing('0 * * * *', { startingDeadlineMs: HOUR }), state('2026-05-01T00:00:00Z'), at('2026-05-08T00:30:00Z'))
  t.equal(within.kind, 'start')
  t.equal(within.kind === 'start' && within.scheduledAt, at('2026-05-08T00:00:00Z'))
  t.equal(within.kind === 'start' && within.missed?.reason, 'superseded')
  t.equal(within.kind === 'start' && within.missed?.count, 167)

  const past = decideFiring(timing('0 * * * *', { startingDeadlineMs: 10 * MINUTE }), state('2026-05-01T00:00:00Z'), at('2026-05-08T00:30:00Z'))
  t.same(past, {
    kind: 'missed',
    missed: {
      reason: 'past-starting-deadline',
      count: 7 * 24,
      countIsExact: true,
      latest: ['20:00', '21:00', '22:00', '23:00'].map((time) => at(`2026-05-07T${time}:00Z`)).concat(at('2026-05-08T00:00:00Z')),
    },
    handledThrough: at('2026-05-08T00:00:00Z'),
    next: at('2026-05-08T01:00:00Z'),
  })
  const exactlyAtDeadline = decideFiring(timing('0 * * * *', { startingDeadlineMs: 30 * MINUTE }), state('2026-05-01T00:00:00Z'), at('2026-05-08T00:30:00Z'))
  t.equal(exactlyAtDeadline.kind, 'start', 'exactly the deadline late still starts')
})

t.test('the missed report stays bounded however long the node was off', async (t) => {
  const decision = decideFiring(timing('* * * * *'), state('2026-05-01T00:00:00Z'), at('2027-05-01T00:00:00Z'))
  t.equal(decision.kind, 'start')
  if (decision.kind !== 'start' || decision.missed === null) throw new Error('expected a start with missed firings')
  t.equal(decision.scheduledAt, at('2027-05-01T00:00:00Z'))
  t.equal(decision.missed.count, MISSED_COUNT_CAP)
  t.equal(decision.missed.countIsExact, false, 'a year of minutes is not counted one by one')
  t.equal(decision.missed.latest.length, MISSED_TIMES_KEPT)
  t.equal(decision.missed.latest.at(-1), at('2027-04-30T23:59:00Z'))
})

t.test('Allow starts alongside active runs, up to MAX_ACTIVE_RUNS of them', async (t) => {
  const decision = decideFiring(timing('0 * * * *'), state('2026-05-01T10:00:00Z', ['run-a']), at('2026-05-01T11:00:00Z'))
  t.equal(decision.kind, 'start')
  const almost = Array.from({ length: MAX_ACTIVE_RUNS - 1 }, (_, i) => `run-${i}`)
  t.equal(decideFiring(timing('0 * * * *'), state('2026-05-01T10:00:00Z', almost), at('2026-05-01T11:00:00Z')).kind, 'start', 'one under the bound')
  const full = Array.from({ length: MAX_ACTIVE_RUNS }, (_, i) => `run-${i}`)
  t.match(
    decideFiring(timing('0 * * * *'), state('2026-05-01T10:00:00Z', full), at('2026-05-01T11:00:00Z')),
    { kind: 'skip', reason: 'active-limit', scheduledAt: at('2026-05-01T11:00:00Z'), handledThrough: at('2026-05-01T11:00:00Z'), running: full },
    'runs that never finish (an image that never pulls) stop adding a workload per firing',
  )
})

t.test('Forbid skips a firing while a run is active, and does not run it later', async (t) => {
  const forbid = timing('0 * * * *', { concurrencyPolicy: 'Forbid' })
  t.same(decideFiring(forbid, state('2026-05-01T10:00:00Z', ['run-a']), at('2026-05-01T11:00:00Z')), {
    kind: 'skip',
    scheduledAt: at('2026-05-01T11:00:00Z'),
    reason: 'forbid-running',
    running: ['run-a'],
    handledThrough: at('2026-05-01T11:00:00Z'),
    next: at('2026-05-01T12:00:00Z'),
    missed: null,
  })
  t.same(
    decideFiring(forbid, state('2026-05-01T11:00:00Z'), at('2026-05-01T11:05:00Z')),
    { kind: 'wait', until: at('2026-05-01T12:00:00Z') },
    'the run ended at 11:05: 11:00 stays skipped',
  )
  t.equal(decideFiring(forbid, state('2026-05-01T10:00:00Z'), at('2026-05-01T11:00:00Z')).kind, 'start', 'nothing active: start')
})

t.test('Replace stops the active runs and starts the new one', async (t) => {
  const replace = timing('0 * * * *', { concurrencyPolicy: 'Replace' })
  t.same(decideFiring(replace, state('2026-05-01T10:00:00Z', ['run-a', 'run-b']), at('2026-05-01T11:00:00Z')), {
    kind: 'replace',
    scheduledAt: at('2026-05-01T11:00:00Z'),
    stop: ['run-a', 'run-b'],
    handledThrough: at('2026-05-01T11:00:00Z'),
    next: at('2026-05-01T12:00:00Z'),
    missed: null,
  })
  t.equal(decideFiring(replace, state('2026-05-01T10:00:00Z'), at('2026-05-01T11:00:00Z')).kind, 'start', 'nothing active: start')
})

t.test('the policies see the latest firing after downtime; older ones are missed', async (t) => {
  const forbid = decideFiring(timing('0 * * * *', { concurrencyPolicy: 'Forbid' }), state('2026-05-01T10:00:00Z', ['run-a']), at('2026-05-01T13:10:00Z'))
  t.equal(forbid.kind, 'skip')
  t.equal(forbid.kind === 'skip' && forbid.scheduledAt, at('2026-05-01T13:00:00Z'))
  t.same(forbid.kind === 'skip' && forbid.missed, {
    reason: 'superseded',
    count: 2,
    countIsExact: true,
    latest: [at('2026-05-01T11:00:00Z'), at('2026-05-01T12:00:00Z')],
  })
})

t.test('suspend: due firings are missed, never run later, even after resuming', async (t) => {
  const suspended = timing('0 * * * *', { suspend: true })
  t.same(
    decideFiring(suspended, state('2026-05-01T10:00:00Z'), at('2026-05-01T10:30:00Z')),
    { kind: 'wait', until: at('2026-05-01T11:00:00Z') },
    'wakes at the next firing to note it',
  )
  const missed = decideFiring(suspended, state('2026-05-01T10:00:00Z'), at('2026-05-01T12:30:00Z'))
  t.same(missed, {
    kind: 'missed',
    missed: { reason: 'suspended', count: 2, countIsExact: true, latest: [at('2026-05-01T11:00:00Z'), at('2026-05-01T12:00:00Z')] },
    handledThrough: at('2026-05-01T12:00:00Z'),
    next: at('2026-05-01T13:00:00Z'),
  })
  // Resumed at 12:40, after the agent noted the missed firings: 12:00 does not run.
  const resumed = timing('0 * * * *')
  t.same(decideFiring(resumed, state('2026-05-01T12:00:00Z'), at('2026-05-01T12:40:00Z')), { kind: 'wait', until: at('2026-05-01T13:00:00Z') })
  t.equal(decideFiring(suspended, state('2026-05-01T10:00:00Z', ['run-a']), at('2026-05-01T11:00:00Z')).kind, 'missed', 'suspend comes before the policies')
})

t.test('firings follow the job zone and its DST rules', async (t) => {
  const daily = { ...timing('30 2 * * *'), clock: new ZoneClock('America/New_York') }
  const decision = decideFiring(daily, state('2026-03-07T12:00:00Z'), at('2026-03-08T07:00:00Z'))
  t.equal(decision.kind, 'start', 'the skipped 02:30 runs at 03:00 EDT')
  t.equal(decision.kind === 'start' && decision.next, at('2026-03-09T06:30:00Z'))
})

t.test('an agent waking every minute through the fall-back night starts a fixed-time job once and an hourly job every hour', async (t) => {
  const newYork = new ZoneClock('America/New_York')
  const readings = Array.from({ length: 5 * 60 }, (_, i) => at('2026-11-01T04:00:00Z') + i * MINUTE)
  const daily = play({ ...timing('30 1 * * *'), clock: newYork }, readings, at('2026-11-01T03:59:00Z'))
  t.same(daily.started.map(iso), ['2026-11-01T05:30:00Z'], '01:30 EDT only')
  const hourly = play({ ...timing('30 * * * *'), clock: newYork }, readings, at('2026-11-01T03:59:00Z'))
  t.same(hourly.started.map(iso), ['2026-11-01T04:30:00Z', '2026-11-01T05:30:00Z', '2026-11-01T06:30:00Z', '2026-11-01T07:30:00Z', '2026-11-01T08:30:00Z'])
})

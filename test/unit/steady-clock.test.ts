// The clock's monotonic reading and the steady timeline the agent measures intervals on
// (common/clock.ts): a step of the wall clock by years in either direction moves neither.
import t from 'tap'
import { monotonicNow, steadyClock, systemClock, type Clock } from '../../common/clock.js'

const T0 = 1_780_000_000_000
const YEAR = 365 * 24 * 3600 * 1000

/** A wall clock that steps when told and a monotonic one that only advances when told. */
function steppingClock(): Clock & { step(ms: number): void; advance(ms: number): void } {
  let wall = T0
  let mono = 5_000
  return {
    now: () => wall,
    monotonic: () => mono,
    step: (ms) => void (wall += ms),
    advance: (ms) => {
      wall += ms
      mono += ms
    },
  }
}

t.test('the system clock has a monotonic reading that does not go back', async (t) => {
  t.type(systemClock.monotonic, 'function')
  const a = monotonicNow(systemClock)
  const b = monotonicNow(systemClock)
  t.ok(b >= a)
})

t.test('a clock without a monotonic reading is taken to move forward: now() stands in', async (t) => {
  let now = T0
  const clock: Clock = { now: () => now }
  t.equal(monotonicNow(clock), T0)
  const steady = steadyClock(clock)
  t.equal(steady(), T0)
  now += 1234
  t.equal(steady(), T0 + 1234, 'so a test clock moved by hand drives the steady timeline as before')
})

t.test('the steady timeline starts at the wall time and ignores steps of it', async (t) => {
  const clock = steppingClock()
  const steady = steadyClock(clock)
  t.equal(steady(), T0, 'it reads the wall time at first')
  clock.advance(10_000)
  t.equal(steady(), T0 + 10_000, 'and moves with real time')
  clock.step(-YEAR)
  t.equal(steady(), T0 + 10_000, 'a step back of a year changes nothing')
  t.equal(clock.now(), T0 + 10_000 - YEAR)
  clock.advance(30_000)
  t.equal(steady(), T0 + 40_000, 'time goes on at its rate')
  clock.step(2 * YEAR)
  t.equal(steady(), T0 + 40_000, 'a step forward of two years changes nothing')
  clock.advance(1)
  t.equal(steady(), T0 + 40_001)
})

t.test('a timeline made after a step starts at the stepped wall time', async (t) => {
  const clock = steppingClock()
  clock.step(-YEAR)
  t.equal(steadyClock(clock)(), T0 - YEAR, 'a new run (a restart) can only read the wall clock')
})

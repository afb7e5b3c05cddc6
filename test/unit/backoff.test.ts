import t from 'tap'
import { jitteredBackoffMs } from '../../agent/transport/backoff.js'

const constant = (value: number) => (): number => value
/** Just below 1, the largest value Math.random can return. */
const ALMOST_ONE = 1 - Number.EPSILON

t.test('the ceiling doubles from 1 s with each attempt', async (t) => {
  t.equal(jitteredBackoffMs(0, constant(ALMOST_ONE)), 1_000)
  t.equal(jitteredBackoffMs(1, constant(ALMOST_ONE)), 2_000)
  t.equal(jitteredBackoffMs(3, constant(ALMOST_ONE)), 8_000)
  t.equal(jitteredBackoffMs(5, constant(ALMOST_ONE)), 32_000)
})

t.test('the ceiling is capped at 60 s, without overflow however many attempts', async (t) => {
  t.equal(jitteredBackoffMs(6, constant(ALMOST_ONE)), 60_000, '64 s capped')
  t.equal(jitteredBackoffMs(1_000, constant(ALMOST_ONE)), 60_000)
  t.equal(jitteredBackoffMs(Number.MAX_SAFE_INTEGER, constant(0.5)), 30_000)
})

t.test('the delay is the random fraction of the ceiling', async (t) => {
  t.equal(jitteredBackoffMs(3, constant(0.5)), 4_000)
  t.equal(jitteredBackoffMs(3, constant(0.25)), 2_000)
  t.equal(jitteredBackoffMs(10, constant(0.1)), 6_000)
})

t.test('never less than half the base, so a reconnect is never a busy loop', async (t) => {
  t.equal(jitteredBackoffMs(0, constant(0)), 500)
  t.equal(jitteredBackoffMs(10, constant(0)), 500)
  t.equal(jitteredBackoffMs(10, constant(0.001)), 500, '60 ms would be below the floor')
})

t.test('base and cap can be chosen', async (t) => {
  t.equal(jitteredBackoffMs(2, constant(ALMOST_ONE), 250, 10_000), 1_000)
  t.equal(jitteredBackoffMs(8, constant(ALMOST_ONE), 250, 10_000), 10_000)
  t.equal(jitteredBackoffMs(8, constant(0), 250, 10_000), 125)
})

t.test('over many draws, every delay is a whole number of ms within [base/2, ceiling] and the range is used', async (t) => {
  let state = 12_345
  const random = (): number => {
    state = (state * 48_271) % 2_147_483_647
    return (state - 1) / 2_147_483_646
  }
  for (const attempt of [0, 1, 2, 4, 6, 12]) {
    const ceiling = Math.min(60_000, 1_000 * 2 ** attempt)
    const delays = Array.from({ length: 2_000 }, () => jitteredBackoffMs(attempt, random))
    const outside = delays.filter((d) => !Number.isInteger(d) || d < 500 || d > ceiling)
    t.strictSame(outside, [], `attempt ${attempt}: all within [500, ${ceiling}]`)
    const min = Math.min(...delays)
    const max = Math.max(...delays)
    t.ok(max > ceiling * 0.95, `attempt ${attempt}: reaches near the ceiling (max ${max})`)
    if (ceiling >= 4_000) t.ok(min < ceiling * 0.05 + 500, `attempt ${attempt}: reaches near the floor (min ${min})`)
    t.ok(new Set(delays).size > 100 || ceiling < 2_000, `attempt ${attempt}: spread out, not in lockstep`)
  }
})

t.test('uses Math.random by default and stays within bounds', async (t) => {
  for (let i = 0; i < 200; i++) {
    const delay = jitteredBackoffMs(4)
    t.ok(delay >= 500 && delay <= 16_000, `draw ${i}: ${delay}`)
  }
})

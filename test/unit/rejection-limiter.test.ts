import t from 'tap'
import { RejectionLimiter } from '../../agent/intake/rejection-limiter.js'

t.test('per code: the first N of a window are admitted, the rest counted and summarised once the window ends', async (t) => {
  const limiter = new RejectionLimiter(2, 1_000)
  t.same([limiter.admit('a', 'r1', 0), limiter.admit('a', 'r2', 10), limiter.admit('a', 'r3', 20), limiter.admit('a', 'r4', 30)], [true, true, false, false])
  t.equal(limiter.admit('b', 'x', 40), true, 'another code has its own budget')
  t.same(limiter.due(999), [], 'nothing due while the window runs')
  t.same(limiter.due(1_000), [{ code: 'a', count: 2, lastReason: 'r4', windowMs: 1_000 }], 'code b had nothing suppressed: no summary')
  t.same(limiter.due(1_001), [], 'each summary once')
  t.equal(limiter.admit('a', 'r5', 1_500), true, 'a new window starts with a fresh budget')
})

t.test('a clock that steps back starts a new window instead of suppressing forever', async (t) => {
  const limiter = new RejectionLimiter(1, 1_000)
  t.equal(limiter.admit('a', 'r1', 10_000), true)
  t.equal(limiter.admit('a', 'r2', 10_001), false)
  t.same(limiter.due(5_000), [{ code: 'a', count: 1, lastReason: 'r2', windowMs: 1_000 }])
  t.equal(limiter.admit('a', 'r3', 5_000), true)
})

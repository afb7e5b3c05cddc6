import t from 'tap'
import { FailedEnrollmentLimiter } from '../../hub/enrollment/failed-enrollments.js'

t.test('an address is refused after max failures until its window ends; others are not', async (t) => {
  const limiter = new FailedEnrollmentLimiter(3, 60_000)
  for (let i = 0; i < 2; i++) limiter.recordFailure('10.0.0.1', 1_000 + i)
  t.equal(limiter.retryAfterMs('10.0.0.1', 2_000), null, 'two failures: may still try')
  limiter.recordFailure('10.0.0.1', 3_000)
  t.equal(limiter.retryAfterMs('10.0.0.1', 3_000), 58_000, 'the third: wait until the window ends')
  t.equal(limiter.retryAfterMs('10.0.0.2', 3_000), null, 'another address is not affected')
  t.equal(limiter.retryAfterMs('10.0.0.1', 61_000), null, 'the window ended')
  limiter.recordFailure('10.0.0.1', 61_000)
  t.equal(limiter.retryAfterMs('10.0.0.1', 61_001), null, 'a new window starts from one failure')
})

t.test('a clock that steps back does not lock an address out for good', async (t) => {
  const limiter = new FailedEnrollmentLimiter(1, 60_000)
  limiter.recordFailure('a', 100_000)
  t.ok((limiter.retryAfterMs('a', 100_001) ?? 0) > 0)
  t.equal(limiter.retryAfterMs('a', 50_000), null)
})

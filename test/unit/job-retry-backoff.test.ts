import t from 'tap'
import { backoffLimitExceeded, DEFAULT_BACKOFF_LIMIT, RETRY_BASE_MS, RETRY_CAP_MS, retryAt, retryDelayMs } from '../../common/jobs/retry-backoff.js'

t.test('no failure, no delay', async (t) => {
  t.equal(retryDelayMs(0), 0)
  t.equal(retryDelayMs(-1), 0)
})

t.test('the delay doubles from 10 s with each failure', async (t) => {
  t.equal(RETRY_BASE_MS, 10_000)
  t.same(
    [1, 2, 3, 4, 5, 6].map((failures) => retryDelayMs(failures)),
    [10_000, 20_000, 40_000, 80_000, 160_000, 320_000],
  )
})

t.test('the delay is capped at 6 minutes, without overflow however many failures', async (t) => {
  t.equal(RETRY_CAP_MS, 360_000)
  t.equal(retryDelayMs(7), 360_000, '640 s capped')
  t.equal(retryDelayMs(1_000), 360_000)
  t.equal(retryDelayMs(Number.MAX_SAFE_INTEGER), 360_000)
})

t.test('base and cap can be chosen', async (t) => {
  t.equal(retryDelayMs(3, 1_000, 5_000), 4_000)
  t.equal(retryDelayMs(4, 1_000, 5_000), 5_000)
  t.equal(retryDelayMs(1, 1_000, 500), 500, 'the cap holds from the first failure')
})

t.test('the retry instant counts from the last failure', async (t) => {
  t.equal(retryAt(1, 1_000_000), 1_010_000)
  t.equal(retryAt(3, 1_000_000), 1_040_000)
  t.equal(retryAt(0, 1_000_000), 1_000_000)
})

t.test('a backoffLimit of n allows n failures; the next one exceeds it', async (t) => {
  t.equal(DEFAULT_BACKOFF_LIMIT, 6)
  t.notOk(backoffLimitExceeded(6, 6))
  t.ok(backoffLimitExceeded(7, 6))
  t.notOk(backoffLimitExceeded(0, 0))
  t.ok(backoffLimitExceeded(1, 0), 'a limit of 0: the first failure fails the job')
})

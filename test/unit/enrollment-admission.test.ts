import t from 'tap'
import { DEFAULT_ENROLL_RATE_PER_SECOND, EnrollmentAdmission, MAX_ENROLL_RETRY_AFTER_MS } from '../../hub/enrollment/enrollment-admission.js'

const T0 = 1_000_000

t.test('a full bucket admits a burst of one second, then refuses', async (t) => {
  const admission = new EnrollmentAdmission(10)
  for (let i = 0; i < 10; i++) t.equal(admission.admit(T0), null, `enrollment ${i + 1} of the burst`)
  t.equal(admission.admit(T0), 100, 'the 11th waits for the next token (100 ms at 10/s)')
})

t.test('refused requests get successive slots, so the burst comes back spread out', async (t) => {
  const admission = new EnrollmentAdmission(4, 1)
  t.equal(admission.admit(T0), null)
  t.same([admission.admit(T0), admission.admit(T0), admission.admit(T0), admission.admit(T0)], [250, 500, 750, 1000], 'one token interval apart')
  t.equal(admission.admit(T0 + 100), 1150, 'a later arrival queues behind them')
})

t.test('tokens refill at the rate up to the burst, and the promised slots fall due', async (t) => {
  const admission = new EnrollmentAdmission(2, 2)
  t.equal(admission.admit(T0), null)
  t.equal(admission.admit(T0), null)
  t.equal(admission.admit(T0), 500)
  t.equal(admission.admit(T0 + 500), null, 'at its slot the refused request finds a token')
  t.equal(admission.admit(T0 + 10_000), null)
  t.equal(admission.admit(T0 + 10_000), null, 'a long pause refills to the burst')
  t.equal(admission.admit(T0 + 10_000), 500, 'and no further')
})

t.test('a slow rate and a large backlog: waits are capped', async (t) => {
  const admission = new EnrollmentAdmission(0.01, 1)
  t.equal(admission.admit(T0), null)
  t.equal(admission.admit(T0), 100_000, 'a token every 100 s')
  t.equal(admission.admit(T0), 200_000)
  t.equal(admission.admit(T0), MAX_ENROLL_RETRY_AFTER_MS)
  t.equal(admission.admit(T0), MAX_ENROLL_RETRY_AFTER_MS, 'never beyond the cap, which does not grow the backlog')
})

t.test('a clock that steps back refills nothing and takes nothing away', async (t) => {
  const admission = new EnrollmentAdmission(1, 1)
  t.equal(admission.admit(T0), null)
  t.equal(admission.admit(T0 - 5_000), 1_000)
  t.equal(admission.admit(T0 + 1_000), null, 'the token due a second after the last admission')
})

t.test('the defaults, and rates that make no sense', async (t) => {
  const admission = new EnrollmentAdmission()
  t.same([admission.ratePerSecond, admission.burst], [DEFAULT_ENROLL_RATE_PER_SECOND, DEFAULT_ENROLL_RATE_PER_SECOND])
  t.equal(new EnrollmentAdmission(0.5).burst, 1, 'a burst of at least one')
  for (const rate of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) t.throws(() => new EnrollmentAdmission(rate), RangeError, `rate ${rate}`)
  t.throws(() => new EnrollmentAdmission(1, 0), RangeError)
})

import t from 'tap'
import { RepeatedFailureLog } from '../../agent/transport/repeated-failure-log.js'

t.test('the first failure warns, repeats are held back until the quiet period, a new message warns at once', async (t) => {
  const log = new RepeatedFailureLog(60_000)
  t.same(log.next('ECONNREFUSED', 0), { warn: true, heldBack: 0 }, 'first of an outage')
  t.same(log.next('ECONNREFUSED', 500), { warn: false, heldBack: 1 })
  t.same(log.next('ECONNREFUSED', 59_999), { warn: false, heldBack: 2 })
  t.same(log.next('ECONNREFUSED', 60_000), { warn: true, heldBack: 2 }, 'one per quiet period, counting what it held back')
  t.same(log.next('EHOSTUNREACH', 60_100), { warn: true, heldBack: 0 }, 'a different failure warns at once')
  t.same(log.next('EHOSTUNREACH', 60_200), { warn: false, heldBack: 1 })
})

t.test('after the link was up, the same failure again is a new outage', async (t) => {
  const log = new RepeatedFailureLog(60_000)
  log.next('ECONNREFUSED', 0)
  log.next('ECONNREFUSED', 100)
  log.reset()
  t.same(log.next('ECONNREFUSED', 200), { warn: true, heldBack: 0 })
})

t.test('a day of attempts every 250 ms makes at most one warning a minute', async (t) => {
  const log = new RepeatedFailureLog(60_000)
  let warnings = 0
  for (let ms = 0; ms < 24 * 3600_000; ms += 250) if (log.next('ECONNREFUSED', ms).warn) warnings++
  t.equal(warnings, 24 * 60)
})

import t from 'tap'
import { BACKOFF_EVENT_INTERVAL_MS, NO_BACKOFF, type BackOffTally, tallyRestart } from '../../agent/reconcile/backoff-events.js'

t.test('the first restart in a loop is reported at once, with a count of one', async (t) => {
  t.same(tallyRestart(NO_BACKOFF, 1_000), { tally: { lastEmittedAt: 1_000, pending: 0 }, emit: 1 })
})

t.test('later restarts wait for the interval, then one event stands for all of them', async (t) => {
  let tally: BackOffTally = tallyRestart(NO_BACKOFF, 0).tally
  const emitted: number[] = []
  for (let now = 5_000; now <= 5 * BACKOFF_EVENT_INTERVAL_MS; now += 5_000) {
    const counted = tallyRestart(tally, now)
    tally = counted.tally
    if (counted.emit !== null) emitted.push(counted.emit)
  }
  t.same(emitted, [12, 12, 12, 12, 12], 'one event a minute for a crash every 5 s: 60 restarts, 5 events')
})

t.test('however fast the crashes, events never come more than once per interval', async (t) => {
  let tally: BackOffTally = NO_BACKOFF
  let events = 0
  let restarts = 0
  for (let now = 0; now < 10 * BACKOFF_EVENT_INTERVAL_MS; now += 7) {
    const counted = tallyRestart(tally, now)
    tally = counted.tally
    restarts++
    if (counted.emit !== null) events++
  }
  t.ok(events <= 11, `${events} events for ${restarts} restarts over ten intervals`)
  t.ok(restarts > 80_000)
})

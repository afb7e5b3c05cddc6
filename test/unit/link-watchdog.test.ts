// Liveness of a NATS link with probes riding along with heartbeats (agent/transport/link-watchdog.ts).
import t from 'tap'
import { linkTiming } from '../../agent/transport/link-timing.js'
import { LinkWatchdog } from '../../agent/transport/link-watchdog.js'
import { waitFor } from '../support/wait.js'

t.test('a heartbeat carries a probe once probeAfterMs has passed since the last one, and only then', async (t) => {
  let now = 0
  let probes = 0
  const watchdog = new LinkWatchdog({
    periodMs: 60_000,
    timing: linkTiming(30_000),
    probe: async () => void probes++,
    dead: () => t.fail('not dead'),
    now: () => now,
  })
  watchdog.alongside()
  t.equal(probes, 0, 'not before the link is up')
  watchdog.up()
  for (const at of [0, 30_000, 44_999]) {
    now = at
    watchdog.alongside()
  }
  t.equal(probes, 0, 'none within 45 s of the connect')
  now = 60_000
  watchdog.alongside()
  t.equal(probes, 1, 'the second heartbeat after the connect carries one')
  now = 90_000
  watchdog.alongside()
  t.equal(probes, 1)
  now = 120_000
  watchdog.alongside()
  t.equal(probes, 2)
  watchdog.down()
  now = 1e9
  watchdog.alongside()
  t.equal(probes, 2, 'none once the link is down')
})

t.test('unanswered: an own ping after the own-ping period, then dead; answered: never dead', async (t) => {
  // A 20 ms period (timing without riding probes: the own ping every period) keeps the test short.
  const timing = { probeAfterMs: null }
  let deadCalls = 0
  let probes = 0
  const silent = new LinkWatchdog({ periodMs: 20, timing, probe: () => (probes++, new Promise(() => undefined)), dead: () => void deadCalls++ })
  silent.up()
  await waitFor(() => deadCalls === 1, { what: 'the silent link declared dead' })
  t.equal(probes, 1, 'one own ping went before')

  let answered = 0
  const live = new LinkWatchdog({
    periodMs: 20,
    timing,
    probe: async () => void answered++,
    dead: () => t.fail('an answered link is never dead'),
  })
  live.up()
  await waitFor(() => answered >= 5, { what: 'five own pings answered' })
  live.down()
})

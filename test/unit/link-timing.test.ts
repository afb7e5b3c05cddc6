// How often an idle broker link speaks, from the profile's heartbeat interval (agent/transport/link-timing.ts).
import t from 'tap'
import { DEFAULT_LINK_TIMING, MAX_KEEPALIVE_MS, MIN_KEEPALIVE_MS, linkTiming, ownPingMs, probeRidesAlong } from '../../agent/transport/link-timing.js'
import { watchHeartbeatMs } from '../../agent/transport/nats-transport.js'

t.test('twice the heartbeat interval for MQTT keepalive and NATS pings; four times that for the desired watch', async (t) => {
  t.strictSame(linkTiming(30_000), { mqttKeepaliveSeconds: 60, natsPingIntervalMs: 60_000, watchIdleHeartbeatMs: 240_000, probeAfterMs: 45_000 })
  t.strictSame(linkTiming(60_000), { mqttKeepaliveSeconds: 120, natsPingIntervalMs: 120_000, watchIdleHeartbeatMs: 480_000, probeAfterMs: 90_000 })
})

t.test('never below 30 s nor above 20 minutes', async (t) => {
  t.equal(linkTiming(10_000).mqttKeepaliveSeconds, MIN_KEEPALIVE_MS / 1000, 'a 10 s heartbeat: 30 s')
  t.equal(linkTiming(1).natsPingIntervalMs, MIN_KEEPALIVE_MS)
  t.equal(linkTiming(3_600_000).mqttKeepaliveSeconds, MAX_KEEPALIVE_MS / 1000)
  t.equal(linkTiming(3_600_000).watchIdleHeartbeatMs, MAX_KEEPALIVE_MS, 'the watch too')
})

t.test('whole seconds (the MQTT field is seconds)', async (t) => {
  const timing = linkTiming(22_222)
  t.equal(timing.mqttKeepaliveSeconds, 44)
  t.equal(timing.natsPingIntervalMs, 44_000)
  t.equal(timing.watchIdleHeartbeatMs, 176_000)
})

t.test('a transport started without a timing keeps what links had before', async (t) => {
  t.strictSame(DEFAULT_LINK_TIMING, { mqttKeepaliveSeconds: 30, natsPingIntervalMs: 20_000, watchIdleHeartbeatMs: 5_000, probeAfterMs: null })
  t.equal(ownPingMs(30_000, DEFAULT_LINK_TIMING), 30_000, 'the own ping every period')
  t.notOk(probeRidesAlong(1e12, 0, DEFAULT_LINK_TIMING), 'no probe rides along')
})

/** Heartbeat times (ms) that carry a probe, for beats every `everyMs` with `jitterMs` added to each from the connect at 0. */
function probedBeats(heartbeatMs: number, beats: number, jitterMs: (i: number) => number = () => 0): number[] {
  const timing = linkTiming(heartbeatMs)
  let last = 0
  const probed: number[] = []
  for (let i = 0; i < beats; i++) {
    const at = i * heartbeatMs + jitterMs(i)
    if (!probeRidesAlong(at, last, timing)) continue
    last = at
    probed.push(i)
  }
  return probed
}

t.test('a probe rides along with every other heartbeat at twice the interval, late or early beats alike', async (t) => {
  t.strictSame(probedBeats(30_000, 9), [2, 4, 6, 8])
  t.strictSame(
    probedBeats(30_000, 9, (i) => (i % 2 ? 900 : -900)),
    [2, 4, 6, 8],
    'beats ±0.9 s off',
  )
  t.strictSame(
    probedBeats(30_000, 9, (i) => i * 50),
    [2, 4, 6, 8],
    'a drifting timer',
  )
  t.strictSame(probedBeats(10_000, 10), [3, 6, 9], 'a 10 s heartbeat under the 30 s floor: every third beat')
  t.strictSame(probedBeats(3_600_000, 3), [0, 1, 2], 'an hour between beats, past the 20-minute cap: every beat')
})

t.test("the own ping waits 1.25 periods while probes ride along: inside MQTT's 1.5 and after the next carrying heartbeat", async (t) => {
  for (const heartbeatMs of [1_000, 10_000, 22_222, 30_000, 60_000, 600_000, 3_600_000]) {
    const timing = linkTiming(heartbeatMs)
    const period = timing.mqttKeepaliveSeconds * 1000
    const own = ownPingMs(period, timing)
    t.ok(own <= 1.5 * period, `${heartbeatMs}: own ping ${own} within the broker's 1.5 × ${period}`)
    const nextCarrier = Math.ceil((timing.probeAfterMs ?? 0) / heartbeatMs) * heartbeatMs
    if (nextCarrier < period * 1.25)
      t.ok(
        own - nextCarrier >= heartbeatMs / 4 || own - nextCarrier >= 7_500,
        `${heartbeatMs}: the carrying beat (${nextCarrier}) comes well before the own ping (${own})`,
      )
  }
})

t.test("the desired watch beats four periods apart on one server, one period on a cluster (a leader's death can take its consumer)", async (t) => {
  t.equal(watchHeartbeatMs(linkTiming(30_000), 1), 240_000)
  t.equal(watchHeartbeatMs(linkTiming(30_000), 3), 60_000)
  t.equal(watchHeartbeatMs(linkTiming(10_000), 3), 30_000, 'at 10 s the keepalive floor: 30 s')
  t.equal(watchHeartbeatMs(linkTiming(1_800_000), 3), MAX_KEEPALIVE_MS, 'never past the keepalive cap')
})

// How often an idle broker link speaks, from the profile's heartbeat interval (agent/transport/link-timing.ts).
import t from 'tap'
import { DEFAULT_LINK_TIMING, MAX_KEEPALIVE_MS, MIN_KEEPALIVE_MS, linkTiming } from '../../agent/transport/link-timing.js'

t.test('twice the heartbeat interval for MQTT keepalive and NATS pings; four times that for the desired watch', async (t) => {
  t.strictSame(linkTiming(30_000), { mqttKeepaliveSeconds: 60, natsPingIntervalMs: 60_000, watchIdleHeartbeatMs: 240_000 })
  t.strictSame(linkTiming(60_000), { mqttKeepaliveSeconds: 120, natsPingIntervalMs: 120_000, watchIdleHeartbeatMs: 480_000 })
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
  t.strictSame(DEFAULT_LINK_TIMING, { mqttKeepaliveSeconds: 30, natsPingIntervalMs: 20_000, watchIdleHeartbeatMs: 5_000 })
})

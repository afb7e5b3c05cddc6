import t from 'tap'
import {
  AGENT_PUBLISHED,
  CHANNELS,
  ENROLL_PATH,
  HUB_PUBLISHED,
  NATS_DESIRED_BUCKET,
  mqttTopic,
  mqttWildcard,
  natsDesiredKey,
  natsSubject,
  natsWildcard,
  parseMqttTopic,
  parseNatsSubject,
  type Channel,
} from '../../protocol/topics.js'

const channels = Object.keys(CHANNELS) as Channel[]

t.test('names carry the protocol version', async (t) => {
  t.equal(mqttTopic('pi-17', 'desired'), 'shoal/v1/nodes/pi-17/desired')
  t.equal(natsSubject('pi-17', 'outbox'), 'shoal.v1.nodes.pi-17.outbox')
  t.equal(mqttWildcard('heartbeat'), 'shoal/v1/nodes/+/heartbeat')
  t.equal(natsWildcard('presence'), 'shoal.v1.nodes.*.presence')
  t.equal(ENROLL_PATH, '/api/v1/enroll')
})

t.test('building then parsing gives back the node and channel, for every channel, MQTT and NATS', async (t) => {
  for (const nodeId of ['pi-17', 'a', '0', 'x86-gateway-003']) {
    for (const channel of channels) {
      t.same(parseMqttTopic(mqttTopic(nodeId, channel)), { nodeId, channel }, `mqtt ${nodeId} ${channel}`)
      t.same(parseNatsSubject(natsSubject(nodeId, channel)), { nodeId, channel }, `nats ${nodeId} ${channel}`)
    }
  }
})

t.test('parsing refuses wildcard topics and subjects', async (t) => {
  for (const topic of ['shoal/v1/nodes/+/desired', 'shoal/v1/nodes/#', 'shoal/v1/nodes/#/desired', 'shoal/v1/nodes/pi-17/+', '#', '+/+/+/+/+']) {
    t.equal(parseMqttTopic(topic), null, topic)
  }
  for (const subject of ['shoal.v1.nodes.*.desired', 'shoal.v1.nodes.>', 'shoal.v1.nodes.>.desired', 'shoal.v1.nodes.pi-17.*', '>', '*.*.*.*.*']) {
    t.equal(parseNatsSubject(subject), null, subject)
  }
})

t.test('parsing refuses foreign topics and subjects', async (t) => {
  const foreignMqtt = [
    'shoal/v2/nodes/pi-17/desired',
    'other/v1/nodes/pi-17/desired',
    'shoal/v1/devices/pi-17/desired',
    'shoal/v1/nodes/pi-17',
    'shoal/v1/nodes/pi-17/desired/extra',
    'shoal/v1/nodes//desired',
    'shoal/v1/nodes/pi-17/unknown',
    'shoal/v1/nodes/pi-17/constructor',
    'shoal/v1/nodes/pi-17/toString',
    'shoal/v1/nodes/PI-17/desired',
    'shoal/v1/nodes/pi_17/desired',
    '/shoal/v1/nodes/pi-17/desired',
    '$SYS/broker/uptime',
    '',
  ]
  for (const topic of foreignMqtt) t.equal(parseMqttTopic(topic), null, JSON.stringify(topic))
  const foreignNats = [
    'shoal.v2.nodes.pi-17.desired',
    'other.v1.nodes.pi-17.desired',
    'shoal.v1.nodes.pi-17',
    'shoal.v1.nodes.pi-17.desired.extra',
    'shoal.v1.nodes..desired',
    'shoal.v1.nodes.pi-17.unknown',
    'shoal.v1.nodes.pi-17.hasOwnProperty',
    'shoal.v1.nodes.PI-17.desired',
    '_INBOX.abc',
    '',
  ]
  for (const subject of foreignNats) t.equal(parseNatsSubject(subject), null, JSON.stringify(subject))
})

t.test('building refuses node ids that could inject separators or wildcards', async (t) => {
  for (const nodeId of ['a/b', 'a.b', '+', '#', '*', '>', '', 'UPPER', 'pi 17', '-leading', 'x'.repeat(64)]) {
    t.throws(() => mqttTopic(nodeId, 'desired'), RangeError, `mqtt ${JSON.stringify(nodeId)}`)
    t.throws(() => natsSubject(nodeId, 'desired'), RangeError, `nats ${JSON.stringify(nodeId)}`)
    t.throws(() => natsDesiredKey(nodeId), RangeError, `kv ${JSON.stringify(nodeId)}`)
  }
})

t.test('each channel is published by exactly the side the table names', async (t) => {
  t.same([...AGENT_PUBLISHED, ...HUB_PUBLISHED].sort(), [...channels].sort(), 'the two lists cover every channel once')
  for (const channel of AGENT_PUBLISHED) t.equal(CHANNELS[channel], 'agent', channel)
  for (const channel of HUB_PUBLISHED) t.equal(CHANNELS[channel], 'hub', channel)
})

t.test('the desired-state KV bucket and keys are valid JetStream names', async (t) => {
  t.match(NATS_DESIRED_BUCKET, /^[A-Za-z0-9_-]+$/)
  t.equal(natsDesiredKey('pi-17'), 'pi-17')
})

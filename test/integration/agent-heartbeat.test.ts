// The agent's heartbeat against a real Mosquitto: one goes out as soon as the agent connects,
// not only when the profile's interval first ticks,
// so the hub and `shoal top` do not show a fresh node as "<unknown>" for a whole interval.
import path from 'node:path'
import mqtt from 'mqtt'
import t from 'tap'
import { Heartbeat, MAX_BYTES, decodeMessage, mqttTopic } from '../../protocol/index.js'
import { startMosquitto, tempDir, waitFor } from '../support/index.js'
import { startAgentProcess, uniqueNodeId } from '../support/agent-process.js'

t.setTimeout(150_000)

// The Pi Zero profile's interval: the longest of the shipped profiles.
const PROFILE = 'raspberry-pi-zero-2w'
const INTERVAL_MS = 60_000

t.test('a heartbeat on connect, before the first interval has passed', async (t) => {
  const nodeId = uniqueNodeId('beat')
  const broker = await startMosquitto(t)
  const received: { heartbeat: Heartbeat }[] = []
  const listener = mqtt.connect(broker.url, { reconnectPeriod: 200, connectTimeout: 5_000 })
  t.teardown(() => new Promise<void>((resolve) => listener.end(true, {}, () => resolve())))
  listener.on('error', () => undefined)
  listener.on('connect', () => listener.subscribe(mqttTopic(nodeId, 'heartbeat'), { qos: 0 }))
  listener.on('message', (_topic, payload) => {
    received.push({ heartbeat: decodeMessage(Heartbeat, payload, { maxBytes: MAX_BYTES.heartbeat, what: 'heartbeat' }) })
  })
  await waitFor(() => listener.connected, { what: 'the listener to connect', timeoutMs: 10_000 })

  const agent = await startAgentProcess(t, {
    nodeId,
    dataDir: path.join(tempDir(t, 'agent-heartbeat'), 'data'),
    hubUrl: broker.url,
    extraArgs: ['--profile', PROFILE],
  })
  const first = await waitFor(() => received[0], { what: 'the first heartbeat', timeoutMs: INTERVAL_MS + 30_000, intervalMs: 100 })
  t.equal(first.heartbeat.nodeId, nodeId)
  // Both times on the agent's own clock, so a slow start of the process (a busy machine) is not counted.
  const connected = await waitFor(() => agent.logLines('connected to broker')[0], { what: "the agent's connect in its log", timeoutMs: 30_000 })
  const afterConnect = Date.parse(first.heartbeat.at) - Number(connected.time)
  t.ok(afterConnect < INTERVAL_MS, `the first heartbeat was taken ${afterConnect} ms after the agent connected, before its ${INTERVAL_MS} ms interval`)
  // CPU is a rate: the first heartbeat measures it over a short window of its own rather than sending none.
  t.type(first.heartbeat.cpuPercent, 'number', 'the first heartbeat already carries a CPU figure')
  t.ok((first.heartbeat.cpuPercent ?? -1) >= 0 && (first.heartbeat.cpuPercent ?? 101) <= 100, 'a percentage')
  t.ok(first.heartbeat.memory.totalBytes > 0, 'memory is reported at once')
  t.ok(agent.alive)
})

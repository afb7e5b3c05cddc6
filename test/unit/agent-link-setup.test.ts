// Where the agent connects (brokerEndpoint in agent/transport/create-transport.ts), and the events
// and clock reports it makes (agent/agent-events.ts).
import { pino, type Logger } from 'pino'
import t from 'tap'
import { clockWatcher, imageCollectedEvent, storeResetEvent } from '../../agent/agent-events.js'
import { AgentConfigError } from '../../agent/config.js'
import type { OutboxEntry } from '../../agent/store/agent-store.js'
import { brokerEndpoint } from '../../agent/transport/create-transport.js'
import type { NodeEvent } from '../../protocol/index.js'

const none = { brokerUrl: null, username: null, password: null }

t.test('brokerEndpoint: no broker and no hub, no link', async (t) => {
  t.equal(brokerEndpoint(none, null), null)
})

t.test('brokerEndpoint: MQTT, with the credentials taken out of the URL', async (t) => {
  t.strictSame(brokerEndpoint(none, 'mqtt://node%40a:p%3Ass@hub:1883'), {
    kind: 'mqtt',
    url: 'mqtt://hub:1883',
    credentials: { username: 'node@a', password: 'p:ss' },
  })
  t.strictSame(brokerEndpoint(none, 'mqtts://hub:8883'), { kind: 'mqtt', url: 'mqtts://hub:8883', credentials: {} })
})

t.test('brokerEndpoint: NATS as host:port, 4222 by default', async (t) => {
  t.strictSame(brokerEndpoint(none, 'nats://hub'), { kind: 'nats', servers: ['hub:4222'], credentials: {} })
  t.strictSame(brokerEndpoint(none, 'tls://u:p@hub:4443'), { kind: 'nats', servers: ['hub:4443'], credentials: { username: 'u', password: 'p' } })
})

t.test("brokerEndpoint: a NATS cluster's servers separated by commas, all of them dialed", async (t) => {
  t.strictSame(brokerEndpoint(none, 'nats://a:4222,nats://b,nats://c:4224'), { kind: 'nats', servers: ['a:4222', 'b:4222', 'c:4224'], credentials: {} })
  t.strictSame(brokerEndpoint(none, 'nats://u:p@a:1,nats://u:p@b:2'), { kind: 'nats', servers: ['a:1', 'b:2'], credentials: { username: 'u', password: 'p' } })
  t.throws(() => brokerEndpoint(none, 'nats://a:1,mqtt://b:2'), { option: '--hub', message: /expected nats:\/\/ or tls:\/\// })
})

t.test("brokerEndpoint: the enrollment's broker and credentials win over --hub", async (t) => {
  const enrolled = { brokerUrl: 'mqtt://url-user:url-pass@broker:1883', username: 'node-n1', password: 'issued' }
  t.strictSame(brokerEndpoint(enrolled, 'https://hub:8443'), {
    kind: 'mqtt',
    url: 'mqtt://broker:1883',
    credentials: { username: 'node-n1', password: 'issued' },
  })
})

t.test('brokerEndpoint refuses an HTTP hub without enrollment, saying what to do', async (t) => {
  t.throws(() => brokerEndpoint(none, 'https://hub:8443'), AgentConfigError)
  t.throws(() => brokerEndpoint(none, 'https://hub:8443'), { option: '--hub', message: /https:\/\/ needs enrollment with --token first/ })
})

const clock = { now: () => Date.parse('2030-01-01T00:00:00.000Z') }

t.test('the store-reset and image events', async (t) => {
  t.strictSame(storeResetEvent('n1', clock, '/data/agent.db.corrupt-1'), {
    nodeId: 'n1',
    type: 'StoreReset',
    severity: 'error',
    message: "the local database was unreadable and was moved aside to /data/agent.db.corrupt-1; keeping running containers and waiting for the hub's document",
    at: '2030-01-01T00:00:00.000Z',
  })
  t.strictSame(imageCollectedEvent('n1', clock, 'old:1', 2048), {
    nodeId: 'n1',
    type: 'ImageGarbageCollected',
    severity: 'info',
    message: 'removed unused image old:1 (2048 bytes)',
    at: '2030-01-01T00:00:00.000Z',
  })
})

function capturingLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = []
  return { logger: pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) }), lines }
}

t.test('clockWatcher: a change is logged and queued for the hub; no change, nothing', async (t) => {
  const behind: NodeEvent = { nodeId: 'n1', type: 'ClockBehind', severity: 'warning', message: 'clock behind', at: 'x', data: { nodeTime: 'a', floor: 'b' } }
  const recovered: NodeEvent = { nodeId: 'n1', type: 'ClockRecovered', severity: 'info', message: 'clock back', at: 'y' }
  const answers: (NodeEvent | null)[] = [null, behind, null, recovered]
  const queued: OutboxEntry[] = []
  const { logger, lines } = capturingLogger()
  const watch = clockWatcher({ check: () => answers.shift() ?? null }, logger, { enqueue: (entries) => void queued.push(...entries) })
  for (let i = 0; i < 4; i++) watch()
  t.strictSame(queued, [
    { kind: 'event', body: behind },
    { kind: 'event', body: recovered },
  ])
  t.strictSame(
    lines.map((l) => [l['level'], l['msg'], l['nodeTime'], l['floor']]),
    [
      [50, 'clock behind', 'a', 'b'],
      [30, 'clock back', undefined, undefined],
    ],
  )
})

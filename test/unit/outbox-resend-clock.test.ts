// The outbox sender's resend timer against a real SQLite outbox, with a wall clock stepped by a
// year each way while a batch waits for its ack: it resends when the monotonic clock says the
// interval has passed, never earlier and never later, whatever the wall clock does. The
// transport is a double (publishes are recorded; the test plays the hub's ack).
import { join } from 'node:path'
import { pino } from 'pino'
import t from 'tap'
import type { Clock } from '../../common/clock.js'
import { OutboxSender } from '../../agent/outbox/outbox-sender.js'
import { AgentStore } from '../../agent/store/agent-store.js'
import { openAgentDatabase } from '../../agent/store/open-agent-database.js'
import type { AgentTransport, OutboundChannel, TransportHandlers } from '../../agent/transport/transport.js'
import { decodeMessage, encodeMessage, OutboxBatch, MAX_BYTES } from '../../protocol/index.js'
import { tempDir } from '../support/tmp.js'
import { waitFor } from '../support/wait.js'

const NODE = 'pi-7'
const T0 = 1_780_000_000_000
const YEAR = 365 * 24 * 3600 * 1000
const RESEND_MS = 40

/** TEST DOUBLE (not a real broker): records every outbox batch published; publishes settle at once. */
class RecordingTransport implements AgentTransport {
  readonly kind = 'mqtt'
  connected = true
  readonly sent: OutboxBatch[] = []

  start(_handlers: TransportHandlers): void {}

  async publish(channel: OutboundChannel, payload: Buffer): Promise<void> {
    if (channel === 'outbox') this.sent.push(decodeMessage(OutboxBatch, payload, { maxBytes: MAX_BYTES.outbox, what: 'outbox' }))
  }

  async close(): Promise<void> {}
}

/** Wall and monotonic moved by the test; counts monotonic readings, so a test can wait for the timer to have looked. */
function testClock(): Clock & { step(ms: number): void; advance(ms: number): void; readings: number } {
  let wall = T0
  let mono = 0
  const clock = {
    readings: 0,
    now: () => wall,
    monotonic: () => {
      clock.readings++
      return mono
    },
    step: (ms: number) => void (wall += ms),
    advance: (ms: number) => {
      wall += ms
      mono += ms
    },
  }
  return clock
}

t.test('a wall clock stepped a year back and forth neither resends a batch early nor holds it back', async (t) => {
  const logger = pino({ level: 'silent' })
  const clock = testClock()
  const { db } = openAgentDatabase(join(tempDir(t, 'outbox-resend-clock'), 'agent.db'), logger, { now: () => T0 })
  const store = new AgentStore(db, clock, { maxRecords: 1000, maxBytes: 1 << 20 })
  const transport = new RecordingTransport()
  const sender = new OutboxSender({ nodeId: NODE, store, transport, logger, resendAfterMs: RESEND_MS, clock })
  t.teardown(() => {
    sender.stop()
    store.close()
  })
  store.enqueue([
    { kind: 'event', body: { nodeId: NODE, type: 'WorkloadStateChanged', severity: 'info', workload: 'web', message: 'one', at: new Date(T0).toISOString() } },
  ])
  sender.start()
  await waitFor(() => transport.sent.length === 1, { what: 'the first send' })
  const seqs = transport.sent[0]?.records.map((r) => r.seq) ?? []
  t.equal(seqs.length, 1)

  // The resend timer ticks every RESEND_MS of real time and reads the monotonic clock each time.
  const ticks = async (n: number): Promise<void> => {
    const from = clock.readings
    await waitFor(() => clock.readings >= from + n, { what: `${n} resend checks`, intervalMs: 5 })
  }
  clock.step(YEAR)
  await ticks(3)
  t.equal(transport.sent.length, 1, 'a year forward on the wall clock: no resend, the ack is not late')
  clock.step(-2 * YEAR)
  await ticks(3)
  t.equal(transport.sent.length, 1, 'a year back: no resend either')
  clock.advance(RESEND_MS - 1)
  await ticks(3)
  t.equal(transport.sent.length, 1, 'not before the interval has passed on the monotonic clock')
  clock.advance(2)
  await waitFor(() => transport.sent.length === 2, { what: 'the resend once the interval has passed' })
  t.same(
    transport.sent[1]?.records.map((r) => r.seq),
    seqs,
    'the same records, again',
  )

  sender.onAck(encodeMessage({ nodeId: NODE, epoch: store.outboxEpoch(), seq: seqs[0] }))
  t.equal(store.outboxDepth().records, 0, 'the ack deletes them')
})

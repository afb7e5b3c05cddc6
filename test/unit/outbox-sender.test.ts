// The outbox sender's ordering against a real SQLite outbox. The transport is a double whose
// publishes settle when the test says so: with a real broker the order of the broker's PUBACK
// and the hub's ack cannot be forced, and that order is what these tests are about.
import { join } from 'node:path'
import { pino } from 'pino'
import t from 'tap'
import { OutboxSender } from '../../agent/outbox/outbox-sender.js'
import { AgentStore } from '../../agent/store/agent-store.js'
import { openAgentDatabase } from '../../agent/store/open-agent-database.js'
import type { AgentTransport, OutboundChannel, TransportHandlers } from '../../agent/transport/transport.js'
import { decodeMessage, encodeMessage, OutboxBatch, MAX_BYTES, type NodeEvent } from '../../protocol/index.js'
import { tempDir } from '../support/tmp.js'

const NODE = 'pi-3'
const T0 = 1_750_000_000_000

/** TEST DOUBLE (not a real broker): records publishes and settles each one on demand. */
class ControlledTransport implements AgentTransport {
  readonly kind = 'mqtt'
  connected = true
  readonly sent: { batch: OutboxBatch; settle: () => void; fail: (error: Error) => void }[] = []

  start(_handlers: TransportHandlers): void {}

  publish(channel: OutboundChannel, payload: Buffer): Promise<void> {
    if (channel !== 'outbox') return Promise.resolve()
    return new Promise((resolve, reject) => {
      this.sent.push({ batch: decodeMessage(OutboxBatch, payload, { maxBytes: MAX_BYTES.outbox, what: 'outbox' }), settle: resolve, fail: reject })
    })
  }

  async close(): Promise<void> {}
}

function event(n: number): NodeEvent {
  return { nodeId: NODE, type: 'WorkloadStateChanged', severity: 'info', workload: 'web', message: `transition ${n}`, at: new Date(T0).toISOString() }
}

/** The test object tap hands to a subtest. */
type TapTest = Parameters<Parameters<typeof t.test>[0]>[0]

function setup(t: TapTest): { store: AgentStore; transport: ControlledTransport; sender: OutboxSender } {
  const logger = pino({ level: 'silent' })
  const { db } = openAgentDatabase(join(tempDir(t, 'outbox-sender'), 'agent.db'), logger, { now: () => T0 })
  const store = new AgentStore(db, { now: () => T0 }, { maxRecords: 1000, maxBytes: 1 << 20 })
  const transport = new ControlledTransport()
  const sender = new OutboxSender({ nodeId: NODE, store, transport, logger })
  t.teardown(() => {
    sender.stop()
    store.close()
  })
  return { store, transport, sender }
}

/** An ack as the hub sends it: naming the batch's epoch, if it had one. */
const ack = (seq: number, epoch?: string): Buffer => encodeMessage({ nodeId: NODE, ...(epoch !== undefined ? { epoch } : {}), seq })
const settled = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

t.test('an ack that arrives before the publish settles still lets the next batch go', async (t) => {
  const { store, transport, sender } = setup(t)
  store.enqueue([{ kind: 'event', body: event(1) }])
  sender.kick()
  t.equal(transport.sent.length, 1, 'the first batch is sent')
  const first = transport.sent[0]!
  store.enqueue([{ kind: 'event', body: event(2) }])
  sender.kick()
  t.equal(transport.sent.length, 1, 'one batch in flight at a time')

  // The hub answers before the broker's PUBACK has settled the publish.
  sender.onAck(ack(first.batch.records.at(-1)!.seq, first.batch.epoch))
  await settled()
  t.equal(transport.sent.length, 1, 'nothing new while the publish is unsettled')
  first.settle()
  await settled()
  t.equal(transport.sent.length, 2, 'the second batch goes as soon as the first publish settles')
  t.strictSame(
    transport.sent[1]!.batch.records.map((r) => (r.body as NodeEvent).message),
    ['transition 2'],
  )
})

t.test('the usual order (PUBACK, then ack) sends the next batch on the ack', async (t) => {
  const { store, transport, sender } = setup(t)
  store.enqueue([{ kind: 'event', body: event(1) }])
  sender.kick()
  const first = transport.sent[0]!
  store.enqueue([
    { kind: 'event', body: event(2) },
    { kind: 'event', body: event(3) },
  ])
  first.settle()
  await settled()
  t.equal(transport.sent.length, 1, 'settled but not acknowledged: still in flight')
  sender.onAck(ack(first.batch.records.at(-1)!.seq, first.batch.epoch))
  t.equal(transport.sent.length, 2, 'the ack sends what gathered meanwhile, as one batch')
  t.equal(transport.sent[1]!.batch.records.length, 2)
  t.equal(store.outboxDepth().records, 2, 'the acknowledged record is gone, the rest waits for its ack')
})

t.test('a failed publish does not resend at once; the next kick does', async (t) => {
  const { store, transport, sender } = setup(t)
  store.enqueue([{ kind: 'event', body: event(1) }])
  sender.kick()
  transport.sent[0]!.fail(new Error('broker went away'))
  await settled()
  t.equal(transport.sent.length, 1, 'no hot retry loop from the failure itself')
  sender.kick()
  t.equal(transport.sent.length, 2, 'the retry sends the same records again')
  t.strictSame(
    transport.sent[1]!.batch.records.map((r) => r.seq),
    transport.sent[0]!.batch.records.map((r) => r.seq),
  )
})

t.test("batches carry the database's epoch; an ack for another epoch (or none) deletes nothing", async (t) => {
  const { store, transport, sender } = setup(t)
  store.enqueue([
    { kind: 'event', body: event(1) },
    { kind: 'event', body: event(2) },
  ])
  sender.kick()
  const first = transport.sent[0]!
  const epoch = store.outboxEpoch()
  t.equal(first.batch.epoch, epoch, "the batch names this database's epoch")
  first.settle()
  await settled()
  const last = first.batch.records.at(-1)!.seq
  sender.onAck(ack(last + 1_000, 'an-older-database'))
  sender.onAck(ack(last + 1_000))
  t.equal(store.outboxDepth().records, 2, "acks for another epoch, or the legacy one, leave this epoch's records alone")
  sender.onAck(ack(last, epoch))
  t.equal(store.outboxDepth().records, 0, 'the ack for this epoch deletes them')
})

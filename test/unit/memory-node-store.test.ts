import t from 'tap'
import type { DesiredDocument, NodeEvent, NodeStatus } from '../../protocol/index.js'
import { MemoryNodeStore } from '../../agent/simulator/memory-node-store.js'

const clock = { now: () => 1_700_000_000_000 }
const status = (generation: number): NodeStatus => ({ nodeId: 'n', observedGeneration: generation, workloads: [], at: '2026-01-01T00:00:00.000Z' })
const event = (message: string): NodeEvent => ({ nodeId: 'n', type: 'Note', severity: 'info', message, at: '2026-01-01T00:00:00.000Z' })

t.test('the outbox follows the agent rule: a status supersedes unsent ones, events queue, acks forget', async (t) => {
  const acked: NodeStatus[] = []
  const store = new MemoryNodeStore(clock, { maxRecords: 100, maxBytes: 1_000_000 }, (s) => acked.push(s))
  let appended = 0
  store.onOutboxAppended(() => appended++)
  store.enqueue([{ kind: 'event', body: event('one') }])
  store.record([], [{ kind: 'status', body: status(1) }])
  store.record([], [{ kind: 'status', body: status(2) }])
  t.equal(appended, 3, 'every append is announced')
  const pending = store.pendingOutbox(0, 100, 1_000_000)
  t.same(
    pending.map((row) => row.kind),
    ['event', 'status'],
    'the older status was superseded',
  )
  t.equal((pending[1]?.body as NodeStatus | undefined)?.observedGeneration, 2)
  t.ok(pending[0] && pending[1] && pending[0].seq < pending[1].seq, 'seqs ascend')
  t.ok((pending[0]?.seq ?? 0) >= clock.now(), 'seqs start at the clock, as the agent does')
  t.equal(store.pendingOutbox(0, 1, 1_000_000).length, 1, 'a batch holds at most the limit')
  t.equal(store.pendingOutbox(0, 100, 1).length, 1, 'a batch holds at least one record whatever its bytes')
  t.equal(store.outboxDepth().records, 2)
  t.equal(store.acknowledge(pending[0]?.seq ?? 0), 1, 'an ack forgets the records up to its seq')
  t.same(acked, [], 'no status acknowledged yet')
  t.equal(store.acknowledge(pending[1]?.seq ?? 0), 1)
  t.same(
    acked.map((s) => s.observedGeneration),
    [2],
    'the acknowledged status is announced',
  )
  t.equal(store.outboxDepth().records, 0)
})

t.test('events past the bound are dropped and counted, then reported by a notice', async (t) => {
  const store = new MemoryNodeStore(clock, { maxRecords: 2, maxBytes: 1_000_000 })
  store.enqueue([1, 2, 3].map((i) => ({ kind: 'event' as const, body: event(`e${i}`) })))
  t.equal(store.outboxDepth().records, 2)
  t.equal(store.outboxDepth().droppedEvents, 1)
  store.acknowledge(Number.MAX_SAFE_INTEGER)
  store.enqueue([{ kind: 'event', body: event('e4') }])
  t.same(
    store.pendingOutbox(0, 10, 1_000_000).map((row) => (row.body as NodeEvent).type),
    ['EventsDropped', 'Note'],
    'the notice goes ahead of the event that found room',
  )
})

t.test('the desired document and the epoch', async (t) => {
  const store = new MemoryNodeStore(clock, { maxRecords: 10, maxBytes: 10_000 })
  t.equal(store.desired(), null)
  const document = { generation: 3, workloads: [] } as unknown as DesiredDocument
  store.acceptDesired(document, event('accepted'))
  t.equal(store.desired()?.generation, 3)
  t.equal(store.outboxDepth().records, 1, 'the accepted event goes with it')
  t.match(store.outboxEpoch(), /^[0-9a-f]{32}$/)
  t.not(store.outboxEpoch(), new MemoryNodeStore(clock, { maxRecords: 1, maxBytes: 1 }).outboxEpoch(), 'each store has its own epoch')
})

// The outbox's compaction rule (placeInOutbox) as a pure function, over every small case; then the
// store's SQL against the rule: seeded random runs of enqueues and acks on a real SQLite file give
// exactly the records, order, sizes and dropped count that folding the rule over a plain list gives.
import { join } from 'node:path'
import { pino } from 'pino'
import t from 'tap'
import { dropNotice, placeInOutbox, type OutboxKind, type OutboxLimits, type OutboxOccupancy, type OutboxPlacement } from '../../agent/outbox/outbox-policy.js'
import { AgentStore, type OutboxEntry } from '../../agent/store/agent-store.js'
import { openAgentDatabase } from '../../agent/store/open-agent-database.js'
import type { NodeEvent, NodeStatus } from '../../protocol/index.js'
import { prng } from '../support/prng.js'
import { tempDir } from '../support/tmp.js'

const NODE = 'pi-17'
const T0 = 1_750_000_000_000
const LIMITS: OutboxLimits = { maxRecords: 3, maxBytes: 300 }

const place = (kind: OutboxKind, bytes: number, occupancy: OutboxOccupancy, dropped: number, noticeBytes = 50, limits = LIMITS): OutboxPlacement =>
  placeInOutbox(kind, bytes, { occupancy: () => occupancy, dropped }, limits, noticeBytes)

t.test('a status supersedes every unsent status and always fits, even over the bound', async (t) => {
  t.strictSame(place('status', 10, { records: 0, bytes: 0 }, 0), { supersede: 'status', notice: false, append: true, dropped: 0 })
  t.strictSame(
    place('status', 10_000, { records: 99, bytes: 99_999 }, 0),
    { supersede: 'status', notice: false, append: true, dropped: 0 },
    'far over both bounds',
  )
  t.strictSame(
    place('status', 10, { records: 3, bytes: 300 }, 4),
    { supersede: 'status', notice: false, append: true, dropped: 4 },
    'the dropped count waits for an event',
  )
  let read = 0
  placeInOutbox('status', 10, { occupancy: () => (read++, { records: 0, bytes: 0 }), dropped: 0 }, LIMITS, 0)
  t.equal(read, 0, 'a status does not make the store count the outbox')
})

t.test('an event is appended while it fits and supersedes nothing', async (t) => {
  t.strictSame(place('event', 100, { records: 0, bytes: 0 }, 0), { supersede: null, notice: false, append: true, dropped: 0 })
  t.strictSame(place('event', 100, { records: 2, bytes: 200 }, 0), { supersede: null, notice: false, append: true, dropped: 0 }, 'exactly at both bounds')
})

t.test('an event past either bound is dropped and counted', async (t) => {
  t.strictSame(place('event', 1, { records: 3, bytes: 0 }, 0), { supersede: null, notice: false, append: false, dropped: 1 }, 'past maxRecords')
  t.strictSame(place('event', 101, { records: 2, bytes: 200 }, 0), { supersede: null, notice: false, append: false, dropped: 1 }, 'a byte past maxBytes')
  t.strictSame(place('event', 301, { records: 0, bytes: 0 }, 0), { supersede: null, notice: false, append: false, dropped: 1 }, 'larger than the whole bound')
})

t.test('after drops, the notice goes first, and only when it and the next event both fit', async (t) => {
  t.strictSame(place('event', 100, { records: 0, bytes: 0 }, 2), { supersede: null, notice: true, append: true, dropped: 0 })
  t.strictSame(place('event', 100, { records: 1, bytes: 150 }, 2), { supersede: null, notice: true, append: true, dropped: 0 }, 'exactly room for both')
  t.strictSame(
    place('event', 100, { records: 2, bytes: 0 }, 2),
    { supersede: null, notice: false, append: false, dropped: 3 },
    'room for one record: the event is dropped too',
  )
  t.strictSame(place('event', 100, { records: 1, bytes: 151 }, 2), { supersede: null, notice: false, append: false, dropped: 3 }, 'a byte short of both')
})

t.test('every small case: the bound holds, nothing is lost uncounted, and a notice always carries its event', async (t) => {
  let cases = 0
  for (const records of [0, 1, 2, 3, 4]) {
    for (const used of [0, 100, 150, 200, 250, 300, 301]) {
      for (const bytes of [0, 1, 50, 100, 150, 301]) {
        for (const noticeBytes of [0, 50, 120]) {
          for (const dropped of [0, 1, 7]) {
            cases++
            const occupancy = { records, bytes: used }
            const event = place('event', bytes, occupancy, dropped, noticeBytes)
            const added = { records: (event.notice ? 1 : 0) + (event.append ? 1 : 0), bytes: (event.notice ? noticeBytes : 0) + (event.append ? bytes : 0) }
            const withinBefore = records <= LIMITS.maxRecords && used <= LIMITS.maxBytes
            const ok =
              event.supersede === null &&
              (!event.notice || (dropped > 0 && event.append)) &&
              (event.append ? event.dropped === 0 : event.dropped === dropped + 1) &&
              (dropped === 0 || event.append === event.notice) &&
              (!withinBefore || (records + added.records <= LIMITS.maxRecords && used + added.bytes <= LIMITS.maxBytes)) &&
              event.append === (records + 1 + (dropped > 0 ? 1 : 0) <= LIMITS.maxRecords && used + bytes + (dropped > 0 ? noticeBytes : 0) <= LIMITS.maxBytes)
            if (!ok) t.fail(`event ${JSON.stringify({ occupancy, bytes, noticeBytes, dropped, event })}`)
            const status = place('status', bytes, occupancy, dropped, noticeBytes)
            if (status.supersede !== 'status' || !status.append || status.notice || status.dropped !== dropped)
              t.fail(`status ${JSON.stringify({ occupancy, dropped, status })}`)
          }
        }
      }
    }
  }
  t.pass(`${cases} cases`)
})

t.test('dropNotice says how many and is a warning', async (t) => {
  t.strictSame(dropNotice(NODE, 3, '2030-01-01T00:00:00.000Z'), {
    nodeId: NODE,
    type: 'EventsDropped',
    severity: 'warning',
    message: '3 event(s) were dropped because the outbox reached its bound while the hub was unreachable',
    at: '2030-01-01T00:00:00.000Z',
    data: { count: 3 },
  })
})

// ---------------------------------------------------------------------------------------------
// The SQL against the rule

interface ModelRow {
  readonly seq: number
  readonly kind: OutboxKind
  readonly text: string
}

/** The outbox as a plain list, changed only by folding placeInOutbox over what arrives. */
class OutboxModel {
  rows: ModelRow[] = []
  dropped = 0
  notices = 0
  /** Like the store's: the clock (ms) at the first append. */
  private nextSeq: number | null = null

  constructor(private readonly limits: OutboxLimits) {}

  enqueue(entries: readonly OutboxEntry[], now: number): void {
    const at = new Date(now).toISOString()
    let seq = this.nextSeq ?? Math.max(1, now)
    for (const entry of entries) {
      const text = JSON.stringify(entry.body)
      const notice = this.dropped > 0 ? JSON.stringify(dropNotice(entry.body.nodeId, this.dropped, at)) : ''
      const occupancy = (): OutboxOccupancy => ({ records: this.rows.length, bytes: this.rows.reduce((sum, r) => sum + Buffer.byteLength(r.text), 0) })
      const p = placeInOutbox(entry.kind, Buffer.byteLength(text), { occupancy, dropped: this.dropped }, this.limits, Buffer.byteLength(notice))
      if (p.supersede !== null) this.rows = this.rows.filter((r) => r.kind !== p.supersede)
      if (p.notice) this.rows.push({ seq: seq++, kind: 'event', text: notice })
      if (p.notice) this.notices++
      if (p.append) this.rows.push({ seq: seq++, kind: entry.kind, text })
      this.dropped = p.dropped
    }
    this.nextSeq = seq
  }

  acknowledge(seq: number): void {
    this.rows = this.rows.filter((r) => r.seq > seq)
  }
}

function randomEntry(rand: () => number, n: number, at: string): OutboxEntry {
  if (rand() < 0.3) {
    const status: NodeStatus = { nodeId: NODE, observedGeneration: n, workloads: [], at }
    return { kind: 'status', body: status }
  }
  const event: NodeEvent = { nodeId: NODE, type: 'WorkloadStateChanged', severity: 'info', message: `e${n} ${'x'.repeat(Math.floor(rand() * 120))}`, at }
  return { kind: 'event', body: event }
}

for (const seed of [1, 2, 3, 17, 2024]) {
  t.test(`seed ${seed}: the store's SQL keeps exactly what the rule keeps`, async (t) => {
    const rand = prng(seed)
    const limits: OutboxLimits = { maxRecords: 2 + Math.floor(rand() * 8), maxBytes: 400 + Math.floor(rand() * 1200) }
    let now = T0
    const clock = { now: () => now }
    const { db } = openAgentDatabase(join(tempDir(t, 'outbox-compaction'), 'agent.db'), pino({ level: 'silent' }), clock)
    t.teardown(() => {
      if (db.open) db.close()
    })
    const store = new AgentStore(db, clock, limits)
    const model = new OutboxModel(limits)
    let n = 0
    for (let step = 0; step < 300; step++) {
      now += 1_000
      const at = new Date(now).toISOString()
      if (rand() < 0.2) {
        const pending = store.pendingOutbox(0, 1_000_000, Number.MAX_SAFE_INTEGER)
        const upTo = pending[Math.floor(rand() * pending.length)]?.seq ?? 0
        store.acknowledge(upTo)
        model.acknowledge(upTo)
      } else {
        const entries = Array.from({ length: 1 + Math.floor(rand() * 4) }, () => randomEntry(rand, n++, at))
        store.enqueue(entries)
        model.enqueue(entries, now)
      }
      const stored = store
        .pendingOutbox(0, 1_000_000, Number.MAX_SAFE_INTEGER)
        .map((r) => ({ seq: r.seq, kind: r.kind, text: JSON.stringify(r.body), bytes: r.bytes }))
      const expected = model.rows.map((r) => ({ ...r, bytes: Buffer.byteLength(r.text) }))
      if (JSON.stringify(stored) !== JSON.stringify(expected) || store.outboxDepth().droppedEvents !== model.dropped) {
        t.strictSame({ stored, dropped: store.outboxDepth().droppedEvents }, { stored: expected, dropped: model.dropped }, `step ${step} differs`)
        return
      }
    }
    t.ok(model.notices > 0, `the run reached the bound and reported drops (${model.notices} notices)`)
    t.pass(`300 steps agree (limits ${limits.maxRecords} records, ${limits.maxBytes} bytes)`)
  })
}

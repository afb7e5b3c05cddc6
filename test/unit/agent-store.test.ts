import Database from 'better-sqlite3'
import { existsSync, openSync, readFileSync, readdirSync, statSync, truncateSync, writeFileSync, writeSync, closeSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { pino, type Logger } from 'pino'
import t from 'tap'
import { AgentStore, type OutboxEntry, type WorkloadRecord } from '../../agent/store/agent-store.js'
import { MIGRATIONS } from '../../agent/store/migrations.js'
import { migrate, schemaVersion } from '../../common/sqlite/migrate.js'
import { openAgentDatabase } from '../../agent/store/open-agent-database.js'
import type { OutboxLimits } from '../../agent/outbox/outbox-policy.js'
import type { DesiredDocument, NodeEvent, NodeStatus } from '../../protocol/index.js'
import { tempDir } from '../support/tmp.js'

/** The test object tap hands to a subtest. */
type TapTest = Parameters<Parameters<typeof t.test>[0]>[0]

const NODE = 'pi-17'
const T0 = 1_750_000_000_000
const ROOMY: OutboxLimits = { maxRecords: 10_000, maxBytes: 64 * 1024 * 1024 }

/** A clock the test moves by hand. */
function manualClock(start = T0): { now(): number; advance(ms: number): void } {
  let now = start
  return { now: () => now, advance: (ms) => void (now += ms) }
}

/** A pino logger whose lines the test can read. */
function capturingLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = []
  const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) })
  return { logger, lines }
}

interface Opened {
  readonly store: AgentStore
  readonly db: Database.Database
  readonly path: string
  readonly clock: ReturnType<typeof manualClock>
  readonly movedAside: string | null
  readonly lines: Record<string, unknown>[]
}

function openStore(t: TapTest, options: { dir?: string; clock?: ReturnType<typeof manualClock>; limits?: OutboxLimits } = {}): Opened {
  const dir = options.dir ?? tempDir(t, 'agent-store')
  const path = join(dir, 'agent.db')
  const clock = options.clock ?? manualClock()
  const { logger, lines } = capturingLogger()
  const { db, movedAside } = openAgentDatabase(path, logger, { now: () => clock.now() })
  t.teardown(() => {
    if (db.open) db.close()
  })
  return { store: new AgentStore(db, clock, options.limits ?? ROOMY), db, path, clock, movedAside, lines }
}

function status(generation: number): NodeStatus {
  return { nodeId: NODE, observedGeneration: generation, workloads: [], at: new Date(T0).toISOString() }
}

/** Events of one exact JSON size, so byte bounds can be tested precisely. */
function event(n: number, overrides: Partial<NodeEvent> = {}): NodeEvent {
  return {
    nodeId: NODE,
    type: 'WorkloadStateChanged',
    severity: 'info',
    workload: 'ingest',
    message: `transition ${String(n).padStart(6, '0')}`,
    at: new Date(T0).toISOString(),
    ...overrides,
  }
}
const EVENT_BYTES = Buffer.byteLength(JSON.stringify(event(1)))

function workloadRecord(name: string, overrides: Partial<WorkloadRecord> = {}): WorkloadRecord {
  return {
    name,
    deployment: name,
    revision: 1,
    configHash: '0123456789abcdef',
    containerId: `${name}-c1`,
    state: 'running',
    health: 'none',
    restarts: 0,
    exitCode: null,
    lastError: null,
    recentCrashes: [],
    backoffUntil: 0,
    since: new Date(T0).toISOString(),
    ...overrides,
  }
}

function desiredDocument(generation: number): DesiredDocument {
  return {
    apiVersion: 'shoal/v1',
    kind: 'NodeDesiredState',
    nodeId: NODE,
    generation,
    issuedAt: new Date(T0).toISOString(),
    workloads: [],
    keyId: '0123456789abcdef',
    signature: 'c2lnbmF0dXJl',
  }
}

function tableNames(db: Database.Database): string[] {
  return (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[]).map((r) => r.name)
}

function allPending(store: AgentStore): ReturnType<AgentStore['pendingOutbox']> {
  return store.pendingOutbox(0, 1_000_000, Number.MAX_SAFE_INTEGER)
}

function isSorted(values: readonly number[]): boolean {
  return values.every((v, i) => i === 0 || v > (values[i - 1] as number))
}

// ---------------------------------------------------------------------------------------------
// Schema and migrations

t.test('migrations run from an empty file to the latest version, and again on reopen do nothing', async (t) => {
  const dir = tempDir(t, 'migrate')
  const path = join(dir, 'plain.db')
  const db = new Database(path)
  t.equal(schemaVersion(db), 0, 'a new file is at version 0')
  t.strictSame(migrate(db, MIGRATIONS), { from: 0, to: MIGRATIONS.length })
  t.equal(schemaVersion(db), MIGRATIONS.length)
  t.strictSame(tableNames(db), [
    'cron_fire_state',
    'cron_run',
    'desired',
    'identity',
    'local_revert',
    'outbox',
    'outbox_epoch',
    'outbox_meta',
    'reconnect_hint',
    'revert_window',
    'sqlite_sequence',
    'traffic',
    'workload_state',
  ])
  t.strictSame(migrate(db, MIGRATIONS), { from: MIGRATIONS.length, to: MIGRATIONS.length }, 'a second run is a no-op')
  db.close()

  const first = openStore(t, { dir })
  first.store.saveIdentity({ nodeId: NODE, hubPublicKey: 'key', brokerUrl: null, username: null, password: null, enrolledAt: null })
  first.db.close()
  const second = openStore(t, { dir })
  t.equal(second.movedAside, null)
  t.equal(second.db.pragma('user_version', { simple: true }), MIGRATIONS.length, 'user_version unchanged by the reopen')
  t.equal(second.store.identity()?.hubPublicKey, 'key', 'data survives the reopen')
})

t.test('a migration that fails midway leaves the schema and version as they were', async (t) => {
  const db = new Database(join(tempDir(t, 'migrate'), 'steps.db'))
  t.teardown(() => db.close())
  const steps = [
    { name: 'one', sql: 'CREATE TABLE one (x INTEGER);' },
    { name: 'two', sql: 'CREATE TABLE two (x INTEGER); INSERT INTO one VALUES (42); CREATE TABLE broken (;' },
  ]
  t.throws(() => migrate(db, steps), /syntax error/)
  t.equal(schemaVersion(db), 1, 'step one committed, step two did not')
  t.strictSame(tableNames(db), ['one'], 'the table step two created first was rolled back')
  t.equal((db.prepare('SELECT COUNT(*) AS n FROM one').get() as { n: number }).n, 0, 'and so was its insert')

  const fixed = [steps[0]!, { name: 'two', sql: 'CREATE TABLE two (x INTEGER);' }]
  t.strictSame(migrate(db, fixed), { from: 1, to: 2 }, 'a corrected step runs from where it stopped')
  t.strictSame(tableNames(db), ['one', 'two'])
})

t.test('a failing migration on a healthy file is thrown, not mistaken for corruption', async (t) => {
  const dir = tempDir(t, 'migrate')
  const first = openStore(t, { dir })
  first.store.saveIdentity({ nodeId: NODE, hubPublicKey: 'pinned', brokerUrl: null, username: null, password: null, enrolledAt: null })
  first.db.close()
  const broken = [...MIGRATIONS, { name: 'bad', sql: 'ALTER TABLE nowhere ADD COLUMN x;' }]
  t.throws(() => openAgentDatabase(first.path, pino({ level: 'silent' }), { migrations: broken }), /no such table: nowhere/)
  t.strictSame(
    readdirSync(dir).filter((f) => f.includes('corrupt')),
    [],
    'nothing was moved aside',
  )
  const again = openStore(t, { dir })
  t.equal(again.store.identity()?.hubPublicKey, 'pinned', 'the identity is still there')
})

t.test('a database from a newer agent is refused, and kept where it is', async (t) => {
  const dir = tempDir(t, 'migrate')
  const first = openStore(t, { dir })
  first.db.pragma(`user_version = ${MIGRATIONS.length + 3}`)
  first.db.close()
  const before = readFileSync(first.path)
  t.throws(() => openAgentDatabase(first.path, pino({ level: 'silent' })), /newer than this agent knows .*upgrade the agent/)
  t.strictSame(
    readdirSync(dir).filter((f) => f.includes('corrupt')),
    [],
    'nothing was moved aside',
  )
  t.ok(readFileSync(first.path).equals(before), 'the file is untouched')
})

t.test('opens in WAL mode with synchronous NORMAL between writes', async (t) => {
  const { db, store } = openStore(t)
  t.equal(db.pragma('journal_mode', { simple: true }), 'wal')
  t.equal(db.pragma('synchronous', { simple: true }), 1, 'NORMAL')
  t.equal(db.pragma('foreign_keys', { simple: true }), 1)
  store.enqueue([{ kind: 'event', body: event(1) }])
  t.equal(db.pragma('synchronous', { simple: true }), 1, 'back to NORMAL after a durable write')
})

t.test('writes a peer relies on commit with synchronous FULL; rebuildable bookkeeping with NORMAL', async (t) => {
  const { db, clock } = openStore(t)
  const seen: { what: string; synchronous: unknown }[] = []
  let current = ''
  // A view of the connection that notes the synchronous level inside every transaction.
  const spied = new Proxy(db, {
    get(target, property) {
      if (property === 'transaction') {
        return (fn: (...args: unknown[]) => unknown) =>
          target.transaction((...args: unknown[]) => {
            seen.push({ what: current, synchronous: target.pragma('synchronous', { simple: true }) })
            return fn(...args)
          })
      }
      const value = Reflect.get(target, property, target) as unknown
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value
    },
  })
  const store = new AgentStore(spied, clock, ROOMY)
  const steps: [string, () => unknown][] = [
    ['saveIdentity', () => store.saveIdentity({ nodeId: NODE, hubPublicKey: null, brokerUrl: null, username: null, password: null, enrolledAt: null })],
    ['acceptDesired', () => store.acceptDesired(desiredDocument(1), event(1, { type: 'DesiredAccepted' }))],
    ['enqueue', () => store.enqueue([{ kind: 'status', body: status(1) }])],
    ['record with outbox', () => store.record({ upsert: [workloadRecord('a')], outbox: [{ kind: 'event', body: event(2) }] })],
    ['record without outbox', () => store.record({ upsert: [workloadRecord('b')] })],
    ['acknowledge', () => store.acknowledge(Number.MAX_SAFE_INTEGER)],
  ]
  for (const [what, run] of steps) {
    current = what
    run()
    t.equal(db.pragma('synchronous', { simple: true }), 1, `${what}: NORMAL again afterwards`)
  }
  t.strictSame(seen, [
    { what: 'saveIdentity', synchronous: 2 },
    { what: 'acceptDesired', synchronous: 2 },
    { what: 'enqueue', synchronous: 2 },
    { what: 'record with outbox', synchronous: 2 },
    { what: 'record without outbox', synchronous: 1 },
    { what: 'acknowledge', synchronous: 1 },
  ])

  current = 'failing record'
  const bad = { ...event(3), data: { big: 10n } } as unknown as NodeEvent
  t.throws(() => store.record({ outbox: [{ kind: 'event', body: bad }] }), /BigInt/)
  t.equal(db.pragma('synchronous', { simple: true }), 1, 'NORMAL restored even when the durable write throws')
})

// ---------------------------------------------------------------------------------------------
// Identity, desired document, workload rows

t.test('identity round trips, and is replaced as a whole', async (t) => {
  const { store, db, path } = openStore(t)
  t.equal(store.identity(), null, 'none before enrolment')
  const enrolled = {
    nodeId: NODE,
    hubPublicKey: 'MCowBQYDK2VwAyEA',
    brokerUrl: 'mqtts://hub.example:8883',
    username: 'node-pi-17',
    password: 's3cret',
    enrolledAt: '2025-06-01T10:00:00.000Z',
  }
  store.saveIdentity(enrolled)
  t.strictSame(store.identity(), enrolled)
  const rekeyed = { nodeId: NODE, hubPublicKey: 'other', brokerUrl: null, username: null, password: null, enrolledAt: null }
  store.saveIdentity(rekeyed)
  t.strictSame(store.identity(), rekeyed)
  db.close()
  const reopened = new AgentStore(openAgentDatabase(path, pino({ level: 'silent' })).db, manualClock(), ROOMY)
  t.teardown(() => reopened.close())
  t.strictSame(reopened.identity(), rekeyed, 'durable across a reopen')
})

t.test('the accepted desired document round trips with its event in the same write', async (t) => {
  const { store, clock } = openStore(t)
  t.equal(store.desired(), null)
  clock.advance(5_000)
  const accepted = event(1, { type: 'DesiredAccepted', data: { generation: 3 } })
  store.acceptDesired(desiredDocument(3), accepted)
  t.strictSame(store.desired(), { generation: 3, document: desiredDocument(3), acceptedAt: new Date(T0 + 5_000).toISOString() })
  t.strictSame(
    allPending(store).map((r) => r.body),
    [accepted],
  )
  store.acceptDesired(desiredDocument(4), accepted)
  t.equal(store.desired()?.generation, 4, 'a newer document replaces the stored one')
})

t.test('workload rows round trip, including crash times and nulls, and can be removed', async (t) => {
  const { store } = openStore(t)
  const a = workloadRecord('a', {
    recentCrashes: [T0 - 2_000, T0 - 1_000],
    exitCode: 137,
    lastError: 'OOM',
    backoffUntil: T0 + 20_000,
    state: 'crash-loop',
    health: 'unhealthy',
    restarts: 4,
  })
  const b = workloadRecord('b', { containerId: null, state: 'pending' })
  store.record({ upsert: [b, a] })
  t.strictSame(store.workloads(), [a, b], 'ordered by name')
  t.strictSame(store.workload('a'), a)
  t.equal(store.workload('missing'), null)
  store.record({ upsert: [{ ...a, state: 'running', recentCrashes: [] }], remove: ['b'] })
  t.strictSame(store.workloads(), [{ ...a, state: 'running', recentCrashes: [] }])
})

t.test('record() stores workload rows and outbox records together or not at all', async (t) => {
  const { store } = openStore(t)
  store.record({
    upsert: [workloadRecord('a')],
    outbox: [
      { kind: 'event', body: event(1) },
      { kind: 'status', body: status(1) },
    ],
  })
  t.strictSame(
    store.workloads().map((w) => w.name),
    ['a'],
  )
  const before = allPending(store)
  t.equal(before.length, 2)
  const depthBefore = store.outboxDepth()

  t.throws(
    () =>
      store.record({
        upsert: [workloadRecord('b'), { ...workloadRecord('c'), deployment: null as unknown as string }],
        outbox: [{ kind: 'event', body: event(2) }],
      }),
    /NOT NULL constraint failed: workload_state.deployment/,
    'a constraint violation in the second row',
  )
  const badBody = { ...event(4), data: { huge: 1n } } as unknown as NodeEvent
  t.throws(
    () =>
      store.record({
        upsert: [workloadRecord('b')],
        remove: ['a'],
        outbox: [
          { kind: 'event', body: event(3) },
          { kind: 'status', body: status(2) },
          { kind: 'event', body: badBody },
        ],
      }),
    /BigInt/,
    'an exception after rows, an event and a compacting status were written',
  )
  t.strictSame(
    store.workloads().map((w) => w.name),
    ['a'],
    'no row added, none removed',
  )
  t.strictSame(allPending(store), before, 'the outbox is exactly as it was, compacted status included')
  t.strictSame(store.outboxDepth(), depthBefore)

  store.enqueue([{ kind: 'event', body: event(5) }])
  const last = allPending(store).at(-1)
  t.equal(last?.seq, (before.at(-1)?.seq ?? 0) + 1, 'no sequence number was consumed by the failed writes')
})

t.test('outbox listeners hear of every committed append, and of nothing else', async (t) => {
  const { store } = openStore(t)
  let heard = 0
  store.onOutboxAppended(() => {
    heard++
    t.equal(allPending(store).length > 0, true, 'the appended record is visible when the listener runs')
  })
  store.record({ upsert: [workloadRecord('a')] })
  t.equal(heard, 0, 'bookkeeping without a report')
  store.record({
    upsert: [workloadRecord('a', { state: 'exited' })],
    outbox: [
      { kind: 'event', body: event(1) },
      { kind: 'status', body: status(1) },
    ],
  })
  t.equal(heard, 1, 'one transition with two records: one notification')
  store.enqueue([{ kind: 'event', body: event(2) }])
  store.acceptDesired(desiredDocument(2), event(3))
  t.equal(heard, 3, 'enqueue and an accepted document')
  const badBody = { ...event(4), data: { huge: 1n } } as unknown as NodeEvent
  t.throws(
    () =>
      store.enqueue([
        { kind: 'event', body: event(5) },
        { kind: 'event', body: badBody },
      ]),
    /BigInt/,
  )
  t.equal(heard, 3, 'a rolled-back append is not announced')
  store.acknowledge(allPending(store).at(-1)?.seq ?? 0)
  store.enqueue([])
  t.equal(heard, 3, 'an ack and an empty enqueue append nothing')
})

// ---------------------------------------------------------------------------------------------
// Outbox

t.test('a fresh database starts its sequence at the clock, in ms', async (t) => {
  const { store } = openStore(t, { clock: manualClock(1_750_000_123_456) })
  store.enqueue([
    { kind: 'event', body: event(1) },
    { kind: 'event', body: event(2) },
  ])
  t.strictSame(
    allPending(store).map((r) => r.seq),
    [1_750_000_123_456, 1_750_000_123_457],
  )

  const epoch = openStore(t, { clock: manualClock(0) })
  epoch.store.enqueue([{ kind: 'event', body: event(1) }])
  t.equal(allPending(epoch.store)[0]?.seq, 1, 'a clock at the epoch still starts at 1')
})

t.test('sequence numbers strictly increase and are never reused after acknowledge, even across a reopen', async (t) => {
  const dir = tempDir(t, 'seq')
  const clock = manualClock()
  const first = openStore(t, { dir, clock })
  const seqs: number[] = []
  for (let i = 0; i < 5; i++) {
    first.store.enqueue([{ kind: 'event', body: event(i) }])
    seqs.push(
      ...allPending(first.store)
        .map((r) => r.seq)
        .filter((s) => !seqs.includes(s)),
    )
  }
  first.store.acknowledge(seqs.at(-1)!)
  t.equal(first.store.outboxDepth().records, 0)
  first.store.enqueue([{ kind: 'event', body: event(9) }])
  const afterAck = allPending(first.store)[0]!.seq
  t.ok(afterAck > seqs.at(-1)!, 'the next seq continues above the acknowledged ones')
  seqs.push(afterAck)
  first.db.close()

  clock.advance(-60_000) // even a clock that went backwards does not rewind the sequence
  const second = openStore(t, { dir, clock })
  second.store.enqueue([
    { kind: 'status', body: status(1) },
    { kind: 'event', body: event(10) },
  ])
  seqs.push(
    ...allPending(second.store)
      .map((r) => r.seq)
      .filter((s) => !seqs.includes(s)),
  )
  t.ok(isSorted(seqs), `strictly increasing: ${seqs.join(', ')}`)
  t.equal(new Set(seqs).size, seqs.length, 'no seq used twice')
})

t.test('status compaction: only the newest unsent status remains, events are kept', async (t) => {
  const { store } = openStore(t)
  store.enqueue([{ kind: 'status', body: status(1) }])
  store.enqueue([{ kind: 'event', body: event(1) }])
  store.enqueue([
    { kind: 'status', body: status(2) },
    { kind: 'event', body: event(2) },
    { kind: 'status', body: status(3) },
  ])
  const pending = allPending(store)
  t.strictSame(
    pending.map((r) => [r.kind, r.kind === 'status' ? (r.body as NodeStatus).observedGeneration : (r.body as NodeEvent).message]),
    [
      ['event', 'transition 000001'],
      ['event', 'transition 000002'],
      ['status', 3],
    ],
  )
  t.ok(isSorted(pending.map((r) => r.seq)))
  t.equal(pending[2]!.bytes, Buffer.byteLength(JSON.stringify(status(3))))
  t.equal(store.outboxDepth().droppedEvents, 0, 'superseded status is not counted as dropped')
})

t.test('events past maxRecords are dropped and counted; the count is reported once there is room', async (t) => {
  const { store, clock } = openStore(t, { limits: { maxRecords: 4, maxBytes: 1_000_000 } })
  for (let i = 1; i <= 6; i++) store.enqueue([{ kind: 'event', body: event(i) }])
  t.strictSame(store.outboxDepth(), { records: 4, bytes: 4 * EVENT_BYTES, droppedEvents: 2 })
  t.strictSame(
    allPending(store).map((r) => (r.body as NodeEvent).message),
    ['transition 000001', 'transition 000002', 'transition 000003', 'transition 000004'],
    'the oldest are kept',
  )

  store.enqueue([{ kind: 'status', body: status(1) }])
  t.equal(store.outboxDepth().records, 5, 'status always fits, even over the bound')
  t.equal(store.outboxDepth().droppedEvents, 2)

  store.acknowledge(allPending(store).at(-1)!.seq)
  clock.advance(1_000)
  store.enqueue([{ kind: 'event', body: event(7, { nodeId: 'pi-17' }) }])
  const [notice, next, ...rest] = allPending(store)
  t.equal(rest.length, 0)
  t.strictSame(notice?.body, {
    nodeId: 'pi-17',
    type: 'EventsDropped',
    severity: 'warning',
    message: '2 event(s) were dropped because the outbox reached its bound while the hub was unreachable',
    at: new Date(T0 + 1_000).toISOString(),
    data: { count: 2 },
  })
  t.equal((next!.body as NodeEvent).message, 'transition 000007', 'the event that found room follows its notice')
  t.ok(notice!.seq < next!.seq)
  t.equal(store.outboxDepth().droppedEvents, 0, 'the counter is reset')

  store.enqueue([{ kind: 'event', body: event(8) }])
  t.equal(allPending(store).filter((r) => (r.body as NodeEvent).type === 'EventsDropped').length, 1, 'the notice is sent once')
})

t.test('no notice until there is room for both it and the next event; drops keep counting meanwhile', async (t) => {
  const { store } = openStore(t, { limits: { maxRecords: 3, maxBytes: 1_000_000 } })
  store.enqueue([1, 2, 3, 4].map((i): OutboxEntry => ({ kind: 'event', body: event(i) })))
  t.equal(store.outboxDepth().droppedEvents, 1, 'one call with many entries is bounded the same way')
  store.acknowledge(allPending(store)[0]!.seq) // room for one record, not two
  store.enqueue([{ kind: 'event', body: event(5) }])
  t.strictSame(store.outboxDepth(), { records: 2, bytes: 2 * EVENT_BYTES, droppedEvents: 2 }, 'event 5 dropped too: a notice must not be squeezed out')
  store.acknowledge(allPending(store).at(-1)!.seq)
  store.enqueue([{ kind: 'event', body: event(6) }])
  const pending = allPending(store)
  t.strictSame(
    pending.map((r) => (r.body as NodeEvent).type),
    ['EventsDropped', 'WorkloadStateChanged'],
  )
  t.strictSame((pending[0]!.body as NodeEvent).data, { count: 2 })
})

t.test('events past maxBytes are dropped and counted the same way', async (t) => {
  const { store } = openStore(t, { limits: { maxRecords: 1_000, maxBytes: 3 * EVENT_BYTES + Math.floor(EVENT_BYTES / 2) } })
  for (let i = 1; i <= 5; i++) store.enqueue([{ kind: 'event', body: event(i) }])
  t.strictSame(store.outboxDepth(), { records: 3, bytes: 3 * EVENT_BYTES, droppedEvents: 2 })
  const huge = event(99, { message: 'x'.repeat(4 * EVENT_BYTES) })
  store.acknowledge(Number.MAX_SAFE_INTEGER)
  store.enqueue([{ kind: 'event', body: huge }])
  t.equal(store.outboxDepth().droppedEvents, 3, 'an event larger than the whole bound can never fit and is counted')
  store.enqueue([{ kind: 'event', body: event(6) }])
  const pending = allPending(store)
  t.strictSame((pending[0]!.body as NodeEvent).data, { count: 3 })
  t.ok(store.outboxDepth().bytes <= 3 * EVENT_BYTES + Math.floor(EVENT_BYTES / 2), 'the notice itself respects the byte bound')
})

t.test('pendingOutbox returns the oldest records after a seq, within a count and a byte budget, at least one', async (t) => {
  const { store } = openStore(t)
  store.enqueue([1, 2, 3, 4, 5].map((i): OutboxEntry => ({ kind: 'event', body: event(i) })))
  const seqs = allPending(store).map((r) => r.seq)
  t.equal(seqs.length, 5)
  t.strictSame(
    store.pendingOutbox(0, 3, Number.MAX_SAFE_INTEGER).map((r) => r.seq),
    seqs.slice(0, 3),
    'count limit',
  )
  t.strictSame(
    store.pendingOutbox(0, 10, 2 * EVENT_BYTES).map((r) => r.seq),
    seqs.slice(0, 2),
    'byte budget that fits two exactly',
  )
  t.strictSame(
    store.pendingOutbox(0, 10, 2 * EVENT_BYTES + 1).map((r) => r.seq),
    seqs.slice(0, 2),
    'a byte short of three',
  )
  t.strictSame(
    store.pendingOutbox(0, 10, 1).map((r) => r.seq),
    seqs.slice(0, 1),
    'a budget below one record still yields one',
  )
  t.strictSame(
    store.pendingOutbox(seqs[2]!, 10, Number.MAX_SAFE_INTEGER).map((r) => r.seq),
    seqs.slice(3),
    'after a seq',
  )
  t.strictSame(store.pendingOutbox(seqs[4]!, 10, Number.MAX_SAFE_INTEGER), [], 'nothing after the last')
  const [first] = store.pendingOutbox(0, 1, 1)
  t.strictSame(first, { seq: seqs[0], kind: 'event', body: event(1), bytes: EVENT_BYTES }, 'rows carry the parsed body and its size')
})

t.test('acknowledge deletes every record up to and including the seq, and nothing after', async (t) => {
  const { store } = openStore(t)
  store.enqueue([1, 2, 3, 4, 5].map((i): OutboxEntry => ({ kind: 'event', body: event(i) })))
  const seqs = allPending(store).map((r) => r.seq)
  t.equal(store.acknowledge(seqs[0]! - 1), 0, 'an ack below everything deletes nothing')
  t.equal(store.acknowledge(seqs[2]!), 3)
  t.strictSame(
    allPending(store).map((r) => r.seq),
    seqs.slice(3),
  )
  t.equal(store.acknowledge(seqs[2]!), 0, 'a repeated ack is harmless')
  t.strictSame(store.outboxDepth(), { records: 2, bytes: 2 * EVENT_BYTES, droppedEvents: 0 })
})

// ---------------------------------------------------------------------------------------------
// Damaged files

/** A real store file of several hundred KB, closed cleanly (its WAL checkpointed away). */
function populatedFile(t: TapTest, dir: string): string {
  const { store, db, path } = openStore(t, { dir })
  store.saveIdentity({ nodeId: NODE, hubPublicKey: 'pinned', brokerUrl: null, username: null, password: null, enrolledAt: null })
  for (let i = 0; i < 40; i++)
    store.enqueue(
      Array.from({ length: 25 }, (_, j): OutboxEntry => ({ kind: 'event', body: event(i * 25 + j, { message: `${'payload '.repeat(40)}${i}-${j}` }) })),
    )
  db.close()
  t.notOk(existsSync(`${path}-wal`), 'the WAL was checkpointed on close')
  t.ok(statSync(path).size > 200 * 1024, 'the file spans many pages')
  return path
}

/** Opens a damaged file and checks the promise: moved aside byte for byte, a fresh usable store in its place. */
function expectMovedAside(t: TapTest, dir: string, damaged: Buffer): Opened {
  const clock = manualClock(T0 + 3_600_000)
  const opened = openStore(t, { dir, clock })
  t.type(opened.movedAside, 'string', 'reported as moved aside')
  const aside = opened.movedAside!
  t.match(aside, /agent\.db\.corrupt-2025-06-15T16-06-40-000Z$/, 'named for the time it was found')
  t.ok(readFileSync(aside).equals(damaged), 'the original bytes are kept at the .corrupt-* path')
  t.equal(opened.db.pragma('user_version', { simple: true }), MIGRATIONS.length, 'the fresh file is migrated')
  t.equal(opened.db.pragma('journal_mode', { simple: true }), 'wal')
  t.equal(opened.store.identity(), null, 'and empty')
  opened.store.enqueue([{ kind: 'event', body: event(1) }])
  t.equal(allPending(opened.store)[0]?.seq, T0 + 3_600_000, 'and usable, its seq starting at the clock')
  const logged = opened.lines.find((line) => line.level === 50)
  t.match(logged, { path: opened.path, aside, msg: /moving it aside/ }, 'the move is logged as an error')
  return opened
}

t.test('a truncated file is moved aside and a fresh database takes its place', async (t) => {
  const dir = tempDir(t, 'corrupt')
  const path = populatedFile(t, dir)
  truncateSync(path, Math.floor(statSync(path).size / 2))
  expectMovedAside(t, dir, readFileSync(path))
})

t.test('a file of random garbage is moved aside', async (t) => {
  const dir = tempDir(t, 'corrupt')
  const path = join(dir, 'agent.db')
  let state = 99
  const garbage = Buffer.from(Array.from({ length: 64 * 1024 }, () => (state = (state * 1_103_515_245 + 12_345) % 2 ** 31) & 0xff))
  writeFileSync(path, garbage)
  writeFileSync(`${path}-wal`, garbage.subarray(0, 4096))
  expectMovedAside(t, dir, garbage)
  const asideWal = readdirSync(dir).find((f) => f.endsWith('-wal') && f.includes('corrupt'))
  t.ok(asideWal && readFileSync(join(dir, asideWal)).equals(garbage.subarray(0, 4096)), 'its WAL moved aside with it')
})

t.test('a valid database with one corrupted page in the middle is moved aside', async (t) => {
  const dir = tempDir(t, 'corrupt')
  const path = populatedFile(t, dir)
  const pageSize = 4096
  const pages = Math.floor(statSync(path).size / pageSize)
  const fd = openSync(path, 'r+')
  writeSync(fd, Buffer.alloc(pageSize, 0xab), 0, pageSize, Math.floor(pages / 2) * pageSize)
  closeSync(fd)
  const damaged = readFileSync(path)
  t.equal(damaged.subarray(0, 16).toString('latin1'), 'SQLite format 3\0', 'the header still says SQLite: only the integrity check can tell')
  expectMovedAside(t, dir, damaged)
})

/**
 * Writes to the file from another process that is then killed (SIGKILL), so the write lives only
 * in a hot WAL, as after a power cut: nothing checkpoints it into the main file.
 */
function killedWriter(t: TapTest, path: string, hubPublicKey: string): void {
  const script = `
    const Database = require(${JSON.stringify(createRequire(import.meta.url).resolve('better-sqlite3'))})
    const db = new Database(process.argv[1])
    db.pragma('wal_autocheckpoint = 0')
    db.prepare('UPDATE identity SET hub_public_key = ? WHERE id = 1').run(${JSON.stringify(hubPublicKey)})
    process.kill(process.pid, 'SIGKILL')`
  const { NODE_OPTIONS: _ignored, ...env } = process.env
  const child = spawnSync(process.execPath, ['-e', script, path], { env, encoding: 'utf8' })
  t.equal(child.signal, 'SIGKILL', `the writer was killed (${child.stderr})`)
  t.ok(existsSync(`${path}-wal`) && statSync(`${path}-wal`).size > 0, 'its write is only in the WAL')
}

t.test('a sound database with a hot WAL left by a killed writer opens with that write, nothing moved', async (t) => {
  const dir = tempDir(t, 'wal')
  const path = populatedFile(t, dir)
  killedWriter(t, path, 'rotated-key')
  const opened = openStore(t, { dir })
  t.equal(opened.movedAside, null)
  t.equal(opened.store.identity()?.hubPublicKey, 'rotated-key', 'the committed write in the WAL is there')
  t.equal(opened.store.outboxDepth().records, 1_000)
  t.strictSame(
    readdirSync(dir).filter((f) => f.includes('corrupt')),
    [],
  )
})

t.test('a damaged file with a live WAL is moved aside with its WAL, neither altered by the check', async (t) => {
  const dir = tempDir(t, 'wal')
  const path = populatedFile(t, dir)
  killedWriter(t, path, 'rotated-key')
  const pageSize = 4096
  const fd = openSync(path, 'r+')
  writeSync(fd, Buffer.alloc(pageSize, 0xcd), 0, pageSize, Math.floor(statSync(path).size / pageSize / 2) * pageSize)
  closeSync(fd)
  const damaged = readFileSync(path)
  const wal = readFileSync(`${path}-wal`)
  const opened = expectMovedAside(t, dir, damaged)
  t.ok(readFileSync(`${opened.movedAside!}-wal`).equals(wal), 'the WAL is kept byte for byte, not checkpointed into the damaged file or deleted')
})

t.test('a second damaged file found at the same instant does not overwrite the first one moved aside', async (t) => {
  const dir = tempDir(t, 'corrupt')
  const path = join(dir, 'agent.db')
  writeFileSync(path, Buffer.alloc(8192, 1))
  const first = openStore(t, { dir, clock: manualClock() })
  first.db.close()
  writeFileSync(path, Buffer.alloc(8192, 2))
  const second = openStore(t, { dir, clock: manualClock() })
  t.not(second.movedAside, first.movedAside)
  t.ok(readFileSync(first.movedAside!).equals(Buffer.alloc(8192, 1)), 'the first damaged file is intact')
  t.ok(readFileSync(second.movedAside!).equals(Buffer.alloc(8192, 2)), 'the second is kept beside it')
})

t.test('a path that cannot be opened at all is an error, not a reason to move anything', async (t) => {
  const dir = tempDir(t, 'corrupt')
  t.throws(() => openAgentDatabase(join(dir, 'missing-dir', 'agent.db'), pino({ level: 'silent' })))
  t.strictSame(readdirSync(dir), [])
})

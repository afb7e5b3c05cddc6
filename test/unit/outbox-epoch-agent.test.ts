// The agent's outbox epoch on real SQLite files: each database incarnation gets its own random
// epoch, once; it survives reopening; a database moved aside after corruption is replaced by one
// with a new epoch; a database from before epochs keeps the legacy epoch for its pending records.
import Database from 'better-sqlite3'
import { statSync, truncateSync } from 'node:fs'
import { join } from 'node:path'
import { pino } from 'pino'
import t from 'tap'
import { AgentStore } from '../../agent/store/agent-store.js'
import { MIGRATIONS } from '../../agent/store/migrations.js'
import { openAgentDatabase } from '../../agent/store/open-agent-database.js'
import { LEGACY_EPOCH, OutboxEpoch } from '../../protocol/index.js'
import { tempDir } from '../support/tmp.js'

const T0 = 1_750_000_000_000
const logger = pino({ level: 'silent' })

function open(t: { teardown(fn: () => unknown): void }, path: string): { store: AgentStore; movedAside: string | null } {
  const { db, movedAside } = openAgentDatabase(path, logger, { now: () => T0 })
  const store = new AgentStore(db, { now: () => T0 }, { maxRecords: 1000, maxBytes: 1 << 20 })
  t.teardown(() => {
    if (db.open) db.close()
  })
  return { store, movedAside }
}

const event = { nodeId: 'pi-1', type: 'Probe', severity: 'info' as const, message: 'probe', at: new Date(T0).toISOString() }

t.test('a fresh database gets a random epoch that persists across reopen', async (t) => {
  const path = join(tempDir(t, 'epoch'), 'agent.db')
  const first = open(t, path)
  const epoch = first.store.outboxEpoch()
  t.not(epoch, LEGACY_EPOCH, 'not the legacy epoch')
  t.ok(OutboxEpoch.safeParse(epoch).success, `valid on the wire: ${epoch}`)
  first.store.enqueue([{ kind: 'event', body: event }])
  first.store.close()
  const again = open(t, path)
  t.equal(again.store.outboxEpoch(), epoch, 'the same epoch after reopening')
  t.equal(again.store.outboxDepth().records, 1, 'and the same outbox')

  const other = open(t, join(tempDir(t, 'epoch'), 'agent.db'))
  t.not(other.store.outboxEpoch(), epoch, 'another database has another epoch')
})

t.test('a database moved aside after corruption is replaced by one with a new epoch', async (t) => {
  const dir = tempDir(t, 'epoch-corrupt')
  const path = join(dir, 'agent.db')
  const before = open(t, path)
  const oldEpoch = before.store.outboxEpoch()
  before.store.enqueue(Array.from({ length: 200 }, () => ({ kind: 'event' as const, body: { ...event, message: 'x'.repeat(400) } })))
  before.store.close()
  truncateSync(path, Math.floor(statSync(path).size / 2))
  const after = open(t, path)
  t.type(after.movedAside, 'string', 'the damaged file was moved aside')
  t.not(after.store.outboxEpoch(), oldEpoch, 'the fresh database starts a new epoch')
  t.not(after.store.outboxEpoch(), LEGACY_EPOCH)
})

t.test('a database from before epochs keeps the legacy epoch; an empty one gets a fresh epoch', async (t) => {
  const dir = tempDir(t, 'epoch-upgrade')
  const step = MIGRATIONS.findIndex((m) => m.name === 'outbox-epoch')
  t.ok(step > 0, 'the step exists')
  const makeOld = (file: string, withOutbox: boolean): void => {
    const raw = new Database(file)
    for (const m of MIGRATIONS.slice(0, step)) raw.exec(m.sql)
    raw.pragma(`user_version = ${step}`)
    if (withOutbox) {
      raw.prepare('INSERT INTO outbox_meta (id, next_seq, dropped_events) VALUES (1, ?, 0)').run(T0 + 1)
      raw.prepare("INSERT INTO outbox (seq, kind, body, bytes, created_at) VALUES (?, 'event', ?, 2, 'x')").run(T0, JSON.stringify(event))
    }
    raw.close()
  }
  const used = join(dir, 'used.db')
  makeOld(used, true)
  const upgraded = open(t, used)
  t.equal(upgraded.store.outboxEpoch(), LEGACY_EPOCH, "its pending records were numbered against the hub's legacy mark, so they stay in it")
  t.equal(upgraded.store.outboxDepth().records, 1, 'nothing lost')

  const empty = join(dir, 'empty.db')
  makeOld(empty, false)
  t.not(open(t, empty).store.outboxEpoch(), LEGACY_EPOCH, 'a database that never had an outbox can start an epoch of its own')
})

// The hub's (node, epoch, seq) dedupe on a real SQLite file, through the Ingester as agents reach
// it: a recreated agent database (new epoch) whose seqs are below what the hub already stored is
// applied, not dropped; records of the old epoch still in flight stay deduplicated; agents from
// before epochs (no epoch on the wire) keep working, and what node_seq held survives the migration.
import path from 'node:path'
import Database from 'better-sqlite3'
import { pino } from 'pino'
import t from 'tap'
import { Ingester } from '../../hub/ingest/ingester.js'
import { ChangeFeed } from '../../hub/ingest/change-feed.js'
import { Metrics } from '../../hub/metrics.js'
import { HUB_MIGRATIONS } from '../../hub/store/migrations.js'
import { openHubDatabase } from '../../hub/store/open-hub-database.js'
import { HubStore } from '../../hub/store/hub-store.js'
import { Ack, dedupeBatch, decodeMessage, encodeMessage, type NodeEvent, type OutboxBatch, type OutboxRecord } from '../../protocol/index.js'
import { tempDir } from '../support/tmp.js'
import { nodeRecord } from '../support/hub-nodes.js'

const T0 = Date.parse('2030-01-01T00:00:00.000Z')
const iso = (ms: number): string => new Date(ms).toISOString()
const ev = (nodeId: string, seq: number, type: string): OutboxRecord => ({
  nodeId,
  seq,
  kind: 'event',
  body: { nodeId, type, severity: 'info', message: type, at: iso(T0) } satisfies NodeEvent,
})

function setup(t: { teardown(fn: () => unknown): void }, file?: string) {
  const dbFile = file ?? path.join(tempDir(t, 'outbox-epoch'), 'hub.db')
  const store = new HubStore(openHubDatabase(dbFile))
  t.teardown(() => {
    if (store.db.open) store.close()
  })
  const capacity = { cpuMillis: 1000, memoryBytes: 2 ** 30, gpus: 0 }
  if (!store.nodes.exists('n1')) store.nodes.insert(nodeRecord('n1', { labels: {}, capacity, createdAt: iso(T0) }))
  const acks: Ack[] = []
  const metrics = new Metrics()
  const ingester = new Ingester({
    store,
    clock: { now: () => T0 },
    logger: pino({ level: process.env.DEBUG_EPOCH ? 'debug' : 'silent' }),
    metrics,
    feed: new ChangeFeed(),
    publishAck: async (_nodeId, payload) => {
      acks.push(decodeMessage(Ack, payload, { maxBytes: 4096, what: 'ack' }))
    },
    onPresenceChange: () => undefined,
  })
  const send = (batch: OutboxBatch): Ack => {
    const before = acks.length
    ingester.handle('n1', 'outbox', encodeMessage(batch))
    // publishAck is called synchronously inside handle; its promise only settles later.
    const ack = acks[before]
    if (!ack || acks.length !== before + 1) throw new Error(`expected exactly one ack for the batch, got ${acks.length - before}`)
    return ack
  }
  const types = () => store.status.events({ nodeId: 'n1' }).map((e) => e.type)
  return { store, send, types, file: dbFile }
}

t.test('dedupeBatch: the pure rule', async (t) => {
  const r = (seq: number) => ({ seq })
  t.same(dedupeBatch([r(3), r(1), r(2)], 0), { fresh: [r(1), r(2), r(3)], duplicates: 0, ackSeq: 3 }, 'all new, in seq order')
  t.same(dedupeBatch([r(1), r(2), r(3)], 2), { fresh: [r(3)], duplicates: 2, ackSeq: 3 })
  t.same(dedupeBatch([r(1)], 5), { fresh: [], duplicates: 1, ackSeq: 5 }, 'nothing new: the ack repeats the high-water mark')
})

t.test('a new epoch with seqs below the old high-water mark is stored; the old epoch stays deduplicated', async (t) => {
  const { store, send, types } = setup(t)
  const old = 'epoch-old'
  const fresh = 'epoch-new'
  t.same(send({ nodeId: 'n1', epoch: old, records: [ev('n1', 5_000, 'OldA'), ev('n1', 5_001, 'OldB')] }), { nodeId: 'n1', epoch: old, seq: 5_001 })

  // The database was recreated and the clock is in the past: seqs restart far lower.
  t.same(
    send({ nodeId: 'n1', epoch: fresh, records: [ev('n1', 10, 'NewA'), ev('n1', 11, 'NewB')] }),
    { nodeId: 'n1', epoch: fresh, seq: 11 },
    'acked under the new epoch, with its own seq',
  )
  t.same(types(), ['OldA', 'OldB', 'NewA', 'NewB'], "the new epoch's records are stored, not dropped as duplicates")
  t.equal(store.status.lastSeq('n1', old), 5_001, 'the old epoch keeps its high-water mark')
  t.equal(store.status.lastSeq('n1', fresh), 11)

  // A resend of the old epoch still in flight (e.g. held by the broker) is judged against its own mark.
  t.same(send({ nodeId: 'n1', epoch: old, records: [ev('n1', 5_001, 'OldB'), ev('n1', 5_002, 'OldC')] }), { nodeId: 'n1', epoch: old, seq: 5_002 })
  t.same(send({ nodeId: 'n1', epoch: fresh, records: [ev('n1', 11, 'NewB'), ev('n1', 12, 'NewC')] }), { nodeId: 'n1', epoch: fresh, seq: 12 })
  t.same(types(), ['OldA', 'OldB', 'NewA', 'NewB', 'OldC', 'NewC'], 'each record stored once, per epoch')
  t.equal(store.status.lastSeq('n1'), 0, 'the legacy epoch was never used')

  store.transaction(() => store.status.forgetNode('n1'))
  t.equal(store.status.lastSeq('n1', old), 0, 'forgetting a node forgets all its epochs')
  t.equal(store.status.lastSeq('n1', fresh), 0)
})

t.test('legacy batches (no epoch) still work, and their ack names no epoch', async (t) => {
  const { store, send, types } = setup(t)
  const ack = send({ nodeId: 'n1', records: [ev('n1', 100, 'Alpha'), ev('n1', 101, 'Beta')] })
  t.same(ack, { nodeId: 'n1', seq: 101 }, 'no epoch key at all, so an agent from before epochs (strict Ack) accepts it')
  t.same(send({ nodeId: 'n1', records: [ev('n1', 101, 'Beta'), ev('n1', 102, 'Gamma')] }), { nodeId: 'n1', seq: 102 })
  t.same(send({ nodeId: 'n1', records: [ev('n1', 50, 'Late')] }), { nodeId: 'n1', seq: 102 }, 'a lower legacy seq is still a duplicate')
  t.same(types(), ['Alpha', 'Beta', 'Gamma'])
  t.equal(store.status.lastSeq('n1'), 102)
})

t.test("the migration keeps each node's stored seq as its legacy epoch", async (t) => {
  const file = path.join(tempDir(t, 'outbox-epoch-migrate'), 'hub.db')
  const epochStep = HUB_MIGRATIONS.findIndex((m) => m.name === 'outbox-epochs')
  t.ok(epochStep > 0, 'the step exists')
  const raw = new Database(file)
  for (const step of HUB_MIGRATIONS.slice(0, epochStep)) raw.exec(step.sql)
  raw.pragma(`user_version = ${epochStep}`)
  raw.prepare('INSERT INTO node_seq (node_id, last_seq) VALUES (?, ?)').run('n1', 7_000)
  raw.close()

  const { store, send, types } = setup(t, file)
  t.equal(store.db.pragma('user_version', { simple: true }), HUB_MIGRATIONS.length, 'migrated to the latest')
  t.equal(store.status.lastSeq('n1'), 7_000, "the old high-water mark is the legacy epoch's")
  t.same(send({ nodeId: 'n1', records: [ev('n1', 6_999, 'Dup'), ev('n1', 7_001, 'Next')] }), { nodeId: 'n1', seq: 7_001 })
  t.same(types(), ['Next'], 'a record already acknowledged before the upgrade is still a duplicate')
})

// The hub's SQLite store on real files: migrations from an empty file, reopening, and the
// rules the repositories enforce (generations only grow, join tokens are counted and expire,
// broker credentials verify, agents' reports are deduplicated by seq, placements keep their
// creation time while they stay).
import { randomBytes, scryptSync } from 'node:crypto'
import path from 'node:path'
import Database from 'better-sqlite3'
import t from 'tap'
import { openHubDatabase, HubDatabaseError } from '../../hub/store/open-hub-database.js'
import { HUB_MIGRATIONS } from '../../hub/store/migrations.js'
import { HubStore } from '../../hub/store/hub-store.js'
import { TokenRefusedError } from '../../hub/store/token-repository.js'
import { silentNodes } from '../../hub/fleet/presence-monitor.js'
import type { DesiredDocument, Heartbeat, NodeEvent, NodeStatus, OutboxRecord, PrefetchStatus } from '../../protocol/index.js'
import { tempDir } from '../support/tmp.js'
import { nodeRecord } from '../support/hub-nodes.js'

const T0 = Date.parse('2030-01-01T00:00:00.000Z')
const iso = (ms: number): string => new Date(ms).toISOString()

function openStore(t: { teardown(fn: () => unknown): void }, file?: string): { store: HubStore; file: string } {
  const dbFile = file ?? path.join(tempDir(t, 'hub-store'), 'hub.db')
  const store = new HubStore(openHubDatabase(dbFile))
  t.teardown(() => {
    if (store.db.open) store.close()
  })
  return { store, file: dbFile }
}

function addNode(store: HubStore, id: string): void {
  store.nodes.insert(nodeRecord(id, { labels: { site: 'x' }, capacity: { cpuMillis: 2000, memoryBytes: 2 ** 31, gpus: 0 }, createdAt: iso(T0) }))
}

function doc(nodeId: string, generation: number): DesiredDocument {
  return {
    apiVersion: 'shoal/v1',
    kind: 'NodeDesiredState',
    nodeId,
    generation,
    issuedAt: iso(T0),
    workloads: [],
    signature: 'sig',
  } as unknown as DesiredDocument
}

const event = (nodeId: string, type: string): NodeEvent => ({ nodeId, type, severity: 'info', message: type, at: iso(T0) })
const status = (nodeId: string, state: 'running' | 'exited', observedGeneration = 1): NodeStatus => ({
  nodeId,
  observedGeneration,
  at: iso(T0),
  workloads: [{ name: 'web', deployment: 'web', revision: 1, state, health: 'none', restarts: 0, since: iso(T0) }],
})
const rec = (nodeId: string, seq: number, body: NodeEvent | NodeStatus): OutboxRecord =>
  ('type' in body ? { nodeId, seq, kind: 'event', body } : { nodeId, seq, kind: 'status', body }) as OutboxRecord

t.test('migrations', async (t) => {
  t.test('an empty file is migrated from version 0 to the latest, with WAL and FULL sync', async (t) => {
    const dir = tempDir(t, 'hub-store')
    const file = path.join(dir, 'hub.db')
    const raw = new Database(file)
    t.equal(raw.pragma('user_version', { simple: true }), 0, 'starts at version 0')
    raw.close()
    const { store } = openStore(t, file)
    t.equal(store.db.pragma('user_version', { simple: true }), HUB_MIGRATIONS.length)
    t.equal(store.db.pragma('journal_mode', { simple: true }), 'wal')
    t.equal(store.db.pragma('synchronous', { simple: true }), 2, 'synchronous=FULL')
    const tables = (store.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[]).map((r) => r.name)
    for (const table of [
      'nodes',
      'node_credentials',
      'join_tokens',
      'deployments',
      'deployment_revisions',
      'placements',
      'desired_documents',
      'node_epoch_seq',
      'workload_status',
      'events',
      'audit_log',
    ]) {
      t.ok(tables.includes(table), `has ${table}`)
    }
  })

  t.test('reopening is idempotent and keeps the data', async (t) => {
    const first = openStore(t)
    addNode(first.store, 'n1')
    first.store.desired.save(doc('n1', 3), 'h3')
    first.store.close()
    const again = openStore(t, first.file)
    t.equal(again.store.db.pragma('user_version', { simple: true }), HUB_MIGRATIONS.length, 'no step ran twice')
    t.ok(again.store.nodes.exists('n1'))
    t.equal(again.store.desired.get('n1')?.generation, 3)
    again.store.close()
    const third = openStore(t, first.file)
    t.equal(third.store.nodes.list().length, 1)
  })

  t.test('a database from a newer hub is refused, not downgraded', async (t) => {
    const dir = tempDir(t, 'hub-store')
    const file = path.join(dir, 'hub.db')
    const raw = new Database(file)
    raw.pragma(`user_version = ${HUB_MIGRATIONS.length + 1}`)
    raw.close()
    t.throws(() => openHubDatabase(file), HubDatabaseError)
    const check = new Database(file)
    t.equal(check.pragma('user_version', { simple: true }), HUB_MIGRATIONS.length + 1, 'left as it was')
    check.close()
  })

  t.test('a file that is not a database is refused with a clear error', async (t) => {
    const dir = tempDir(t, 'hub-store')
    const file = path.join(dir, 'hub.db')
    const { writeFileSync } = await import('node:fs')
    writeFileSync(file, 'this is not SQLite '.repeat(300))
    t.throws(() => openHubDatabase(file), { name: 'HubDatabaseError', message: /hub\.db/ })
  })
})

t.test('DesiredRepository: generations only grow', async (t) => {
  const { store } = openStore(t)
  store.desired.save(doc('n1', 1), 'a')
  store.desired.save(doc('n1', 2), 'b')
  t.throws(() => store.desired.save(doc('n1', 1), 'c'), /would go backwards \(2 → 1\)/, 'an older generation is refused')
  t.throws(() => store.desired.save(doc('n1', 2), 'c'), /would go backwards/, 'the same generation again is refused')
  t.equal(store.desired.get('n1')?.generation, 2)
  t.equal(store.desired.get('n1')?.contentHash, 'b', 'the stored document is untouched')
  store.desired.save(doc('n2', 7), 'x')
  t.same(
    store.desired.list().map((d) => [d.nodeId, d.generation]),
    [
      ['n1', 2],
      ['n2', 7],
    ],
  )
  t.test('a refused save inside a transaction rolls the transaction back', async (t) => {
    t.throws(() =>
      store.transaction(() => {
        store.desired.save(doc('n2', 8), 'y')
        store.desired.save(doc('n1', 1), 'z')
      }),
    )
    t.equal(store.desired.get('n2')?.generation, 7, 'n2 stayed at 7')
  })
})

t.test('TokenRepository: use limits, expiry, unknown tokens', async (t) => {
  const { store } = openStore(t)
  const limited = store.tokens.create({ labels: { site: 'a' }, maxUses: 2, expiresAt: null, now: iso(T0) })
  t.match(limited.token, /^shoal_/)
  t.notOk(JSON.stringify(store.db.prepare('SELECT * FROM join_tokens').all()).includes(limited.token), 'only a digest is stored')
  t.equal(store.tokens.check(limited.token, T0).uses, 0, 'check counts nothing')
  t.equal(store.tokens.check(limited.token, T0).uses, 0)
  t.equal(store.tokens.consume(limited.token, T0).uses, 1)
  t.same(store.tokens.consume(limited.token, T0).labels, { site: 'a' })
  t.throws(() => store.tokens.consume(limited.token, T0), new TokenRefusedError(`join token ${limited.record.id} has been used 2 of 2 times`))
  t.throws(
    () => store.tokens.check(limited.token, T0),
    new TokenRefusedError(`join token ${limited.record.id} has been used 2 of 2 times`),
    'check refuses what consume would',
  )

  const expiring = store.tokens.create({ labels: {}, maxUses: null, expiresAt: iso(T0 + 60_000), now: iso(T0) })
  t.equal(store.tokens.consume(expiring.token, T0 + 59_999).uses, 1)
  t.throws(() => store.tokens.consume(expiring.token, T0 + 60_000), TokenRefusedError, 'expired at its expiry time')
  t.throws(() => store.tokens.check(expiring.token, T0 + 60_000), TokenRefusedError, 'check: expired too')

  const unlimited = store.tokens.create({ labels: {}, maxUses: null, expiresAt: null, now: iso(T0) })
  for (let i = 1; i <= 5; i++) t.equal(store.tokens.consume(unlimited.token, T0 + i).uses, i)

  t.throws(() => store.tokens.consume('shoal_nope_nope', T0), { name: 'TokenRefusedError', message: 'unknown join token' })
  t.throws(() => store.tokens.check('shoal_nope_nope', T0), { name: 'TokenRefusedError', message: 'unknown join token' })

  t.test('a use counted inside an enrollment that fails is rolled back', async (t) => {
    const once = store.tokens.create({ labels: {}, maxUses: 1, expiresAt: null, now: iso(T0) })
    t.throws(() =>
      store.transaction(() => {
        store.tokens.consume(once.token, T0)
        throw new Error('enrollment failed later')
      }),
    )
    t.equal(store.tokens.consume(once.token, T0).uses, 1, 'the token is still usable once')
  })
})

t.test('CredentialRepository: hashes written by earlier hubs (scrypt) still verify', async (t) => {
  const { store } = openStore(t)
  addNode(store, 'old')
  const salt = randomBytes(16)
  const legacy = `scrypt$${salt.toString('base64')}$${scryptSync('legacy-secret', salt, 32).toString('base64')}`
  store.credentials.setHashed('old', 'old', legacy)
  t.equal(await store.credentials.authenticate('old', 'legacy-secret'), 'old')
  t.equal(await store.credentials.authenticate('old', 'legacy-secre'), null)
  store.credentials.setHashed('old', 'old', 'md5$abc$def')
  t.equal(await store.credentials.authenticate('old', 'legacy-secret'), null, 'an unknown scheme never matches')
})

t.test('CredentialRepository: verify, replace, revoke', async (t) => {
  const { store } = openStore(t)
  addNode(store, 'n1')
  addNode(store, 'n2')
  await store.credentials.set('n1', 'n1', 'secret-one')
  await store.credentials.set('n2', 'n2', 'secret-two')
  t.notOk(JSON.stringify(store.db.prepare('SELECT * FROM node_credentials').all()).includes('secret-one'), 'no plain password stored')
  const stored = store.db.prepare('SELECT password_hash FROM node_credentials ORDER BY node_id').all() as { password_hash: string }[]
  t.match(stored[0]?.password_hash, /^sha256\$[A-Za-z0-9+/=]{24}\$[A-Za-z0-9+/=]{44}$/, 'a salted SHA-256')
  t.not(stored[0]?.password_hash, stored[1]?.password_hash)
  t.equal(await store.credentials.authenticate('n1', 'secret-one'), 'n1')
  t.equal(await store.credentials.authenticate('n1', 'secret-one'), 'n1', 'again (from the cache)')
  t.equal(await store.credentials.authenticate('n1', 'secret-two'), null, "another node's password")
  t.equal(await store.credentials.authenticate('n1', 'secret-on'), null)
  t.equal(await store.credentials.authenticate('n1', ''), null)
  t.equal(await store.credentials.authenticate('nobody', 'secret-one'), null, 'unknown user')

  await store.credentials.set('n1', 'n1', 'rotated')
  t.equal(await store.credentials.authenticate('n1', 'secret-one'), null, 'the old password stops working after a rotation, cache or not')
  t.equal(await store.credentials.authenticate('n1', 'rotated'), 'n1')

  // A check that is still hashing when its node is revoked must not let the node in.
  const inFlight = store.credentials.authenticate('n2', 'secret-two')
  store.credentials.revoke('n2')
  t.equal(await inFlight, null, 'revoked while its password was being checked')
  await store.credentials.set('n2', 'n2', 'secret-two')

  store.credentials.revoke('n1')
  t.equal(await store.credentials.authenticate('n1', 'rotated'), null, 'revoked')
  t.equal(await store.credentials.authenticate('n2', 'secret-two'), 'n2', 'other nodes unaffected')
  t.same(store.credentials.usernames(), [{ nodeId: 'n2', username: 'n2' }])

  store.nodes.delete('n2')
  t.equal(await store.credentials.authenticate('n2', 'secret-two'), null, 'deleting the node deletes its credentials (cascade)')
})

t.test('StatusRepository: ingest deduplicates by seq and acks cumulatively', async (t) => {
  const { store } = openStore(t)
  addNode(store, 'n1')
  addNode(store, 'n2')
  const ingest = (nodeId: string, records: OutboxRecord[]) => store.transaction(() => store.status.ingest(nodeId, '', records, iso(T0)))

  const first = ingest('n1', [rec('n1', 100, event('n1', 'First')), rec('n1', 101, status('n1', 'running'))])
  t.match(first, { applied: 2, duplicates: 0, ackSeq: 101 })
  t.equal(store.status.lastSeq('n1'), 101)

  const resent = ingest('n1', [rec('n1', 100, event('n1', 'First')), rec('n1', 101, status('n1', 'running')), rec('n1', 102, event('n1', 'Second'))])
  t.match(resent, { applied: 1, duplicates: 2, ackSeq: 102 }, 'a resent batch: old records counted as duplicates, the new one applied')

  const onlyOld = ingest('n1', [rec('n1', 101, status('n1', 'exited'))])
  t.match(onlyOld, { applied: 0, duplicates: 1, ackSeq: 102 }, 'nothing new: the ack still says 102')
  t.equal(store.status.workloads({ nodeId: 'n1' })[0]?.state, 'running', 'a stale status is not applied over a newer one')

  const unordered = ingest('n1', [rec('n1', 105, status('n1', 'exited', 4)), rec('n1', 104, event('n1', 'Third'))])
  t.match(unordered, { applied: 2, duplicates: 0, ackSeq: 105 }, 'applied in seq order whatever the batch order')
  t.equal(store.status.workloads({ nodeId: 'n1' })[0]?.state, 'exited')
  t.equal(store.nodes.get('n1')?.observedGeneration, 4)

  const events = store.status.events({ nodeId: 'n1' })
  t.same(
    events.map((e) => [e.seq, e.type]),
    [
      [100, 'First'],
      [102, 'Second'],
      [104, 'Third'],
    ],
    'each event stored once, with its seq',
  )
  t.match(ingest('n2', [rec('n2', 1, event('n2', 'Other'))]), { applied: 1, ackSeq: 1 }, 'seqs are per node')

  t.test('a batch that fails midway stores nothing and moves no seq', async (t) => {
    t.throws(() =>
      store.transaction(() => {
        store.status.ingest('n1', '', [rec('n1', 106, event('n1', 'Lost'))], iso(T0))
        throw new Error('crash before commit')
      }),
    )
    t.equal(store.status.lastSeq('n1'), 105)
    t.notOk(store.status.events({ nodeId: 'n1' }).some((e) => e.type === 'Lost'))
    t.match(ingest('n1', [rec('n1', 106, event('n1', 'Lost'))]), { applied: 1, ackSeq: 106 }, 'the resend then applies')
  })
})

t.test('StatusRepository.forgetNode: a revoked node enrolled again starts a fresh seq; its events stay', async (t) => {
  const { store } = openStore(t)
  addNode(store, 'n1')
  const ingest = (records: OutboxRecord[]) => store.transaction(() => store.status.ingest('n1', '', records, iso(T0)))
  ingest([rec('n1', 5_000, event('n1', 'Before')), rec('n1', 5_001, status('n1', 'running'))])
  store.transaction(() => store.status.forgetNode('n1'))
  t.equal(store.status.lastSeq('n1'), 0)
  t.same(store.status.workloads({ nodeId: 'n1' }), [], 'no stale workload status')
  t.match(ingest([rec('n1', 10, event('n1', 'After'))]), { applied: 1, duplicates: 0, ackSeq: 10 }, 'a lower seq from the fresh agent is applied, not dropped')
  t.same(
    store.status.events({ nodeId: 'n1' }).map((e) => e.type),
    ['Before', 'After'],
    'history kept',
  )
})

t.test('StatusRepository.events: latest N without `since`, oldest after `since` with it', async (t) => {
  const { store } = openStore(t)
  for (let i = 1; i <= 10; i++) store.status.appendEvent({ nodeId: null, type: `E${i}`, severity: 'info', message: `e${i}`, at: iso(T0 + i) }, iso(T0 + i))
  t.same(
    store.status.events({ limit: 3 }).map((e) => e.type),
    ['E8', 'E9', 'E10'],
    'the latest three, oldest first',
  )
  t.same(
    store.status.events({ sinceId: 0, limit: 3 }).map((e) => e.type),
    ['E1', 'E2', 'E3'],
    'from the start',
  )
  const page = store.status.events({ sinceId: 3, limit: 3 })
  t.same(
    page.map((e) => e.type),
    ['E4', 'E5', 'E6'],
    'the next page, no gap',
  )
  t.same(
    store.status.events({ sinceId: page.at(-1)?.id ?? 0, limit: 100 }).map((e) => e.type),
    ['E7', 'E8', 'E9', 'E10'],
  )
  t.equal(store.status.events({ limit: 1 })[0]?.seq, null, 'hub-made events carry no seq')
})

t.test('DeploymentRepository.replacePlacements keeps created_at of unchanged rows', async (t) => {
  const { store } = openStore(t)
  const p = (nodeId: string, workload: string, replica = 0) => ({ nodeId, workload, deployment: workload, replica })
  t.same(store.deployments.replacePlacements([p('n1', 'web'), p('n2', 'web', 1), p('n1', 'db')], iso(T0)), { added: 3, removed: 0 })
  const change = store.deployments.replacePlacements([p('n1', 'web'), p('n2', 'web', 2), p('n3', 'cache')], iso(T0 + 1000))
  t.same(change, { added: 2, removed: 2 }, 'n2/web changed its replica (replaced), n1/db removed, n3/cache added')
  t.same(
    store.deployments.placements().map((x) => [x.nodeId, x.workload, x.replica, x.createdAt]),
    [
      ['n3', 'cache', 0, iso(T0 + 1000)],
      ['n1', 'web', 0, iso(T0)],
      ['n2', 'web', 2, iso(T0 + 1000)],
    ],
    'the unchanged row keeps its first time',
  )
  t.same(
    store.deployments.replacePlacements([p('n1', 'web'), p('n2', 'web', 2), p('n3', 'cache')], iso(T0 + 2000)),
    { added: 0, removed: 0 },
    'the same answer again changes nothing',
  )
  t.equal(store.deployments.placements().find((x) => x.nodeId === 'n1')?.createdAt, iso(T0))
  t.same(store.deployments.replacePlacements([], iso(T0 + 3000)), { added: 0, removed: 3 })
  t.same(store.deployments.placements(), [])
})

t.test('NodeRepository: heartbeats are held in memory, read fresh, and written in one flush', async (t) => {
  const { store, file } = openStore(t)
  addNode(store, 'n1')
  addNode(store, 'n2')
  addNode(store, 'gone')
  store.nodes.setOnline('n1', true, iso(T0))
  const beat = (nodeId: string, at: number, observedGeneration: number): Heartbeat => ({
    nodeId,
    at: iso(at),
    uptimeSeconds: 10,
    observedGeneration,
    outboxDepth: 0,
    cpuPercent: 5,
    memory: { usedBytes: 1, totalBytes: 2 },
    disk: null,
    workloads: { running: 0, total: 0 },
  })
  const stored = (id: string) =>
    store.db.prepare('SELECT last_heartbeat, last_seen_at, observed_generation FROM nodes WHERE id = ?').get(id) as {
      last_heartbeat: string | null
      last_seen_at: string | null
      observed_generation: number
    }

  store.nodes.recordHeartbeat('n1', beat('n1', T0 + 1_000, 3), iso(T0 + 1_000))
  store.nodes.recordHeartbeat('n1', beat('n1', T0 + 16_000, 4), iso(T0 + 16_000))
  store.nodes.recordHeartbeat('n2', beat('n2', T0 + 2_000, 1), iso(T0 + 2_000))
  store.nodes.recordHeartbeat('gone', beat('gone', T0 + 2_000, 1), iso(T0 + 2_000))
  t.equal(stored('n1').last_heartbeat, null, 'nothing written per heartbeat')
  t.equal(store.nodes.pendingHeartbeats, 3, 'one pending per node: the latest')
  const n1 = store.nodes.get('n1')
  t.same([n1?.lastHeartbeat?.at, n1?.lastSeenAt, n1?.observedGeneration], [iso(T0 + 16_000), iso(T0 + 16_000), 4], 'reads see the latest heartbeat at once')
  t.same(
    store.nodes.list().map((n) => [n.id, n.lastHeartbeat?.observedGeneration ?? null]),
    [
      ['gone', 1],
      ['n1', 4],
      ['n2', 1],
    ],
    'the list too',
  )
  t.same(
    silentNodes(store.nodes.list(), T0 + 70_000, T0).map((n) => n.id),
    [],
    'presence sees the in-memory heartbeat (silent only after 60 s from it)',
  )
  t.same(
    silentNodes(store.nodes.list(), T0 + 77_000, T0).map((n) => n.id),
    ['n1'],
  )

  store.nodes.touch('n1', iso(T0 + 20_000))
  t.equal(store.nodes.get('n1')?.lastSeenAt, iso(T0 + 20_000), 'a later outbox batch moves last seen past the heartbeat')
  store.nodes.delete('gone')

  t.equal(store.nodes.flushHeartbeats(), 2, "the deleted node's heartbeat went with it")
  t.equal(store.nodes.pendingHeartbeats, 0)
  t.equal(store.nodes.flushHeartbeats(), 0, 'nothing new, nothing written')
  t.same(
    [JSON.parse(stored('n1').last_heartbeat ?? 'null')?.at, stored('n1').last_seen_at, stored('n1').observed_generation],
    [iso(T0 + 16_000), iso(T0 + 20_000), 4],
    'the flush writes the latest heartbeat and never moves last seen back',
  )
  store.close()

  const reopened = openStore(t, file).store
  t.equal(reopened.nodes.get('n2')?.lastHeartbeat?.at, iso(T0 + 2_000), 'flushed heartbeats survive a restart')
  reopened.nodes.recordHeartbeat('n2', beat('n2', T0 + 30_000, 2), iso(T0 + 30_000))
  reopened.close()
  t.equal(
    openStore(t, file).store.nodes.get('n2')?.lastHeartbeat?.at,
    iso(T0 + 2_000),
    'an unflushed heartbeat is soft state: gone after a crash, replaced by the next one',
  )
})

t.test('NodeRepository: an idle heartbeat writes nothing; a durable change, and shutdown, do', async (t) => {
  const { store, file } = openStore(t)
  addNode(store, 'n1')
  store.nodes.setOnline('n1', true, iso(T0))
  const beat = (at: number, extra: Partial<Heartbeat> = {}): Heartbeat => ({
    nodeId: 'n1',
    at: iso(at),
    uptimeSeconds: (at - T0) / 1000,
    observedGeneration: 1,
    outboxDepth: 0,
    cpuPercent: 5,
    memory: { usedBytes: 1, totalBytes: 2 },
    disk: null,
    workloads: { running: 0, total: 0 },
    ...extra,
  })
  // A second connection sees every commit of the first as a new data_version.
  const observer = new Database(file, { readonly: true })
  t.teardown(() => observer.close())
  const version = () => observer.pragma('data_version', { simple: true }) as number
  store.nodes.recordHeartbeat('n1', beat(T0), iso(T0))
  t.equal(store.nodes.flushHeartbeats(), 1, 'the first heartbeat is written')
  const afterFirst = version()
  for (let i = 1; i <= 20; i++) {
    const at = T0 + i * 15_000
    store.nodes.recordHeartbeat('n1', beat(at, { cpuPercent: i, memory: { usedBytes: i, totalBytes: 2 }, outboxDepth: i % 3 }), iso(at), i)
    store.nodes.touch('n1', iso(at + 1))
    t.equal(store.nodes.flushHeartbeats(), 0)
  }
  t.equal(version(), afterFirst, 'twenty idle heartbeats and flushes: not one commit')
  t.same(
    [store.nodes.get('n1')?.lastHeartbeat?.cpuPercent, store.nodes.get('n1')?.lastSeenAt, store.nodes.get('n1')?.clockOffsetMs],
    [20, iso(T0 + 300_001), 20],
    'yet reads serve the fresh soft state',
  )
  store.nodes.recordHeartbeat('n1', beat(T0 + 315_000, { observedGeneration: 2 }), iso(T0 + 315_000))
  t.equal(store.nodes.flushHeartbeats(), 1, 'a new observed generation is written')
  t.ok(version() > afterFirst)
  t.equal(store.nodes.flushHeartbeats(), 0, 'once')
  const afterChange = version()
  store.nodes.recordHeartbeat('n1', beat(T0 + 330_000, { observedGeneration: 2, cpuPercent: 99 }), iso(T0 + 330_000))
  t.equal(store.nodes.flushHeartbeats('all'), 1, 'shutdown writes the soft state')
  t.ok(version() > afterChange)
  store.close()
  const reopened = openStore(t, file).store
  t.same(
    [reopened.nodes.get('n1')?.lastHeartbeat?.cpuPercent, reopened.nodes.get('n1')?.lastSeenAt, reopened.nodes.get('n1')?.observedGeneration],
    [99, iso(T0 + 330_000), 2],
    'a restarted hub reads what shutdown wrote',
  )
})

t.test('NodeRepository: parsed columns are reused only while their text is unchanged', async (t) => {
  const { store } = openStore(t)
  addNode(store, 'n1')
  const first = store.nodes.get('n1')
  t.equal(store.nodes.list()[0]?.labels, first?.labels, 'same text, same parsed object')
  store.nodes.setLabels('n1', { site: 'y' })
  t.same(store.nodes.get('n1')?.labels, { site: 'y' }, 'a change is read anew')
  try {
    store.transaction(() => {
      store.nodes.setLabels('n1', { site: 'rolled-back' })
      t.same(store.nodes.get('n1')?.labels, { site: 'rolled-back' })
      throw new Error('abort')
    })
  } catch {
    // the rollback is the point
  }
  t.same(store.nodes.get('n1')?.labels, { site: 'y' }, 'a rolled-back change is not served from memory')
})

t.test('NodeRepository: devices and policy as last reported, NULL until then, kept across a reopen', async (t) => {
  const first = openStore(t)
  addNode(first.store, 'n1')
  t.match(first.store.nodes.get('n1'), { devices: null, policy: null }, 'never reported')
  const policy = { privileged: true, capabilities: ['NET_ADMIN'], hostPaths: [{ path: '/etc/localtime', readOnly: true }], devices: ['/dev/ttyUSB*'] }
  t.equal(first.store.nodes.setReported('n1', { devices: ['/dev/ttyUSB1', '/dev/ttyUSB0'], policy }), true)
  t.same(first.store.nodes.get('n1')?.devices, ['/dev/ttyUSB0', '/dev/ttyUSB1'], 'sorted')
  t.same(first.store.nodes.get('n1')?.policy, policy)
  t.equal(first.store.nodes.setReported('n1', { devices: ['/dev/ttyUSB0', '/dev/ttyUSB1'], policy: { ...policy } }), false, 'the same again is no change')
  t.equal(first.store.nodes.setReported('n1', {}), false, 'a status without them changes nothing')
  t.equal(first.store.nodes.setReported('n1', { devices: [] }), true, 'the devices went away')
  t.same(first.store.nodes.get('n1')?.devices, [])
  t.same(first.store.nodes.get('n1')?.policy, policy, 'the policy stays when only devices are reported')
  t.equal(first.store.nodes.setReported('n1', { policy: { ...policy, privileged: false } }), true)
  first.store.close()
  const again = openStore(t, first.file)
  t.match(again.store.nodes.get('n1'), { devices: [], policy: { privileged: false, capabilities: ['NET_ADMIN'] } })
})

t.test('migration node-devices-policy adds the columns to a hub.db that has nodes, as NULL', async (t) => {
  const file = path.join(tempDir(t, 'hub-store'), 'hub.db')
  const step = HUB_MIGRATIONS.findIndex((m) => m.name === 'node-devices-policy')
  t.ok(step > 0, 'the step exists')
  const raw = new Database(file)
  for (const migration of HUB_MIGRATIONS.slice(0, step)) raw.exec(migration.sql)
  raw.pragma(`user_version = ${step}`)
  raw
    .prepare(
      "INSERT INTO nodes (id, labels, capabilities, arch, profile, inventory, capacity, reserved, heartbeat_interval_ms, created_at) VALUES ('old', '{}', '[]', 'arm64', 'p', '{}', '{}', '{}', 15000, ?)",
    )
    .run(iso(T0))
  raw.close()
  const { store } = openStore(t, file)
  t.equal(store.db.pragma('user_version', { simple: true }), HUB_MIGRATIONS.length)
  t.match(store.nodes.get('old'), { id: 'old', devices: null, policy: null })
})

t.test('StatusRepository: readiness as the agent reported it; absent from older agents, absent again', async (t) => {
  const { store, file } = openStore(t)
  addNode(store, 'n1')
  const withReady = (seq: number, ready: boolean | undefined): OutboxRecord => {
    const body = status('n1', 'running')
    const workloads = body.workloads.map((w) => (ready === undefined ? w : { ...w, ready }))
    return rec('n1', seq, { ...body, workloads })
  }
  const ingest = (records: OutboxRecord[]) => store.transaction(() => store.status.ingest('n1', '', records, iso(T0)))
  ingest([withReady(1, false)])
  t.equal(store.status.workloads({ nodeId: 'n1' })[0]?.ready, false, 'not ready')
  ingest([withReady(2, true)])
  t.equal(store.status.workloads({ nodeId: 'n1' })[0]?.ready, true, 'ready')
  ingest([withReady(3, undefined)])
  t.notOk('ready' in (store.status.workloads({ nodeId: 'n1' })[0] ?? {}), 'an agent that does not say leaves it out, not false')
  ingest([withReady(4, false)])
  store.close()
  const { store: reopened } = openStore(t, file)
  t.equal(reopened.status.workloads({ nodeId: 'n1' })[0]?.ready, false, 'kept across a reopen')
})

t.test('TokenRepository: a token id never reads as a command-line option (hex, no leading "-")', async (t) => {
  const { store } = openStore(t)
  const ids = Array.from({ length: 256 }, () => store.tokens.create({ labels: {}, maxUses: null, expiresAt: null, now: iso(T0) }).record.id)
  t.ok(
    ids.every((id) => /^[0-9a-f]{12}$/.test(id)),
    'every id is 12 hex digits',
  )
  t.equal(new Set(ids).size, ids.length, 'and unique')
})

t.test("StatusRepository: a copy's prefetch as the agent reported it, gone when it stops reporting one, kept across a reopen", async (t) => {
  const { store, file } = openStore(t)
  addNode(store, 'n1')
  const withPrefetch = (seq: number, prefetch: PrefetchStatus | undefined): OutboxRecord => {
    const body = status('n1', 'running')
    return rec('n1', seq, { ...body, workloads: body.workloads.map((w) => (prefetch ? { ...w, prefetch } : w)) })
  }
  const ingest = (records: OutboxRecord[]) => store.transaction(() => store.status.ingest('n1', '', records, iso(T0)))
  ingest([withPrefetch(1, { revision: 2, state: 'pull-deferred', message: 'pull of web:2 deferred: link is lte' })])
  t.same(store.status.workloads({ nodeId: 'n1' })[0]?.prefetch, { revision: 2, state: 'pull-deferred', message: 'pull of web:2 deferred: link is lte' })
  ingest([withPrefetch(2, undefined)])
  t.notOk('prefetch' in (store.status.workloads({ nodeId: 'n1' })[0] ?? {}), 'the copy moved: no prefetch any more')
  ingest([withPrefetch(3, { revision: 3, state: 'present' })])
  store.close()
  const { store: reopened } = openStore(t, file)
  t.same(reopened.status.workloads({ nodeId: 'n1' })[0]?.prefetch, { revision: 3, state: 'present' }, 'kept across a reopen')
})

// The hub's Ingester without a broker: a real SQLite hub store in a temp dir, encoded messages
// handed to handle() as a transport would, and acks caught by a recording fake transport. The
// subject is what it stores, what it acknowledges and when, and what it refuses (and why).
import path from 'node:path'
import { pino, type Logger } from 'pino'
import t from 'tap'
import { ChangeFeed, type Change } from '../../hub/ingest/change-feed.js'
import { Ingester } from '../../hub/ingest/ingester.js'
import { Metrics } from '../../hub/metrics.js'
import { HubStore } from '../../hub/store/hub-store.js'
import { openHubDatabase } from '../../hub/store/open-hub-database.js'
import type { HubInboundChannel } from '../../hub/transport/hub-transport.js'
import {
  Ack,
  decodeMessage,
  encodeMessage,
  type Heartbeat,
  type NodeEvent,
  type NodeStatus,
  type OutboxBatch,
  type OutboxRecord,
  type Presence,
} from '../../protocol/index.js'
import { DEFAULT_NODE_POLICY } from '../../protocol/node-policy.js'
import { nodeRecord } from '../support/hub-nodes.js'
import { tempDir } from '../support/tmp.js'

const T0 = Date.parse('2030-01-01T00:00:00.000Z')
const iso = (ms: number): string => new Date(ms).toISOString()
const EPOCH = 'epoch-a'

/**
 * A recording fake of the hub transport's ack channel: every publish is kept (decoded when it is
 * an ack), with what the store held at that moment, and it can be told to fail.
 */
class RecordingAckTransport {
  readonly acks: { nodeId: string; ack: Ack; storedEventsAtSend: number }[] = []
  readonly other: { nodeId: string; body: unknown }[] = []
  failing = false

  constructor(private readonly storedEvents: () => number) {}

  readonly publish = async (nodeId: string, payload: Buffer): Promise<void> => {
    const body = JSON.parse(payload.toString()) as Record<string, unknown>
    if (body['kind'] === 'reconnect-hint' || body['kind'] === 'heartbeat-basis') this.other.push({ nodeId, body })
    else this.acks.push({ nodeId, ack: decodeMessage(Ack, payload, { maxBytes: 4096, what: 'ack' }), storedEventsAtSend: this.storedEvents() })
    if (this.failing) throw new Error('broker gone')
  }
}

function capturingLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = []
  return { logger: pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) }), lines }
}

function setup(t: { teardown(fn: () => unknown): void }) {
  const store = new HubStore(openHubDatabase(path.join(tempDir(t, 'ingester'), 'hub.db')))
  t.teardown(() => {
    if (store.db.open) store.close()
  })
  store.nodes.insert(nodeRecord('n1', { createdAt: iso(T0 - 3_600_000) }))
  store.nodes.insert(nodeRecord('n2', { createdAt: iso(T0 - 3_600_000) }))
  let now = T0
  const clock = { now: () => now }
  const { logger, lines } = capturingLogger()
  const metrics = new Metrics()
  const feed = new ChangeFeed()
  const changes: Change[] = []
  feed.subscribe((change) => changes.push(change))
  const events = (nodeId = 'n1') => store.status.events({ nodeId })
  const transport = new RecordingAckTransport(() => events().length)
  const presenceChanges: [string, boolean][] = []
  const statusReports: string[][] = []
  const logChunks: [string, string][] = []
  let nodeFacts = 0
  const gzipDropped: string[] = []
  const ingester = new Ingester({
    store,
    clock,
    logger,
    metrics,
    feed,
    publishAck: transport.publish,
    onPresenceChange: (nodeId, online) => void presenceChanges.push([nodeId, online]),
    onStatus: (deployments) => void statusReports.push([...deployments].sort()),
    onLogChunk: (nodeId, payload) => void logChunks.push([nodeId, payload.toString()]),
    onNodeFacts: () => void nodeFacts++,
    onGzipDropped: (nodeId) => void gzipDropped.push(nodeId),
  })
  const send = (nodeId: string, channel: HubInboundChannel, value: unknown): void =>
    ingester.handle(nodeId, channel, Buffer.isBuffer(value) ? value : encodeMessage(value))
  const rejected = () => lines.filter((l) => l['msg'] === 'rejected a message').map((l) => ({ level: l['level'], channel: l['channel'], reason: l['reason'] }))
  return {
    store,
    ingester,
    transport,
    metrics,
    changes,
    presenceChanges,
    statusReports,
    logChunks,
    lines,
    events,
    send,
    rejected,
    nodeFacts: () => nodeFacts,
    gzipDropped,
    advance: (ms: number) => void (now += ms),
    now: () => now,
  }
}

const event = (seq: number, type = `Event${seq}`, nodeId = 'n1'): OutboxRecord => ({
  nodeId,
  seq,
  kind: 'event',
  body: { nodeId, type: type.replace(/[^A-Za-z]/g, '') || 'Event', severity: 'info', message: `${type} happened`, at: iso(T0) } satisfies NodeEvent,
})
const status = (seq: number, generation: number, workloads: [string, NodeStatus['workloads'][number]['state']][]): OutboxRecord => ({
  nodeId: 'n1',
  seq,
  kind: 'status',
  body: {
    nodeId: 'n1',
    observedGeneration: generation,
    at: iso(T0),
    workloads: workloads.map(([name, state]) => ({
      name,
      deployment: name.replace(/-\d+$/, ''),
      revision: generation,
      state,
      health: 'none',
      restarts: 0,
      since: iso(T0 - 60_000),
    })),
  } satisfies NodeStatus,
})
const heartbeat = (): Heartbeat => ({
  nodeId: 'n1',
  at: iso(T0),
  uptimeSeconds: 5,
  observedGeneration: 3,
  outboxDepth: 2,
  cpuPercent: 12.5,
  memory: { usedBytes: 1, totalBytes: 2 },
  disk: null,
  workloads: { running: 1, total: 1 },
})
/** `epoch` null: a legacy batch, from an agent before epochs. */
const batch = (records: OutboxRecord[], epoch: string | null = EPOCH): OutboxBatch => ({ nodeId: 'n1', ...(epoch !== null ? { epoch } : {}), records })

// ---------------------------------------------------------------------------------------------
// Outbox batches

t.test('a batch is stored, then acknowledged with its epoch and highest seq', async (t) => {
  const hub = setup(t)
  hub.send('n1', 'outbox', batch([event(101, 'Started'), event(102, 'Pulled')]))
  t.strictSame(
    hub.events().map((e) => [e.seq, e.type, e.receivedAt]),
    [
      [101, 'Started', iso(T0)],
      [102, 'Pulled', iso(T0)],
    ],
  )
  t.strictSame(
    hub.transport.acks,
    [{ nodeId: 'n1', ack: { nodeId: 'n1', epoch: EPOCH, seq: 102 }, storedEventsAtSend: 2 }],
    'one ack, sent after both records were stored',
  )
  t.equal(hub.store.status.lastSeq('n1', EPOCH), 102)
  t.equal(hub.store.nodes.get('n1')?.lastSeenAt, iso(T0), 'the node was seen')
  t.equal(hub.metrics.counter('shoal_outbox_records_total', { outcome: 'applied' }), 2)
})

t.test('a batch sent again is acknowledged again and stored once', async (t) => {
  const hub = setup(t)
  const once = batch([event(1), event(2), event(3)])
  hub.send('n1', 'outbox', once)
  hub.advance(10_000)
  hub.send('n1', 'outbox', once)
  t.equal(hub.events().length, 3)
  t.strictSame(
    hub.transport.acks.map((a) => a.ack.seq),
    [3, 3],
    'the lost-ack case: the agent resends, the hub answers the same',
  )
  t.equal(hub.metrics.counter('shoal_outbox_records_total', { outcome: 'duplicate' }), 3)
})

t.test('dedupe is by epoch and seq: an overlapping batch adds only what is new; a new epoch starts afresh', async (t) => {
  const hub = setup(t)
  hub.send('n1', 'outbox', batch([event(1), event(2), event(3)]))
  hub.send('n1', 'outbox', batch([event(2), event(3), event(4), event(5)]))
  t.strictSame(
    hub.events().map((e) => e.seq),
    [1, 2, 3, 4, 5],
  )
  t.equal(hub.metrics.counter('shoal_outbox_records_total', { outcome: 'duplicate' }), 2)
  hub.send('n1', 'outbox', batch([event(1, 'AfterReset')], 'epoch-b'))
  t.strictSame(
    hub
      .events()
      .map((e) => [e.seq, e.type])
      .at(-1),
    [1, 'AfterReset'],
    'seq 1 of a new database is not a duplicate',
  )
  t.strictSame(
    hub.transport.acks.map((a) => a.ack),
    [
      { nodeId: 'n1', epoch: EPOCH, seq: 3 },
      { nodeId: 'n1', epoch: EPOCH, seq: 5 },
      { nodeId: 'n1', epoch: 'epoch-b', seq: 1 },
    ],
  )
})

t.test('records out of order in a batch are stored in seq order', async (t) => {
  const hub = setup(t)
  hub.send('n1', 'outbox', batch([event(7, 'Third'), event(5, 'First'), event(6, 'Second')]))
  t.strictSame(
    hub.events().map((e) => e.type),
    ['First', 'Second', 'Third'],
  )
  t.equal(hub.transport.acks[0]?.ack.seq, 7)
})

t.test('a legacy batch (no epoch) is acknowledged without one', async (t) => {
  const hub = setup(t)
  hub.send('n1', 'outbox', batch([event(1)], null))
  t.strictSame(hub.transport.acks[0]?.ack, { nodeId: 'n1', seq: 1 })
})

t.test('a newer status supersedes the older: workloads it no longer names are gone', async (t) => {
  const hub = setup(t)
  hub.send(
    'n1',
    'outbox',
    batch([
      status(1, 1, [
        ['web', 'running'],
        ['db', 'running'],
      ]),
    ]),
  )
  t.strictSame(
    hub.store.status.workloads({ nodeId: 'n1' }).map((w) => [w.name, w.state]),
    [
      ['db', 'running'],
      ['web', 'running'],
    ],
  )
  hub.send('n1', 'outbox', batch([status(2, 2, [['web', 'exited']])]))
  t.strictSame(
    hub.store.status.workloads({ nodeId: 'n1' }).map((w) => [w.name, w.state, w.revision]),
    [['web', 'exited', 2]],
  )
  t.strictSame(hub.statusReports, [['db', 'web'], ['web']], 'each status names the deployments it reports on')
  t.ok(hub.changes.some((c) => c.type === 'node' && c.reason === 'status'))
  t.ok(hub.changes.some((c) => c.type === 'deployment' && c.name === 'web' && c.reason === 'status'))
})

t.test('within a batch the last status wins; a stale status sent late changes nothing', async (t) => {
  const hub = setup(t)
  hub.send(
    'n1',
    'outbox',
    batch([
      status(3, 3, [['web', 'running']]),
      status(2, 2, [
        ['web', 'exited'],
        ['db', 'running'],
      ]),
    ]),
  )
  t.strictSame(
    hub.store.status.workloads({ nodeId: 'n1' }).map((w) => [w.name, w.state, w.revision]),
    [['web', 'running', 3]],
  )
  hub.send('n1', 'outbox', batch([status(1, 1, [['old', 'running']])]))
  t.strictSame(
    hub.store.status.workloads({ nodeId: 'n1' }).map((w) => w.name),
    ['web'],
    'seq 1 is below what was stored: a duplicate',
  )
  t.strictSame(
    hub.transport.acks.map((a) => a.ack.seq),
    [3, 3],
  )
})

t.test('a status that drops every copy still tells whoever waits on a rollout', async (t) => {
  const hub = setup(t)
  hub.send('n1', 'outbox', batch([status(1, 1, [['web', 'running']])]))
  hub.send('n1', 'outbox', batch([status(2, 2, [])]))
  t.strictSame(hub.statusReports, [['web'], []])
  t.strictSame(hub.store.status.workloads({ nodeId: 'n1' }), [])
})

t.test('devices and policy from a status are kept on the node; a change asks for a scheduling pass', async (t) => {
  const hub = setup(t)
  const policy = { ...DEFAULT_NODE_POLICY, capabilities: ['NET_ADMIN'] }
  const reporting = (seq: number, facts: Pick<NodeStatus, 'devices' | 'policy'>): OutboxRecord => {
    const record = status(seq, 1, [])
    return { ...record, body: { ...(record.body as NodeStatus), ...facts } } as OutboxRecord
  }
  hub.send('n1', 'outbox', batch([status(1, 1, [])]))
  t.match(hub.store.nodes.get('n1'), { devices: null, policy: null }, 'an agent from before devices reports neither')
  t.equal(hub.nodeFacts(), 0)

  hub.send('n1', 'outbox', batch([reporting(2, { devices: ['/dev/ttyUSB0'], policy })]))
  t.match(hub.store.nodes.get('n1'), { devices: ['/dev/ttyUSB0'], policy })
  t.equal(hub.nodeFacts(), 1, 'the first report is a change')

  hub.send('n1', 'outbox', batch([reporting(3, { devices: ['/dev/ttyUSB0'], policy }), status(4, 1, [])]))
  t.equal(hub.nodeFacts(), 1, 'the same again, or a status without them, is no change')
  t.match(hub.store.nodes.get('n1'), { devices: ['/dev/ttyUSB0'], policy })

  hub.send('n1', 'outbox', batch([reporting(5, { devices: [] }), reporting(6, { devices: ['/dev/ttyACM0', '/dev/ttyUSB0'] })]))
  t.same(hub.store.nodes.get('n1')?.devices, ['/dev/ttyACM0', '/dev/ttyUSB0'], 'the newest status in a batch wins')
  t.same(hub.store.nodes.get('n1')?.policy, policy, 'the policy stays')
  t.equal(hub.nodeFacts(), 2, 'one pass asked for per batch')

  hub.send('n1', 'outbox', batch([reporting(5, { devices: [] })]))
  t.same(hub.store.nodes.get('n1')?.devices, ['/dev/ttyACM0', '/dev/ttyUSB0'], 'a duplicate record changes nothing')
  t.equal(hub.store.nodes.get('n2')?.devices, null, 'another node is untouched')
})

t.test('stored events go on the change feed with their ids', async (t) => {
  const hub = setup(t)
  hub.send('n1', 'outbox', batch([event(1, 'Started')]))
  const [stored] = hub.events()
  t.strictSame(
    hub.changes.filter((c) => c.type === 'event'),
    [{ type: 'event', id: stored?.id, nodeId: 'n1', eventType: 'Started', message: 'Started happened', receivedAt: iso(T0) }],
  )
})

t.test('an ack that cannot be sent is logged; the records stay stored and the resend is deduplicated', async (t) => {
  const hub = setup(t)
  hub.transport.failing = true
  hub.send('n1', 'outbox', batch([event(1)]))
  await new Promise<void>((resolve) => setImmediate(resolve))
  t.equal(hub.events().length, 1)
  t.ok(hub.lines.some((l) => l['level'] === 40 && l['msg'] === 'could not send ack; the agent will resend and the hub dedupes'))
  hub.transport.failing = false
  hub.send('n1', 'outbox', batch([event(1)]))
  t.equal(hub.events().length, 1)
  t.strictSame(
    hub.transport.acks.map((a) => a.ack.seq),
    [1, 1],
  )
})

// ---------------------------------------------------------------------------------------------
// Refusals: counted, logged with a reason, nothing stored, nothing acknowledged

const refusals: { what: string; nodeId: string; channel: HubInboundChannel; payload: unknown; reason: string }[] = [
  { what: 'bytes that are not JSON', nodeId: 'n1', channel: 'outbox', payload: Buffer.from('{"nodeId": "n1", "rec'), reason: 'malformed-json' },
  { what: 'a batch without records', nodeId: 'n1', channel: 'outbox', payload: { nodeId: 'n1', epoch: EPOCH, records: [] }, reason: 'invalid' },
  {
    what: 'a record with an unknown field',
    nodeId: 'n1',
    channel: 'outbox',
    payload: batch([{ ...event(1), extra: true } as unknown as OutboxRecord]),
    reason: 'invalid',
  },
  {
    what: 'an event without a type',
    nodeId: 'n1',
    channel: 'outbox',
    payload: batch([{ ...event(1), body: { ...event(1).body, type: undefined } } as unknown as OutboxRecord]),
    reason: 'invalid',
  },
  { what: 'a payload over the limit', nodeId: 'n1', channel: 'outbox', payload: Buffer.alloc(512 * 1024 + 1, 0x20), reason: 'oversize' },
  {
    what: "a batch on n1's topic that says it is n2's",
    nodeId: 'n1',
    channel: 'outbox',
    payload: { ...batch([event(1)]), nodeId: 'n2' },
    reason: 'wrong-node',
  },
  { what: "a record inside n1's batch from n2", nodeId: 'n1', channel: 'outbox', payload: batch([event(1), event(2, 'Other', 'n2')]), reason: 'wrong-node' },
  {
    what: 'a node that is not enrolled',
    nodeId: 'ghost',
    channel: 'outbox',
    payload: { ...batch([event(1, 'X', 'ghost')]), nodeId: 'ghost' },
    reason: 'unknown-node',
  },
  { what: 'a heartbeat naming another node', nodeId: 'n1', channel: 'heartbeat', payload: { ...heartbeat(), nodeId: 'n2' }, reason: 'wrong-node' },
  { what: 'a heartbeat missing its figures', nodeId: 'n1', channel: 'heartbeat', payload: { nodeId: 'n1', at: iso(T0) }, reason: 'invalid' },
  {
    what: 'a heartbeat delta naming another node',
    nodeId: 'n1',
    channel: 'heartbeat',
    payload: { nodeId: 'n2', at: iso(T0), base: iso(T0) },
    reason: 'wrong-node',
  },
  {
    what: 'a heartbeat delta with an unknown field',
    nodeId: 'n1',
    channel: 'heartbeat',
    payload: { nodeId: 'n1', at: iso(T0), base: iso(T0), set: { x: 1 } },
    reason: 'invalid',
  },
  {
    what: 'presence naming another node',
    nodeId: 'n1',
    channel: 'presence',
    payload: { nodeId: 'n2', state: 'online', at: iso(T0) } satisfies Presence,
    reason: 'wrong-node',
  },
  { what: 'presence in an unknown state', nodeId: 'n1', channel: 'presence', payload: { nodeId: 'n1', state: 'asleep', at: iso(T0) }, reason: 'invalid' },
  { what: 'an unknown channel', nodeId: 'n1', channel: 'gossip' as HubInboundChannel, payload: {}, reason: 'unknown-channel' },
]

for (const refusal of refusals) {
  t.test(`refused with reason ${refusal.reason}: ${refusal.what}`, async (t) => {
    const hub = setup(t)
    t.doesNotThrow(() => hub.send(refusal.nodeId, refusal.channel, refusal.payload), 'never throws out of handle()')
    t.strictSame(hub.rejected(), [{ level: 40, channel: refusal.channel, reason: refusal.reason }], 'one warning with the reason')
    t.equal(hub.metrics.counter('shoal_messages_rejected_total', { channel: refusal.channel, reason: refusal.reason }), 1)
    t.strictSame(hub.transport.acks, [], 'nothing acknowledged')
    t.strictSame([...hub.events('n1'), ...hub.events('n2')], [], 'no event stored')
    t.strictSame(hub.store.status.workloads({}), [], 'no status stored')
    t.equal(hub.store.status.lastSeq('n1', EPOCH), 0, 'no seq recorded')
    t.equal(hub.store.nodes.get('n1')?.online, false, 'presence unchanged')
    t.strictSame(hub.presenceChanges, [])
  })
}

t.test("a refused message's log line says what was wrong", async (t) => {
  const hub = setup(t)
  hub.send('n1', 'outbox', { ...batch([event(1)]), nodeId: 'n2' })
  const line = hub.lines.find((l) => l['msg'] === 'rejected a message')
  t.match(line, { nodeId: 'n1', channel: 'outbox', reason: 'wrong-node', detail: "batch on n1's topic claims to be from another node" })
})

// ---------------------------------------------------------------------------------------------
// Presence, heartbeats and log chunks

const presence = (state: Presence['state'], nodeId = 'n1'): Presence => ({ nodeId, state, at: iso(T0) })

t.test('presence online marks the node online once and sends it the reconnect hint; offline says why', async (t) => {
  const hub = setup(t)
  hub.send('n1', 'presence', presence('online'))
  t.equal(hub.store.nodes.get('n1')?.online, true)
  t.strictSame(hub.presenceChanges, [['n1', true]])
  t.strictSame(hub.transport.other, [{ nodeId: 'n1', body: { kind: 'reconnect-hint', nodeId: 'n1', reconnectCapMs: 1_000 } }], 'the hint rides the ack channel')
  hub.advance(1_000)
  hub.send('n1', 'presence', presence('online'))
  t.strictSame(hub.presenceChanges, [['n1', true]], 'already online: no second change')
  hub.advance(1_000)
  hub.send('n1', 'presence', presence('offline'))
  t.equal(hub.store.nodes.get('n1')?.online, false)
  t.strictSame(hub.presenceChanges, [
    ['n1', true],
    ['n1', false],
  ])
  t.strictSame(
    hub.events().map((e) => [e.type, e.severity, e.message, e.receivedAt]),
    [
      ['NodeOnline', 'info', 'n1 is online', iso(T0)],
      ['NodeOffline', 'warning', 'n1 is offline: the node said goodbye or its connection was lost (will message)', iso(T0 + 2_000)],
    ],
  )
  t.strictSame(
    hub.changes.filter((c) => c.type === 'node').map((c) => c.type === 'node' && c.reason),
    ['online', 'offline'],
  )
  t.strictSame(hub.transport.acks, [], 'presence is never acknowledged')
})

t.test('a heartbeat is stored and brings an offline node online', async (t) => {
  const hub = setup(t)
  hub.send('n1', 'heartbeat', heartbeat())
  const node = hub.store.nodes.get('n1')
  t.equal(node?.online, true)
  t.equal(node?.lastHeartbeatAt, iso(T0))
  t.equal(node?.observedGeneration, 3)
  t.strictSame(hub.presenceChanges, [['n1', true]])
  t.ok(hub.changes.some((c) => c.type === 'node' && c.reason === 'heartbeat'))
  t.strictSame(hub.rejected(), [])
})

t.test('a heartbeat without traffic figures keeps the last ones; one with them replaces them', async (t) => {
  const hub = setup(t)
  const traffic = { month: '2030-01', bytes: { control: 1, status: 2, logs: 0, images: 3, sessions: 0 }, budgetBytes: 10 }
  hub.send('n1', 'heartbeat', { ...heartbeat(), traffic })
  hub.send('n1', 'heartbeat', { ...heartbeat(), outboxDepth: 7 })
  t.same(hub.store.nodes.get('n1')?.lastHeartbeat, { ...heartbeat(), outboxDepth: 7, traffic })
  const moved = { ...traffic, bytes: { ...traffic.bytes, images: 70_000 } }
  hub.send('n1', 'heartbeat', { ...heartbeat(), traffic: moved })
  t.same(hub.store.nodes.get('n1')?.lastHeartbeat?.traffic, moved)
  hub.send('n2', 'heartbeat', { ...heartbeat(), nodeId: 'n2' })
  t.notOk(hub.store.nodes.get('n2')?.lastHeartbeat?.traffic, 'a node that never sent figures has none')
  t.strictSame(hub.rejected(), [])
})

t.test('what a node reads (desiredEncodings) is kept from its heartbeats, deltas too, and across a hub restart', async (t) => {
  const hub = setup(t)
  t.equal(hub.store.nodes.desiredEncodings('n1'), undefined, 'nothing said before the first heartbeat')
  hub.send('n1', 'heartbeat', { ...heartbeat(), desiredEncodings: ['gzip'] })
  t.strictSame(hub.store.nodes.desiredEncodings('n1'), ['gzip'])
  hub.advance(30_000)
  hub.send('n1', 'heartbeat', { nodeId: 'n1', at: iso(T0 + 30_000), base: iso(T0), set: { outboxDepth: 0 } })
  t.strictSame(hub.store.nodes.desiredEncodings('n1'), ['gzip'], 'a delta that leaves it out keeps it (it is in the base)')
  hub.store.nodes.flushHeartbeats()
  const reopened = new HubStore(hub.store.db)
  t.strictSame(reopened.nodes.desiredEncodings('n1'), ['gzip'], 'stored with the heartbeat: a restarted hub knows it')
  t.equal(reopened.nodes.desiredEncodings('n2'), undefined)
  t.strictSame(hub.gzipDropped, [], 'nothing was dropped')
  hub.send('n1', 'heartbeat', { ...heartbeat(), desiredEncodings: ['br', 'gzip', 'zstd'] })
  t.strictSame(hub.rejected(), [], 'encodings this hub does not know are no fault')
  t.strictSame(hub.gzipDropped, [])
})

t.test('a full heartbeat that no longer names gzip (an older agent) asks for the document again, once', async (t) => {
  const hub = setup(t)
  hub.send('n1', 'heartbeat', heartbeat())
  t.strictSame(hub.gzipDropped, [], 'never said: nothing to drop')
  hub.send('n1', 'heartbeat', { ...heartbeat(), desiredEncodings: ['gzip'] })
  t.strictSame(hub.gzipDropped, [], 'said for the first time: the next document goes gzipped, none is sent again')
  hub.send('n1', 'heartbeat', heartbeat())
  t.strictSame(hub.gzipDropped, ['n1'], 'dropped: published again, as plain JSON')
  t.strictSame(hub.store.nodes.desiredEncodings('n1'), undefined)
  hub.send('n1', 'heartbeat', heartbeat())
  t.strictSame(hub.gzipDropped, ['n1'], 'once')
  hub.send('n1', 'heartbeat', { ...heartbeat(), desiredEncodings: ['br'] })
  t.strictSame(hub.gzipDropped, ['n1'])
  t.match(
    hub.lines.filter((l) => l['msg'] === 'the node no longer says it reads gzip; sending its desired document as plain JSON'),
    [{ nodeId: 'n1' }],
    'said once in the log',
  )
})

t.test('heartbeat deltas: the first full heartbeat is confirmed; a delta merges into it and the node view stays whole', async (t) => {
  const hub = setup(t)
  hub.send('n1', 'heartbeat', heartbeat())
  t.strictSame(hub.transport.other, [{ nodeId: 'n1', body: { kind: 'heartbeat-basis', nodeId: 'n1', base: iso(T0) } }], 'the base is confirmed to the node')
  hub.advance(30_000)
  hub.send('n1', 'heartbeat', { nodeId: 'n1', at: iso(T0 + 30_000), base: iso(T0), set: { outboxDepth: 0 } })
  const node = hub.store.nodes.get('n1')
  t.strictSame(
    node?.lastHeartbeat,
    { ...heartbeat(), at: iso(T0 + 30_000), uptimeSeconds: 35, outboxDepth: 0 },
    'cpu, memory, disk and workloads from the base',
  )
  t.equal(node?.lastHeartbeatAt, iso(T0 + 30_000))
  t.equal(hub.transport.other.length, 1, 'a merged delta is not answered')
  t.strictSame(hub.rejected(), [])
})

t.test('heartbeat deltas: a delta with no base held (a restarted hub) keeps the node online and asks for a full heartbeat', async (t) => {
  const hub = setup(t)
  hub.send('n1', 'heartbeat', { nodeId: 'n1', at: iso(T0), base: iso(T0 - 30_000) })
  t.strictSame(hub.transport.other, [{ nodeId: 'n1', body: { kind: 'heartbeat-basis', nodeId: 'n1', base: null } }])
  const node = hub.store.nodes.get('n1')
  t.equal(node?.online, true, 'heard from: online')
  t.equal(node?.lastHeartbeat, null, 'nothing merged, nothing stored as a heartbeat')
  t.match(hub.lines, [{ msg: 'a heartbeat delta without its base; asked the node for a full heartbeat', nodeId: 'n1' }])
  hub.send('n1', 'heartbeat', heartbeat())
  t.equal(hub.transport.other.length, 2, 'the full heartbeat that follows is confirmed')
  t.strictSame(hub.rejected(), [])
})

t.test('heartbeat deltas: a new connection (presence) gets its first full heartbeat confirmed again', async (t) => {
  const hub = setup(t)
  hub.send('n1', 'heartbeat', heartbeat())
  hub.send('n1', 'heartbeat', { ...heartbeat(), at: iso(T0 + 1000) })
  t.equal(hub.transport.other.filter((o) => (o.body as { kind: string }).kind === 'heartbeat-basis').length, 1, 'once per connection')
  hub.send('n1', 'presence', { nodeId: 'n1', state: 'online', at: iso(T0) } satisfies Presence)
  hub.send('n1', 'heartbeat', { ...heartbeat(), at: iso(T0 + 2000) })
  t.equal(hub.transport.other.filter((o) => (o.body as { kind: string }).kind === 'heartbeat-basis').length, 2)
})

t.test('a log chunk is validated and handed on untouched; one naming another node is refused', async (t) => {
  const hub = setup(t)
  const chunk = { nodeId: 'n1', requestId: 'request-1', seq: 0, lines: [{ stream: 'stdout', text: 'hello' }], end: true }
  hub.send('n1', 'logs-chunk', chunk)
  hub.send('n1', 'logs-chunk', { ...chunk, nodeId: 'n2' })
  t.strictSame(hub.logChunks, [['n1', JSON.stringify(chunk)]])
  t.strictSame(hub.rejected(), [{ level: 40, channel: 'logs-chunk', reason: 'wrong-node' }])
})

t.test('messages are counted by channel, refused or not', async (t) => {
  const hub = setup(t)
  hub.send('n1', 'outbox', batch([event(1)]))
  hub.send('n1', 'outbox', Buffer.from('nope'))
  hub.send('n1', 'presence', presence('online'))
  t.equal(hub.metrics.counter('shoal_messages_in_total', { channel: 'outbox' }), 2)
  t.equal(hub.metrics.counter('shoal_messages_in_total', { channel: 'presence' }), 1)
})

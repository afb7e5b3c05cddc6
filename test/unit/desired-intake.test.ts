import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { pino } from 'pino'
import t from 'tap'
import { DesiredIntake, type IntakeResult } from '../../agent/intake/desired-intake.js'
import { AgentStore, type StoredDesired } from '../../agent/store/agent-store.js'
import { openAgentDatabase } from '../../agent/store/open-agent-database.js'
import { encodeDesired } from '../../protocol/desired-compression.js'
import { ContainerTemplate, MAX_BYTES, generateSigningKeys, signDocument, type NodeEvent, type UnsignedDesiredDocument } from '../../protocol/index.js'
import { tempDir } from '../support/tmp.js'

type TapTest = Parameters<Parameters<typeof t.test>[0]>[0]

const NODE = 'pi-17'
const T0 = 1_750_000_000_000
const hub = generateSigningKeys()
const stranger = generateSigningKeys()

function unsigned(generation: number, overrides: Partial<UnsignedDesiredDocument> = {}): UnsignedDesiredDocument {
  return {
    apiVersion: 'shoal/v1',
    kind: 'NodeDesiredState',
    nodeId: NODE,
    generation,
    issuedAt: new Date(T0).toISOString(),
    workloads: [
      {
        name: 'ingest',
        deployment: 'ingest',
        revision: 3,
        template: ContainerTemplate.parse({ image: 'registry.example/ingest:1.4', env: { LEVEL: 'info', REGION: 'eu-1' } }),
      },
    ],
    ...overrides,
  }
}

/** The bytes the hub would publish: a signed document, as JSON. */
function signed(generation: number, overrides: Partial<UnsignedDesiredDocument> = {}, key = hub.privateKeyPem): string {
  return JSON.stringify(signDocument(unsigned(generation, overrides), key))
}

interface Setup {
  readonly intake: DesiredIntake
  readonly store: AgentStore
  /** Every event in the outbox, oldest first. */
  readonly events: () => NodeEvent[]
  /** Changes the pinned hub key (null: none), as enrolment would. */
  readonly pin: (key: string | null) => void
}

/** A real store in a temp SQLite file, and an intake with the hub's key pinned. */
function setup(t: TapTest): Setup {
  const clock = { now: () => T0 }
  const { db } = openAgentDatabase(join(tempDir(t, 'intake'), 'agent.db'), pino({ level: 'silent' }), { now: clock.now })
  t.teardown(() => db.close())
  const store = new AgentStore(db, clock, { maxRecords: 1_000, maxBytes: 4 * 1024 * 1024 })
  let pinned: string | null = hub.publicKey
  const intake = new DesiredIntake({ nodeId: NODE, store, clock, logger: pino({ level: 'silent' }), hubPublicKey: () => pinned })
  const events = (): NodeEvent[] => store.pendingOutbox(0, 10_000, Number.MAX_SAFE_INTEGER).map((row) => row.body as NodeEvent)
  return { intake, store, events, pin: (key) => void (pinned = key) }
}

t.test('accepts a newer signed document: stored durably, with a DesiredAccepted event', async (t) => {
  const { intake, store, events } = setup(t)
  t.strictSame(intake.receive(Buffer.from(signed(5))), { outcome: 'accepted', generation: 5 })
  const stored = store.desired()
  t.equal(stored?.generation, 5)
  t.strictSame(stored?.document, signDocument(unsigned(5), hub.privateKeyPem), 'the whole document, as verified')
  t.equal(stored?.acceptedAt, new Date(T0).toISOString())
  t.strictSame(events(), [
    {
      nodeId: NODE,
      type: 'DesiredAccepted',
      severity: 'info',
      message: 'accepted generation 5 with 1 workload(s)',
      at: new Date(T0).toISOString(),
      data: { generation: 5 },
    },
  ])

  t.strictSame(intake.receive(signed(9, { workloads: [] })), { outcome: 'accepted', generation: 9 }, 'a later one replaces it (string payload)')
  t.equal(store.desired()?.generation, 9)
  t.strictSame(store.desired()?.document.workloads, [])
  t.equal(events().length, 2)
})

t.test('accepts a payload that is a view into a larger buffer', async (t) => {
  const { intake, store } = setup(t)
  const json = Buffer.from(signed(2))
  const big = Buffer.concat([Buffer.from('GARBAGE-BEFORE'), json, Buffer.from('GARBAGE-AFTER')])
  const view = new Uint8Array(big.buffer, big.byteOffset + 'GARBAGE-BEFORE'.length, json.length)
  t.strictSame(intake.receive(view), { outcome: 'accepted', generation: 2 })
  t.equal(store.desired()?.generation, 2)
})

t.test('ignores a document whose generation is equal or older: nothing stored changes, no event', async (t) => {
  const { intake, store, events } = setup(t)
  intake.receive(signed(5))
  const before = store.desired()
  const eventsBefore = events()
  t.strictSame(intake.receive(signed(5)), { outcome: 'stale', generation: 5, current: 5 }, 'a duplicate delivery')
  t.strictSame(intake.receive(signed(5, { workloads: [] })), { outcome: 'stale', generation: 5, current: 5 }, 'same generation, other content')
  t.strictSame(intake.receive(signed(4, { workloads: [] })), { outcome: 'stale', generation: 4, current: 5 }, 'a reordered older one')
  t.strictSame(store.desired(), before)
  t.strictSame(events(), eventsBefore)
})

t.test('a gzipped document is inflated, verified and stored as the same document a plain one makes', async (t) => {
  const { intake, store } = setup(t)
  const document = signDocument(unsigned(7), hub.privateKeyPem)
  const payload = encodeDesired(document, ['gzip'], { fromBytes: 0 })
  t.same([payload[0], payload[1]], [0x1f, 0x8b], 'the payload is gzip')
  t.strictSame(intake.receive(payload), { outcome: 'accepted', generation: 7 })
  t.strictSame(store.desired()?.document, document, 'stored as the document itself, not as the bytes that carried it')
  t.strictSame(intake.receive(Buffer.from(signed(8))), { outcome: 'accepted', generation: 8 }, 'plain JSON is still taken after it')
})

t.test('an empty payload (a cleared retained topic) keeps the stored document and raises no event', async (t) => {
  const { intake, store, events } = setup(t)
  intake.receive(signed(3))
  const before = store.desired()
  const eventsBefore = events()
  t.strictSame(intake.receive(Buffer.alloc(0)), { outcome: 'cleared' })
  t.strictSame(store.desired(), before)
  t.strictSame(events(), eventsBefore)
})

interface Rejection {
  readonly name: string
  readonly payload: () => string | Buffer
  readonly code: string
  readonly reason: RegExp
  readonly pinnedKey?: string | null
}

const rejections: readonly Rejection[] = [
  {
    name: 'a signature by another key',
    payload: () => signed(6, {}, stranger.privateKeyPem),
    code: 'bad-signature',
    reason: /signature does not match the pinned hub key \(signed by key [0-9a-f]{16}, pinned key is [0-9a-f]{16}\)/,
  },
  {
    name: "one flipped character in a workload's env value",
    payload: () => {
      const text = signed(6)
      const tampered = text.replace('"LEVEL":"info"', '"LEVEL":"infp"')
      if (tampered === text) throw new Error('the test did not tamper with anything')
      return tampered
    },
    code: 'bad-signature',
    reason: /signature does not match/,
  },
  {
    name: 'a raised generation without re-signing',
    payload: () => signed(6).replace('"generation":6', '"generation":60'),
    code: 'bad-signature',
    reason: /signature does not match/,
  },
  {
    name: 'no signature at all',
    payload: () => JSON.stringify({ ...unsigned(6), keyId: 'x' }),
    code: 'bad-signature',
    reason: /no signature/,
  },
  {
    name: 'a document for another node',
    payload: () => signed(6, { nodeId: 'pi-18' }),
    code: 'wrong-node',
    reason: /addressed to node pi-18, not pi-17/,
  },
  {
    name: 'a correctly signed document that fails the schema',
    payload: () => {
      const broken = unsigned(6)
      const workload = { ...broken.workloads[0]!, template: { ...broken.workloads[0]!.template, restartPolicy: 'sometimes' } }
      return signed(6, { workloads: [workload] as unknown as UnsignedDesiredDocument['workloads'] })
    },
    code: 'invalid',
    reason: /workloads\[0\]\.template\.restartPolicy/,
  },
  {
    name: 'malformed JSON',
    payload: () => signed(6).slice(0, 80),
    code: 'malformed-json',
    reason: /payload is not JSON/,
  },
  {
    name: 'a payload over 1 MiB',
    payload: () => {
      const padded = signed(6, { workloads: [] }).replace(/}$/, `,"padding":"${'x'.repeat(MAX_BYTES.desired)}"}`)
      return Buffer.from(padded)
    },
    code: 'oversize',
    reason: /exceeds the limit of 1048576 bytes/,
  },
  {
    name: 'a gzip bomb (2 MiB of spaces gzipped to 2 KiB)',
    payload: () => gzipSync(Buffer.alloc(2 * MAX_BYTES.desired, ' ')),
    code: 'oversize',
    reason: /inflates past the limit of 1048576 bytes/,
  },
  {
    name: 'a truncated gzipped document',
    payload: () => {
      const gzipped = gzipSync(signed(6))
      return gzipped.subarray(0, gzipped.length - 10)
    },
    code: 'bad-compression',
    reason: /cannot be inflated: unexpected end of file/,
  },
  {
    name: 'a gzipped document with a corrupt byte',
    payload: () => {
      const gzipped = Buffer.from(gzipSync(signed(6)))
      gzipped[gzipped.length - 12] = (gzipped[gzipped.length - 12] ?? 0) ^ 0xff
      return gzipped
    },
    code: 'bad-compression',
    reason: /cannot be inflated/,
  },
  {
    name: 'a gzipped document changed before it was gzipped',
    payload: () => gzipSync(signed(6).replace('"LEVEL":"info"', '"LEVEL":"infp"')),
    code: 'bad-signature',
    reason: /signature does not match/,
  },
  {
    name: 'gzipped bytes that are not JSON',
    payload: () => gzipSync('not json at all'),
    code: 'malformed-json',
    reason: /payload is not JSON/,
  },
  {
    name: 'a valid document while no hub key is pinned',
    payload: () => signed(6),
    code: 'no-pinned-key',
    reason: /no hub key is pinned/,
    pinnedKey: null,
  },
]

for (const rejection of rejections) {
  t.test(`rejects ${rejection.name}, with a DesiredRejected event and the stored document unchanged`, async (t) => {
    const { intake, store, events, pin } = setup(t)
    t.equal(intake.receive(signed(5)).outcome, 'accepted', 'a document is in place first')
    if (rejection.pinnedKey !== undefined) pin(rejection.pinnedKey)
    const before: StoredDesired | null = store.desired()
    const eventsBefore = events()

    const result: IntakeResult = intake.receive(rejection.payload())
    t.equal(result.outcome, 'rejected')
    if (result.outcome !== 'rejected') return
    t.equal(result.code, rejection.code)
    t.match(result.reason, rejection.reason)

    t.strictSame(store.desired(), before, 'the stored document is unchanged')
    const added = events().slice(eventsBefore.length)
    t.strictSame(
      added,
      [{ nodeId: NODE, type: 'DesiredRejected', severity: 'error', message: result.reason, at: new Date(T0).toISOString(), data: { code: rejection.code } }],
      'exactly one DesiredRejected event, carrying the reason code',
    )
  })
}

t.test('a rejection never lets a later, valid document through with a lower generation', async (t) => {
  const { intake, store } = setup(t)
  intake.receive(signed(5))
  intake.receive(signed(50, {}, stranger.privateKeyPem))
  t.equal(store.desired()?.generation, 5, 'the forged generation was not recorded anywhere')
  t.strictSame(intake.receive(signed(6)), { outcome: 'accepted', generation: 6 })
})

t.test('the pinned key is read at each delivery, so a key pinned after start takes effect', async (t) => {
  const { intake, store, pin } = setup(t)
  pin(null)
  t.equal(intake.receive(signed(1)).outcome, 'rejected')
  t.equal(store.desired(), null)
  pin(hub.publicKey)
  t.strictSame(intake.receive(signed(1)), { outcome: 'accepted', generation: 1 })
})

t.test('a flood of bad documents: the first ten per code and minute are events, the rest one summary with a count and the last reason', async (t) => {
  let now = T0
  const clock = { now: () => now }
  const { db } = openAgentDatabase(join(tempDir(t, 'intake-flood'), 'agent.db'), pino({ level: 'silent' }), { now: clock.now })
  t.teardown(() => db.close())
  const store = new AgentStore(db, clock, { maxRecords: 1_000, maxBytes: 4 * 1024 * 1024 })
  const intake = new DesiredIntake({ nodeId: NODE, store, clock, logger: pino({ level: 'silent' }), hubPublicKey: () => hub.publicKey })
  const events = (): NodeEvent[] => store.pendingOutbox(0, 10_000, Number.MAX_SAFE_INTEGER).map((row) => row.body as NodeEvent)
  const outcomes = new Set<string>()
  for (let i = 0; i < 500; i++) outcomes.add(intake.receive(`{"broken": ${i}`).outcome)
  t.same([...outcomes], ['rejected'], 'every one of the 500 is rejected')
  intake.receive(signed(3, {}, stranger.privateKeyPem))
  t.equal(events().length, 11, 'ten malformed-json events and one bad-signature: the other 490 are only counted')
  intake.flushRejections()
  t.equal(events().length, 11, 'no summary while the window runs')
  now += 60_000
  intake.flushRejections()
  const summary = events().at(-1)
  t.match(summary, { type: 'DesiredRejected', severity: 'error', data: { code: 'malformed-json', suppressed: 490 } })
  t.match(summary?.message, /490 more desired document\(s\) rejected with code malformed-json within 60 s.*the last: /)
  intake.flushRejections()
  t.equal(events().length, 12, 'a summary is sent once')
  t.equal(intake.receive('{"broken": again').outcome, 'rejected')
  t.equal(events().length, 13, 'a new window reports again')
  t.equal(intake.receive(signed(4)).outcome, 'accepted', 'a good document still goes through')
})

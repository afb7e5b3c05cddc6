// The intake refuses a document whose sealed Secrets do not open with this node's key (sealed to
// another node, or changed on the way), reports it naming the Secret and workload, and keeps the
// previous document; a good one is stored as received, its Secrets still sealed.
import { createPrivateKey } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { pino } from 'pino'
import t from 'tap'
import { DesiredIntake } from '../../agent/intake/desired-intake.js'
import { AgentStore } from '../../agent/store/agent-store.js'
import { openAgentDatabase } from '../../agent/store/open-agent-database.js'
import {
  ContainerTemplate,
  generateSealingKeyPair,
  generateSigningKeys,
  signDocument,
  type NodeEvent,
  type UnsignedDesiredDocument,
  type Workload,
} from '../../protocol/index.js'
import { sealedSecret, tamperedSecret } from '../support/agent-values.js'
import { tempDir } from '../support/tmp.js'

type TapTest = Parameters<Parameters<typeof t.test>[0]>[0]

const NODE = 'pi-17'
const T0 = 1_750_000_000_000
const MARKER = 'MARKER-7f3c-plaintext'
const hub = generateSigningKeys()
const nodeKey = generateSealingKeyPair()
const otherNode = generateSealingKeyPair()

function ingest(secret: Workload['values'], fallbackSecret?: Workload['values']): Workload {
  const template = ContainerTemplate.parse({ image: 'registry.example/ingest:1.4', env: { TOKEN: { secret: 'api', key: 'token' } } })
  return {
    name: 'ingest',
    deployment: 'ingest',
    revision: 3,
    template,
    ...(secret ? { values: secret } : {}),
    ...(fallbackSecret ? { fallback: { revision: 2, template, values: fallbackSecret, revertWindowSeconds: 600 } } : {}),
  }
}

const secrets = (publicKey: string, version = 1) => ({ secrets: { api: sealedSecret(NODE, 'api', version, { token: MARKER }, publicKey) } })

function signed(generation: number, workloads: Workload[]): string {
  const document: UnsignedDesiredDocument = {
    apiVersion: 'shoal/v1',
    kind: 'NodeDesiredState',
    nodeId: NODE,
    generation,
    issuedAt: new Date(T0).toISOString(),
    workloads,
  }
  return JSON.stringify(signDocument(document, hub.privateKeyPem))
}

function setup(t: TapTest) {
  const dir = tempDir(t, 'agent-values-intake')
  const clock = { now: () => T0 }
  const { db } = openAgentDatabase(join(dir, 'agent.db'), pino({ level: 'silent' }), { now: clock.now })
  t.teardown(() => db.close())
  const store = new AgentStore(db, clock, { maxRecords: 1_000, maxBytes: 4 * 1024 * 1024 })
  const privateKey = createPrivateKey(nodeKey.privateKeyPem)
  const intake = new DesiredIntake({
    nodeId: NODE,
    store,
    clock,
    logger: pino({ level: 'silent' }),
    hubPublicKey: () => hub.publicKey,
    sealingKey: () => privateKey,
  })
  const rejections = (): NodeEvent[] =>
    store
      .pendingOutbox(0, 10_000, Number.MAX_SAFE_INTEGER)
      .map((row) => row.body as NodeEvent)
      .filter((e) => e.type === 'DesiredRejected')
  return { dir, store, intake, rejections }
}

t.test('a document whose Secrets open is stored as received: sealed, no plaintext in the database', async (t) => {
  const { dir, store, intake } = setup(t)
  t.strictSame(intake.receive(signed(5, [ingest(secrets(nodeKey.publicKey))])), { outcome: 'accepted', generation: 5 })
  t.ok(store.desired()?.document.workloads[0]?.values?.secrets?.api?.sealed.ciphertext, 'the box is stored')
  store.close()
  for (const file of ['agent.db', 'agent.db-wal']) {
    let bytes: Buffer
    try {
      bytes = readFileSync(join(dir, file))
    } catch {
      continue
    }
    t.notOk(bytes.includes(MARKER), `${file} holds no secret value in clear`)
  }
})

t.test('a box sealed to another node is refused naming secret and workload; the previous document keeps running', async (t) => {
  const { store, intake, rejections } = setup(t)
  intake.receive(signed(5, [ingest(secrets(nodeKey.publicKey))]))
  const before = store.desired()
  const result = intake.receive(signed(6, [ingest(secrets(otherNode.publicKey, 2))]))
  t.match(result, { outcome: 'rejected', code: 'unsealable-secret' })
  t.strictSame(store.desired(), before, 'generation 5 is still the document')
  const [event] = rejections()
  t.equal(event?.data?.code, 'unsealable-secret')
  t.match(event?.message, /workload ingest: secret api version 2 does not open with this node's sealing key/)
  t.match(event?.message, /previous document keeps running/)
  t.notMatch(JSON.stringify(rejections()), MARKER)
})

t.test('a tampered ciphertext is refused, in a fallback too', async (t) => {
  const { store, intake, rejections } = setup(t)
  intake.receive(signed(5, [ingest(secrets(nodeKey.publicKey))]))
  const good = secrets(nodeKey.publicKey)
  const tampered = { secrets: { api: tamperedSecret(good.secrets.api) } }
  t.match(intake.receive(signed(6, [ingest(tampered)])), { outcome: 'rejected', code: 'unsealable-secret' })
  t.match(intake.receive(signed(7, [ingest(good, tampered)])), { outcome: 'rejected', code: 'unsealable-secret' })
  t.match(rejections()[1]?.message, /workload ingest \(its fallback, revision 2\): secret api version 1/)
  t.equal(store.desired()?.generation, 5)
  t.match(intake.receive(signed(8, [ingest(good, good)])), { outcome: 'accepted', generation: 8 }, 'a good one after is taken')
})

t.test('without a sealing key, a document with Secrets is refused; one without is taken', async (t) => {
  const { store } = setup(t)
  const intake = new DesiredIntake({ nodeId: NODE, store, clock: { now: () => T0 }, logger: pino({ level: 'silent' }), hubPublicKey: () => hub.publicKey })
  t.match(intake.receive(signed(5, [ingest(secrets(nodeKey.publicKey))])), { outcome: 'rejected', code: 'no-sealing-key' })
  t.match(intake.receive(signed(6, [ingest(undefined)])), { outcome: 'accepted' })
})

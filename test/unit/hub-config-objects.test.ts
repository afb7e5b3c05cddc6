// Configs and Secrets on the hub (issue 12): sealing and at-rest encryption, references and pins,
// and the apply path against a real SQLite hub store and a real fleet controller (its passes run
// on request; nothing is published): versions, rolling the users, refusals, views without a
// Secret's values, documents whose Secrets open only with their node's key.
import { readFileSync } from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { AtRestCipher, AtRestDecryptError } from '../../hub/config-objects/at-rest-cipher.js'
import { ConfigObjectInUseError, ConfigObjectService } from '../../hub/config-objects/config-object-service.js'
import { refProblems, templateRefs } from '../../hub/config-objects/template-refs.js'
import { DeploymentService } from '../../hub/deployments/deployment-service.js'
import { ManifestsRefusedError, readManifests } from '../../hub/deployments/read-manifests.js'
import { ContainerTemplate, generateSealingKeyPair, resolveData, seal, sealContext, unseal, UnsealError } from '../../protocol/index.js'
import { nodeRecord } from '../support/hub-nodes.js'
import type { TestLike } from '../support/types.js'
import { hubFleet } from '../support/hub-fleet.js'

const MARKER = 'sekrit-7f3a9c-marker'
const T0 = Date.parse('2026-12-01T00:00:00Z')

t.test('sealing opens only with the node key, the same context and untouched bytes', async (t) => {
  const node = generateSealingKeyPair()
  const other = generateSealingKeyPair()
  const context = sealContext('n1', 'api', 2)
  const box = seal(Buffer.from(MARKER), node.publicKey, context)
  t.equal(unseal(box, node.privateKeyPem, context).toString(), MARKER)
  t.notOk(JSON.stringify(box).includes(MARKER), 'the box does not hold the value in clear')
  t.throws(() => unseal(box, other.privateKeyPem, context), UnsealError, "another node's key")
  t.throws(() => unseal(box, node.privateKeyPem, sealContext('n2', 'api', 2)), UnsealError, 'moved to another node')
  t.throws(() => unseal(box, node.privateKeyPem, sealContext('n1', 'api', 3)), UnsealError, 'moved to another version')
  const flipped = Buffer.from(box.ciphertext, 'base64url')
  flipped[0] = (flipped[0] ?? 0) ^ 1
  t.throws(() => unseal({ ...box, ciphertext: flipped.toString('base64url') }, node.privateKeyPem, context), /cannot decrypt/, 'a changed byte')
  t.not(seal(Buffer.from(MARKER), node.publicKey, context).ciphertext, box.ciphertext, 'randomized: sealing again gives other bytes')
})

t.test('at rest: AES-256-GCM bound to its row', async (t) => {
  const cipher = new AtRestCipher(Buffer.alloc(32, 7))
  const text = cipher.encrypt(MARKER, 'Secret/api version 1')
  t.notOk(text.includes(MARKER))
  t.equal(cipher.decrypt(text, 'Secret/api version 1'), MARKER)
  t.throws(() => cipher.decrypt(text, 'Secret/api version 2'), AtRestDecryptError)
  t.throws(() => new AtRestCipher(Buffer.alloc(32, 8)).decrypt(text, 'Secret/api version 1'), /secrets-key is not the key/)
})

t.test('overrides apply in order to matching labels', async (t) => {
  const object = {
    data: { a: '1', b: '1' },
    overrides: [
      { selector: { matchLabels: { site: 'x' } }, data: { a: 'x' } },
      { selector: { matchExpressions: [{ key: 'tier', operator: 'Exists' as const }] }, data: { a: 't', c: 't' } },
    ],
  }
  t.same(resolveData(object, {}), { data: { a: '1', b: '1' }, overrides: [] })
  t.same(resolveData(object, { site: 'x' }), { data: { a: 'x', b: '1' }, overrides: [0] })
  t.same(resolveData(object, { site: 'x', tier: 'edge' }), { data: { a: 't', b: '1', c: 't' }, overrides: [0, 1] }, 'the later one wins')
})

t.test('template references and their problems', async (t) => {
  const template = ContainerTemplate.parse({
    image: 'x',
    env: { PLAIN: 'v', A: { config: 'c', key: 'k' }, B: { secret: 's', key: 'token' } },
    volumes: [
      { name: 'data', path: '/data' },
      { config: 'c', path: '/etc/c' },
      { secret: 's', path: '/run/s' },
    ],
    pullCredentials: { secret: 'reg' },
  })
  t.same(
    templateRefs(template).map((ref) => `${ref.kind}/${ref.name} ${ref.field} [${ref.keys.join(',')}]`),
    [
      'Config/c env.A [k]',
      'Secret/s env.B [token]',
      'Config/c volumes[1].config []',
      'Secret/s volumes[2].secret []',
      'Secret/reg pullCredentials.secret [username,password]',
    ],
  )
  const stored: Record<string, Record<string, string>> = { 'Config/c': { k: '1' }, 'Secret/s': {}, 'Secret/reg': { username: 'u' } }
  t.same(
    refProblems(template, (kind, name) => stored[`${kind}/${name}`] ?? null).map((p) => `${p.field}: ${p.message}`),
    ['env.B: Secret "s" has no key "token" in its data', 'pullCredentials.secret: Secret "reg" has no key "password" in its data'],
  )
  t.match(refProblems(template, () => null)[0], { field: 'env.A', message: 'Config "c" does not exist; apply it first (or in the same apply)' })
})

function setUp(t: TestLike) {
  const { dir, store, bodies, clock, feed, fleet } = hubFleet(t, 'hub-config-objects', T0)
  const keys = new Map<string, ReturnType<typeof generateSealingKeyPair>>()
  const at = new Date(T0).toISOString()
  for (const [id, site] of [
    ['n1', 'a'],
    ['n2', 'b'],
  ] as const) {
    const key = generateSealingKeyPair()
    keys.set(id, key)
    store.nodes.insert(nodeRecord(id, { labels: { site }, createdAt: at }))
    store.nodes.setSealingKey(id, key.publicKey)
    store.nodes.setOnline(id, true, at)
  }
  const objects = new ConfigObjectService(store, bodies)
  const service = new DeploymentService({ store, fleet, feed, clock, objects })
  const apply = (yaml: string) => service.apply(readManifests(yaml, 'request'), 'alice')
  return { dir, store, objects, service, apply, keys, fleet }
}

const secretYaml = (value: string) => `apiVersion: shoal/v1
kind: Secret
metadata: { name: api }
data: { token: ${value} }
`
const configYaml = (address: string) => `apiVersion: shoal/v1
kind: Config
metadata: { name: line }
data: { PLC: ${address}, gain: "1.0" }
overrides:
  - selector: { matchLabels: { site: b } }
    data: { PLC: 10.0.0.2 }
`
const deploymentYaml = (image = 'reader:1') => `apiVersion: shoal/v1
kind: Deployment
metadata: { name: reader }
spec:
  mode: every-node
  template:
    image: ${image}
    env:
      PLC: { config: line, key: PLC }
      TOKEN: { secret: api, key: token }
    volumes: [{ secret: api, path: /run/secrets/api }]
`

t.test('apply: versions, pins, values per node, and rolling the users', async (t) => {
  const { store, apply, keys, objects, dir } = setUp(t)
  const first = await apply(`${configYaml('10.0.0.1')}---\n${secretYaml(MARKER)}---\n${deploymentYaml()}`)
  t.match(first.results, [
    { kind: 'Config', name: 'line', outcome: 'created', revision: 1 },
    { kind: 'Secret', name: 'api', outcome: 'created', revision: 1 },
    { kind: 'Deployment', name: 'reader', outcome: 'created', revision: 1, placed: 2 },
  ])
  t.same(store.deployments.pins('reader', 1), { configs: { line: 1 }, secrets: { api: 1 } })

  for (const [nodeId, plc] of [
    ['n1', '10.0.0.1'],
    ['n2', '10.0.0.2'],
  ] as const) {
    const workload = store.desired.get(nodeId)?.document.workloads[0]
    t.same(
      workload?.values?.configs?.line,
      { version: 1, overrides: nodeId === 'n2' ? [0] : [], data: { PLC: plc, gain: '1.0' } },
      `${nodeId} gets its site's value`,
    )
    const box = workload?.values?.secrets?.api?.sealed
    if (!box) throw new Error('no sealed secret')
    const key = keys.get(nodeId)?.privateKeyPem ?? ''
    t.same(JSON.parse(unseal(box, key, sealContext(nodeId, 'api', 1)).toString()), { token: MARKER }, `${nodeId} opens its own box`)
    const otherKey = keys.get(nodeId === 'n1' ? 'n2' : 'n1')?.privateKeyPem ?? ''
    t.throws(() => unseal(box, otherKey, sealContext(nodeId, 'api', 1)), UnsealError, 'the other node cannot')
  }
  t.notOk(JSON.stringify(objects.detail('Secret', 'api')).includes(MARKER), "a Secret's detail never holds its value")
  t.match(objects.detail('Secret', 'api'), { keys: [{ key: 'token', bytes: MARKER.length }], usedBy: ['reader'], data: undefined })
  t.match(objects.detail('Config', 'line'), {
    data: { PLC: '10.0.0.1' },
    copies: [
      { nodeId: 'n1', desiredVersion: 1 },
      { nodeId: 'n2', desiredVersion: 1 },
    ],
  })

  const generation = store.desired.get('n1')?.generation
  const again = await apply(`${configYaml('10.0.0.1')}---\n${secretYaml(MARKER)}`)
  t.match(again.results, [
    { outcome: 'unchanged', revision: 1, rolled: [] },
    { outcome: 'unchanged', revision: 1, rolled: [] },
  ])
  t.equal(store.desired.get('n1')?.generation, generation, 'nothing changed: no new document')

  const changed = await apply(secretYaml('rotated-value'))
  t.match(changed.results, [{ kind: 'Secret', outcome: 'configured', revision: 2, rolled: ['reader'] }])
  t.equal(store.deployments.get('reader')?.revision, 2, 'the user got a new revision, rolled out like a template change')
  t.same(store.deployments.pins('reader', 2), { configs: { line: 1 }, secrets: { api: 2 } })
  t.same(
    store.audit
      .list()
      .map((entry) => entry.action)
      .reverse(),
    ['config.created', 'secret.created', 'deployment.created', 'secret.configured', 'deployment.configured'],
  )

  for (const file of ['hub.db', 'hub.db-wal']) t.notOk(readFileSync(path.join(dir, file)).includes(MARKER), `${file} does not hold the Secret's value in clear`)
})

t.test('refusals: missing objects and keys, a removed key in use, deleting what is used', async (t) => {
  const { apply, objects, store } = setUp(t)
  const missing = await apply(deploymentYaml()).catch((error: unknown) => error)
  t.type(missing, ManifestsRefusedError)
  t.match((missing as ManifestsRefusedError).problems, [
    { path: 'spec.template.env.PLC', message: /Config "line" does not exist/ },
    { path: 'spec.template.env.TOKEN', message: /Secret "api" does not exist/ },
    { path: 'spec.template.volumes[0].secret', message: /Secret "api" does not exist/ },
  ])
  t.equal(store.deployments.list().length, 0, 'nothing stored')
  await apply(`${configYaml('10.0.0.1')}---\n${secretYaml(MARKER)}---\n${deploymentYaml()}`)
  const removed = await apply('apiVersion: shoal/v1\nkind: Secret\nmetadata: { name: api }\ndata: { other: x }\n').catch((error: unknown) => error)
  t.match((removed as ManifestsRefusedError).message, /deployment reader needs it \(spec\.template\.env\.TOKEN\): Secret "api" has no key "token"/)
  t.equal(store.configObjects.get('Secret', 'api')?.version, 1, 'the refused version was rolled back')
  t.throws(() => objects.delete('Secret', 'api', new Date(T0).toISOString(), 'alice'), ConfigObjectInUseError)
})

t.test('a node without a sealing key gets no copy that needs a Secret, until it reports one', async (t) => {
  const { store, apply, fleet } = setUp(t)
  const at = new Date(T0).toISOString()
  store.nodes.insert(nodeRecord('old', { labels: { site: 'a' }, createdAt: at }))
  store.nodes.setOnline('old', true, at)
  await apply(`${configYaml('10.0.0.1')}---\n${secretYaml(MARKER)}---\n${deploymentYaml()}`)
  t.same(store.desired.get('old')?.document.workloads ?? [], [], 'left out: nothing to seal to')
  store.nodes.setSealingKey('old', generateSealingKeyPair().publicKey)
  await fleet.request('sealing-key')
  t.equal(store.desired.get('old')?.document.workloads.length, 1, 'sealed to it once it reported its key')
})

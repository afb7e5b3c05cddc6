// The agent's side of Configs and Secrets, without Docker: references resolved to env, files and
// registry credentials; the container's create options; the config hash; the files on "tmpfs";
// the node's sealing key.
import { type KeyObject, createHash, createPrivateKey } from 'node:crypto'
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { configHash } from '../../agent/reconcile/config-hash.js'
import { type RevertRecord, decideLocalRevert } from '../../agent/reconcile/local-revert.js'
import { loadStaticWorkloads } from '../../agent/static-workloads.js'
import { versionsStatus } from '../../agent/reconcile/reconciler.js'
import { containerCreateOptions, pullAuthConfig } from '../../agent/runtime/docker-container-config.js'
import { LABEL, type ContainerSpec, type ContainerWorkload, type ObservedContainer } from '../../agent/runtime/runtime.js'
import { NO_VALUES, NodeValues } from '../../agent/values/node-values.js'
import { openSecret, unopenableSecret } from '../../agent/values/open-secrets.js'
import { ValueRefError, resolvePullCredentials, resolveValues, usesValues } from '../../agent/values/resolve-values.js'
import { SEALING_KEY_FILE, SealingKeyError, loadSealingKey } from '../../agent/values/sealing-key.js'
import { SecretsDirError, TMPFS_MAGIC, ValueFiles } from '../../agent/values/value-files.js'
import {
  ContainerTemplate,
  UnsealError,
  canonicalJson,
  generateSealingKeyPair,
  type ContainerTemplateInput,
  type Workload,
  type WorkloadValues,
} from '../../protocol/index.js'
import { configValues, sealedSecret, tamperedSecret } from '../support/agent-values.js'
import { tempDir } from '../support/tmp.js'

const NODE = 'pi-17'
const node = generateSealingKeyPair()
const other = generateSealingKeyPair()
const EXT4 = 0xef53

function keyOf(dir: string): ReturnType<typeof loadSealingKey> {
  return loadSealingKey(dir)
}

function workload(template: Partial<ContainerTemplateInput>, values?: WorkloadValues, name = 'ingest'): ContainerWorkload {
  return {
    name,
    deployment: name,
    revision: 1,
    template: ContainerTemplate.parse({ image: 'registry.example/ingest:1.4', ...template }),
    ...(values ? { values } : {}),
  }
}

const creds = { username: 'robot', password: 'pw-SECRET-1', token: 'tok-SECRET-2' }

/** A workload with every kind of reference, its Secrets sealed to `publicKey`. */
function fullWorkload(publicKey = node.publicKey, secretVersion = 4): ContainerWorkload {
  return workload(
    {
      env: {
        LEVEL: 'info',
        PLC: { config: 'line', key: 'plc' },
        TOKEN: { secret: 'api', key: 'token' },
      },
      volumes: [
        { name: 'data', path: '/data' },
        { config: 'line', path: '/etc/line' },
        { secret: 'api', path: '/run/secrets/api' },
      ],
      pullCredentials: { secret: 'api' },
    },
    {
      configs: { line: configValues(2, { plc: '10.0.0.7', 'calibration.json': '{"k":1}' }) },
      secrets: { api: sealedSecret(NODE, 'api', secretVersion, creds, publicKey) },
    },
  )
}

const reader = (w: ContainerWorkload) => (name: string) => {
  const sealed = w.values?.secrets?.[name]
  if (!sealed) throw new Error(`no ${name}`)
  return openSecret(NODE, name, sealed, keyObject(node.privateKeyPem))
}

function keyObject(pem: string): KeyObject {
  return createPrivateKey(pem)
}

t.test('references resolve to env values and files; literal env stays in the template', async (t) => {
  const w = fullWorkload()
  t.ok(usesValues(w.template))
  t.notOk(usesValues(workload({ env: { A: 'b' }, volumes: [{ name: 'x', path: '/x' }] }).template), 'literals and named volumes are no references')
  const resolved = resolveValues(w, reader(w))
  t.same(resolved.env, { PLC: '10.0.0.7', TOKEN: 'tok-SECRET-2' })
  t.same(resolved.configFiles, { line: { plc: '10.0.0.7', 'calibration.json': '{"k":1}' } })
  t.same(resolved.secretFiles, { api: creds })
})

t.test('a reference the document cannot satisfy fails naming it, never a value', async (t) => {
  const w = fullWorkload()
  const missingKey = workload({ env: { X: { secret: 'api', key: 'nope' } } }, w.values)
  t.throws(() => resolveValues(missingKey, reader(missingKey)), { name: 'ValueRefError', message: /env X refers to key nope of secret api/ })
  const missingObject = workload({ volumes: [{ config: 'absent', path: '/a' }] }, w.values)
  t.throws(() => resolveValues(missingObject, reader(missingObject)), ValueRefError)
  const noValues = workload({ env: { X: { config: 'line', key: 'plc' } } })
  t.throws(() => NO_VALUES.prepare(noValues, 'h'), { message: /assembled without values/ })
  try {
    resolveValues(missingKey, reader(missingKey))
  } catch (error) {
    t.notMatch((error as Error).message, /SECRET/, 'the message holds no value')
  }
})

t.test('pull credentials by Secret: template registry, then the Secret registry key, then the image registry', async (t) => {
  const w = fullWorkload()
  t.same(resolvePullCredentials(w, reader(w)), { username: 'robot', password: 'pw-SECRET-1' })
  t.equal(pullAuthConfig(w.template.image, resolvePullCredentials(w, reader(w)))?.serveraddress, 'registry.example', 'the image registry last')
  const withRegistryKey = workload(
    { pullCredentials: { secret: 'reg' } },
    { secrets: { reg: sealedSecret(NODE, 'reg', 1, { username: 'u', password: 'p', registry: 'mirror.local:5000' }, node.publicKey) } },
  )
  t.same(resolvePullCredentials(withRegistryKey, reader(withRegistryKey)), { username: 'u', password: 'p', registry: 'mirror.local:5000' })
  const templateWins = { ...withRegistryKey, template: { ...withRegistryKey.template, pullCredentials: { secret: 'reg', registry: 'own.local' } } }
  t.equal(resolvePullCredentials(templateWins, reader(templateWins))?.registry, 'own.local')
  const inline = workload({ pullCredentials: { username: 'a', password: 'b' } })
  t.same(resolvePullCredentials(inline, reader(inline)), { username: 'a', password: 'b' }, 'inline credentials as before')
  t.same(NO_VALUES.pullCredentials(inline), { username: 'a', password: 'b' })
  const incomplete = workload({ pullCredentials: { secret: 'reg' } }, { secrets: { reg: sealedSecret(NODE, 'reg', 1, { username: 'u' }, node.publicKey) } })
  t.throws(() => resolvePullCredentials(incomplete, reader(incomplete)), { message: /needs the keys username and password/ })
})

t.test('create options: resolved env, read-only binds for value volumes, version labels only with values', async (t) => {
  const w = fullWorkload()
  const spec: ContainerSpec = {
    nodeId: NODE,
    name: 'shoal-pi-17-ingest',
    workload: w,
    configHash: 'abc',
    extraLabels: {},
    values: {
      env: { PLC: '10.0.0.7', TOKEN: 'tok' },
      configDirs: { line: '/data/values/ingest-abc/config-line' },
      secretDirs: { api: '/dev/shm/shoal-pi-17/ingest-abc/secret-api' },
      configVersions: { line: 2 },
      secretVersions: { api: 4 },
    },
  }
  const options = containerCreateOptions(spec)
  t.same(options.Env, ['LEVEL=info', 'PLC=10.0.0.7', 'TOKEN=tok'])
  t.match(options.HostConfig?.Mounts, [
    { Type: 'volume', Source: 'shoal-pi-17-data', Target: '/data' },
    { Type: 'bind', Source: '/data/values/ingest-abc/config-line', Target: '/etc/line', ReadOnly: true },
    { Type: 'bind', Source: '/dev/shm/shoal-pi-17/ingest-abc/secret-api', Target: '/run/secrets/api', ReadOnly: true },
  ])
  t.equal(options.Labels[LABEL.configVersions], 'line=2')
  t.equal(options.Labels[LABEL.secretVersions], 'api=4')
  const plain = containerCreateOptions({ ...spec, workload: workload({ env: { A: '1' } }), values: undefined } as unknown as ContainerSpec)
  t.notOk(LABEL.configVersions in plain.Labels, 'no version labels without values')
  t.throws(
    () => containerCreateOptions({ ...spec, values: undefined } as unknown as ContainerSpec),
    RangeError,
    'a reference without prepared values is a bug, not an empty value',
  )
})

t.test('config hash: unchanged without values, moved by what the container gets, blind to sealed bytes', async (t) => {
  const plain = workload({ env: { LEVEL: 'info' } })
  // The hash as it was before values existed, so an agent upgrade restarts nothing.
  const before = createHash('sha256')
    .update(canonicalJson({ name: plain.name, nodeId: NODE, template: plain.template }))
    .digest('hex')
    .slice(0, 16)
  t.equal(configHash(plain, NODE), before)
  t.equal(configHash({ ...plain, values: {} }, NODE), before, 'empty values count as none')
  t.equal(configHash({ ...plain, values: { configs: {}, secrets: {} } }, NODE), before)

  const base = fullWorkload()
  const hash = configHash(base, NODE)
  t.not(hash, configHash({ ...base, values: undefined } as unknown as Workload, NODE))
  const resealed = fullWorkload()
  t.not(resealed.values?.secrets?.api?.sealed.ciphertext, base.values?.secrets?.api?.sealed.ciphertext, 'sealed again: other bytes')
  t.equal(configHash(resealed, NODE), hash, 'the same Secret sealed again keeps the container')
  t.not(configHash(fullWorkload(node.publicKey, 5), NODE), hash, "a Secret's new version recreates")
  const withValues = (change: (v: WorkloadValues) => WorkloadValues): Workload => ({ ...base, values: change(base.values ?? {}) })
  t.not(
    configHash(
      withValues((v) => ({ ...v, secrets: { api: { ...(v.secrets?.api as NonNullable<typeof v.secrets>[string]), overrides: [0] } } })),
      NODE,
    ),
    hash,
    'other overrides applied to a Secret recreate',
  )
  t.not(
    configHash(
      withValues((v) => ({ ...v, configs: { line: configValues(2, { plc: '10.0.0.8' }) } })),
      NODE,
    ),
    hash,
    "a Config's data recreates",
  )
  t.equal(
    configHash(
      withValues((v) => ({ ...v, configs: { line: configValues(3, { plc: '10.0.0.7', 'calibration.json': '{"k":1}' }) } })),
      NODE,
    ),
    hash,
    "a Config's new version with the same data for this node does not",
  )
})

t.test('a Secret opens only with its node key, unchanged, for its node, name and version', async (t) => {
  const good = sealedSecret(NODE, 'api', 1, creds, node.publicKey)
  t.same(openSecret(NODE, 'api', good, keyObject(node.privateKeyPem)), creds)
  t.throws(() => openSecret(NODE, 'api', good, keyObject(other.privateKeyPem)), UnsealError, 'another node key')
  t.throws(() => openSecret(NODE, 'api', tamperedSecret(good), keyObject(node.privateKeyPem)), UnsealError, 'changed bytes')
  t.throws(() => openSecret('pi-18', 'api', good, keyObject(node.privateKeyPem)), UnsealError, 'moved to another node')
  t.throws(() => openSecret(NODE, 'db', good, keyObject(node.privateKeyPem)), UnsealError, 'moved to another secret')
  t.throws(() => openSecret(NODE, 'api', { ...good, version: 2 }, keyObject(node.privateKeyPem)), UnsealError, 'moved to another version')

  const doc = (w: Workload) => ({ workloads: [w] })
  t.equal(unopenableSecret(doc(fullWorkload()), NODE, keyObject(node.privateKeyPem)), null)
  const wrong = unopenableSecret(doc(fullWorkload(other.publicKey)), NODE, keyObject(node.privateKeyPem))
  t.equal(wrong?.code, 'unsealable-secret')
  t.match(wrong?.reason, /workload ingest: secret api version 4 does not open with this node's sealing key/)
  const base = fullWorkload()
  const inFallback: Workload = {
    ...base,
    fallback: {
      revision: 7,
      template: base.template,
      revertWindowSeconds: 60,
      values: { secrets: { api: tamperedSecret(base.values?.secrets?.api as never) } },
    },
  }
  t.match(unopenableSecret(doc(inFallback), NODE, keyObject(node.privateKeyPem))?.reason, /its fallback, revision 7/)
  t.equal(unopenableSecret(doc(base), NODE, null)?.code, 'no-sealing-key')
  t.equal(unopenableSecret(doc(workload({})), NODE, null), null, 'nothing sealed, nothing to open')
})

t.test('value files: configs on disk, secrets only on tmpfs, rewritten when missing, pruned when gone', async (t) => {
  const dir = tempDir(t, 'agent-values')
  let fsType = TMPFS_MAGIC
  const files = new ValueFiles({ configRoot: join(dir, 'data', 'values'), secretsRoot: join(dir, 'shm', 'shoal-pi-17'), filesystemType: () => fsType })
  const dataDir = join(dir, 'data')
  mkdirSync(dataDir)
  const key = keyOf(dataDir)
  const w = workload(fullWorkload().template, fullWorkload(key.publicKey).values)
  const values = new NodeValues({ nodeId: NODE, privateKey: key.privateKey, files })
  const hash = configHash(w, NODE)
  const prepared = values.prepare(w, hash)
  t.ok(prepared)
  const secretDir = prepared?.secretDirs.api ?? ''
  const configDir = prepared?.configDirs.line ?? ''
  t.equal(secretDir, join(dir, 'shm', 'shoal-pi-17', `ingest-${hash}`, 'secret-api'))
  t.same(readdirSync(secretDir).sort(), ['password', 'token', 'username'])
  t.equal(readFileSync(join(secretDir, 'token'), 'utf8'), 'tok-SECRET-2')
  t.equal(statSync(join(secretDir, 'token')).mode & 0o777, 0o444, 'secret files read-only')
  t.equal(statSync(join(dir, 'shm', 'shoal-pi-17')).mode & 0o777, 0o700, 'the secrets directory is the agent alone')
  t.equal(statSync(join(dir, 'shm', 'shoal-pi-17', `ingest-${hash}`)).mode & 0o777, 0o700)
  t.equal(readFileSync(join(configDir, 'calibration.json'), 'utf8'), '{"k":1}')
  t.equal(statSync(join(configDir, 'plc')).mode & 0o777, 0o644)
  t.same(prepared?.env, { PLC: '10.0.0.7', TOKEN: 'tok-SECRET-2' })
  t.same(prepared?.secretVersions, { api: 4 })
  t.same(prepared?.configVersions, { line: 2 })

  // A reboot empties the tmpfs; a stray file appears; the next prepare restores exactly the keys.
  rmSync(join(dir, 'shm'), { recursive: true })
  values.prepare(w, hash)
  t.equal(readFileSync(join(secretDir, 'password'), 'utf8'), 'pw-SECRET-1', 'written again after the tmpfs was emptied')
  writeFileSync(join(secretDir, 'stray'), 'x')
  const inode = statSync(join(secretDir, 'token')).ino
  values.prepare(w, hash)
  t.notOk(existsSync(join(secretDir, 'stray')), 'a file that is no key is removed')
  t.equal(statSync(join(secretDir, 'token')).ino, inode, 'an unchanged file is left alone')

  t.same(values.prune([{ workload: 'ingest', configHash: hash }]), [], 'what a container uses is kept')
  t.same(values.prune([]).sort(), [`ingest-${hash}`, `ingest-${hash}`], 'both slots removed once the container is gone')
  t.notOk(existsSync(secretDir))

  fsType = EXT4
  t.throws(() => values.prepare(w, hash), { name: 'SecretsDirError', code: 'secrets-dir-not-tmpfs', message: /not on tmpfs \(filesystem type 0xef53\)/ })
  t.notOk(existsSync(secretDir), 'nothing written off tmpfs')
  fsType = TMPFS_MAGIC
  const configOnly = workload({ volumes: [{ config: 'line', path: '/etc/line' }] }, { configs: fullWorkload().values?.configs ?? {} })
  fsType = EXT4
  t.ok(values.prepare(configOnly, 'h1')?.configDirs.line, 'Configs need no tmpfs')
  t.equal(values.prepare(workload({ env: { A: 'b' } }), 'h2'), undefined, 'no references, nothing prepared')
})

t.test('a secrets directory someone else could have planted is refused', async (t) => {
  const dir = tempDir(t, 'agent-values-unsafe')
  const target = join(dir, 'elsewhere')
  mkdirSync(target)
  symlinkSync(target, join(dir, 'link'))
  const files = new ValueFiles({ configRoot: join(dir, 'values'), secretsRoot: join(dir, 'link'), filesystemType: () => TMPFS_MAGIC })
  t.throws(() => files.prepareSecretsRoot(), SecretsDirError)
  t.throws(() => files.prepareSecretsRoot(), { code: 'unsafe-secrets-dir' })
})

t.test('the sealing key: made once 0600, the same after a restart, a damaged file refused', async (t) => {
  const dir = tempDir(t, 'agent-sealing-key')
  const first = loadSealingKey(dir)
  t.match(first.publicKey, /^[A-Za-z0-9_-]{43}$/)
  t.equal(statSync(join(dir, SEALING_KEY_FILE)).mode & 0o777, 0o600)
  t.equal(loadSealingKey(dir).publicKey, first.publicKey, 'kept across restarts')
  chmodSync(join(dir, SEALING_KEY_FILE), 0o644)
  loadSealingKey(dir)
  t.equal(statSync(join(dir, SEALING_KEY_FILE)).mode & 0o777, 0o600, 'tightened if wider')
  writeFileSync(join(dir, SEALING_KEY_FILE), 'not a key')
  t.throws(() => loadSealingKey(dir), SealingKeyError)
})

t.test('status versions: the desired ones while the container carries the desired config, else its labels', async (t) => {
  const w = fullWorkload()
  const container = { configHash: 'h1', configVersions: { line: 1 }, secretVersions: { api: 3 } } as unknown as ObservedContainer
  t.same(versionsStatus(w, container, 'h1'), { configVersions: { line: 2 }, secretVersions: { api: 4 } })
  t.same(versionsStatus(w, container, 'h2'), { configVersions: { line: 1 }, secretVersions: { api: 3 } }, 'a container about to be replaced reports its own')
  t.same(versionsStatus(w, undefined, 'h1'), {}, 'no container, nothing given')
  t.same(versionsStatus(workload({}), { configHash: 'h' } as ObservedContainer, 'h'), {}, 'none when the workload has no values')
})

t.test("a local revert runs the fallback's own values, and keeps them when a document drops the fallback", async (t) => {
  const current = fullWorkload(node.publicKey, 5)
  const fallbackValues = fullWorkload(node.publicKey, 4).values
  const withFallback: Workload = {
    ...current,
    revision: 2,
    fallback: { revision: 1, template: current.template, revertWindowSeconds: 600, ...(fallbackValues ? { values: fallbackValues } : {}) },
  }
  const decision = decideLocalRevert({
    workloads: [withFallback],
    reverts: new Map(),
    windows: new Map([['ingest', { workload: 'ingest', revision: 2, startedAt: 0 }]]),
    observed: new Map([['ingest', { revision: 2, state: 'crash-loop', health: 'none', exitCode: 1, current: true, pullFailed: false }]]),
    now: 1_000,
    hubReachable: false,
  })
  t.equal(decision.revert.length, 1)
  t.same(decision.workloads[0]?.values, fallbackValues, "the reverted copy runs the fallback's values")
  t.same(decision.revert[0]?.values, fallbackValues, 'and the revert record keeps them')
  const dropped = decideLocalRevert({
    workloads: [{ ...current, revision: 2 }],
    reverts: new Map([['ingest', decision.revert[0] as RevertRecord]]),
    windows: new Map(),
    observed: new Map(),
    now: 2_000,
    hubReachable: false,
  })
  t.same(dropped.workloads[0]?.values?.secrets?.api?.version, 4, 'still the fallback values from the record')
})

t.test('a static Deployment that refers to a Config or Secret is refused, with the reference named', async (t) => {
  const dir = tempDir(t, 'agent-values-static')
  writeFileSync(
    join(dir, 'web.yaml'),
    [
      'apiVersion: shoal/v1',
      'kind: Deployment',
      'metadata: { name: web }',
      'spec:',
      '  template:',
      '    image: busybox:1',
      '    env: { TOKEN: { secret: api, key: token } }',
      '---',
      'apiVersion: shoal/v1',
      'kind: Deployment',
      'metadata: { name: plain }',
      'spec:',
      '  template: { image: busybox:1, env: { A: b } }',
      '',
    ].join('\n'),
  )
  const result = loadStaticWorkloads(dir)
  t.same(
    result.workloads.map((w) => w.name),
    ['static-plain'],
  )
  t.match(result.errors, [
    /web\.yaml:\d+:\d+: document 0: spec\.template: web refers to Configs or Secrets \(env TOKEN from secret api\), which only the hub provides/,
  ])
})

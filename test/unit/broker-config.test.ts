// The external brokers' configuration as the hub writes it: password hashes that Mosquitto and
// nats-server accept (checked here against known answers made by mosquitto_passwd and by
// libxcrypt's bcrypt, and against the real brokers in test/integration/transport-*.test.ts),
// the exact files (golden), their atomic replacement, the store behind them, the reload signal
// and its confirmation, and the `shoal hub broker-config` command.
import Database from 'better-sqlite3'
import { spawn } from 'node:child_process'
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { pino } from 'pino'
import t from 'tap'
import { nodeRecord } from '../support/hub-nodes.js'
import { BrokerAccess } from '../../hub/broker-config/broker-access.js'
import { BrokerCredentialRepository } from '../../hub/broker-config/broker-credential-repository.js'
import { renderBrokerFiles, writeBrokerFiles } from '../../hub/broker-config/broker-files.js'
import { resolveReloadTarget, signalReload } from '../../hub/broker-config/broker-reload.js'
import { BrokerConfigError, HUB_BROKER_USERNAME, RELOAD_CHECK_USERNAME, type BrokerAuthInput } from '../../hub/broker-config/broker-users.js'
import { BrokerAuthConfigError, setUpBrokerAccess } from '../../hub/broker-config/external-broker.js'
import { HUB_BROKER_PASSWORD_FILE } from '../../hub/broker-config/hub-broker-password.js'
import { mosquittoAclFile, mosquittoPasswordFile } from '../../hub/broker-config/mosquitto-files.js'
import { natsAuthorizationFile, natsNodePermissions } from '../../hub/broker-config/nats-authorization.js'
import {
  MOSQUITTO_PBKDF2_ITERATIONS,
  NATS_BCRYPT_COST,
  PasswordHashFormatError,
  brokerHashes,
  mosquittoHash,
  natsHash,
  nodeBrokerHashes,
  verifyMosquittoHash,
  verifyNatsHash,
} from '../../hub/broker-config/password-hashes.js'
import { runCli } from '../../cli/program.js'
import { migrate } from '../../common/sqlite/migrate.js'
import { HubStore } from '../../hub/store/hub-store.js'
import { HUB_MIGRATIONS } from '../../hub/store/migrations.js'
import { openHubDatabase } from '../../hub/store/open-hub-database.js'
import { NodeId, natsInboxPrefix } from '../../protocol/index.js'
import { tempDir, waitFor, type TestLike } from '../support/index.js'

const silent = pino({ level: 'silent' })

// Known answers from the real tools (not from our code):
// `mosquitto_passwd -b` (Mosquitto 2.0.11, default sha512-pbkdf2) and `-H sha512`,
const MOSQUITTO_PBKDF2 = {
  password: 'secret',
  hash: '$7$101$91bbU0ITVlefsgyx$ixF0r1X1ADNrssTsvSi3e9fepm4aZHy0b6z9Yuk+qfYSu67BumwpvWusYhIRNRAEVpgO/G/2GBbKJtO6tU/bKg==',
}
const MOSQUITTO_SHA512 = {
  password: 'pw',
  hash: '$6$GTo5fIFylt0cjsmQ$1vUjjZiZT0flYRW/EFwSI6EnbfVxNbyBZa1J58Mj3L+RJOvFz5MoYzMhSUQmIgt+F55ZmdWFmBJJBOz+a1kaRg==',
}
// and bcrypt from libxcrypt's crypt(3) (Debian 12), the OpenBSD test vector among them.
const BCRYPT_VECTORS = [
  { password: 'U*U', hash: '$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW' },
  { password: 'correct horse battery staple', hash: '$2b$08$abcdefghijklmnopqrstuukS31SNuNEoGSYTPCfyZV8d2iX4qVmTa' },
]

t.test('Mosquitto hashes: $7$ PBKDF2-SHA512 written exactly as mosquitto_passwd writes it, $6$ read too', async (t) => {
  const salt = Buffer.from('91bbU0ITVlefsgyx', 'base64')
  t.equal(mosquittoHash(MOSQUITTO_PBKDF2.password, { salt }), MOSQUITTO_PBKDF2.hash, 'same salt → the same line mosquitto_passwd wrote')
  t.ok(verifyMosquittoHash(MOSQUITTO_PBKDF2.password, MOSQUITTO_PBKDF2.hash))
  t.notOk(verifyMosquittoHash('Secret', MOSQUITTO_PBKDF2.hash), 'a wrong password fails')
  t.ok(verifyMosquittoHash(MOSQUITTO_SHA512.password, MOSQUITTO_SHA512.hash), 'the older salted SHA-512 form verifies')
  t.notOk(verifyMosquittoHash('pW', MOSQUITTO_SHA512.hash))

  const fresh = mosquittoHash('a-random-broker-password')
  t.match(fresh, new RegExp(`^\\$7\\$${MOSQUITTO_PBKDF2_ITERATIONS}\\$[A-Za-z0-9+/]{16}\\$[A-Za-z0-9+/]{86}==$`), '12-byte salt, 64-byte key, base64')
  t.ok(verifyMosquittoHash('a-random-broker-password', fresh))
  t.not(mosquittoHash('same'), mosquittoHash('same'), 'a fresh salt every time')
  t.throws(() => verifyMosquittoHash('x', '$5$abc$def'), PasswordHashFormatError)
  t.throws(() => verifyMosquittoHash('x', 'plaintext'), PasswordHashFormatError)
  t.throws(() => mosquittoHash('x', { iterations: 0 }), PasswordHashFormatError)
})

t.test('NATS hashes: bcrypt that matches libxcrypt, at the chosen cost', async (t) => {
  for (const vector of BCRYPT_VECTORS) {
    t.equal(
      natsHash(vector.password, { salt: vector.hash.slice(0, 29) }),
      vector.hash,
      `reproduces ${vector.hash.slice(0, 7)} for ${JSON.stringify(vector.password)}`,
    )
    t.ok(verifyNatsHash(vector.password, vector.hash))
    t.notOk(verifyNatsHash(`${vector.password}!`, vector.hash))
  }
  const fresh = natsHash('a-random-broker-password')
  t.match(fresh, new RegExp(`^\\$2b\\$0${NATS_BCRYPT_COST}\\$[./A-Za-z0-9]{53}$`))
  t.ok(verifyNatsHash('a-random-broker-password', fresh))
  t.throws(() => verifyNatsHash('x', '$7$101$abc$def'), PasswordHashFormatError)

  const both = brokerHashes('pw-for-both')
  t.ok(verifyMosquittoHash('pw-for-both', both.mosquitto) && verifyNatsHash('pw-for-both', both.nats), 'brokerHashes gives one of each, both verifying')
})

// Fixed hashes so the files below are exact; the generators never look inside them.
const hashesOf = (n: number) => ({ mosquitto: `$7$101$salt${n}$key${n}==`, nats: `$2b$08$${String(n).repeat(53).slice(0, 53)}` })
const input: BrokerAuthInput = {
  hub: { username: HUB_BROKER_USERNAME, hashes: hashesOf(0) },
  nodes: [
    { nodeId: 'pi-1', username: 'pi-1', hashes: hashesOf(1) },
    { nodeId: 'rack-7', username: 'rack-7', hashes: hashesOf(2) },
  ],
}

t.test('Mosquitto password file (golden)', async (t) => {
  t.equal(
    mosquittoPasswordFile(input),
    `# Generated by Shoal (\`shoal hub serve --broker-auth-dir\` or \`shoal hub broker-config\`).
# Do not edit: the hub rewrites this file on every enrollment and revocation.
shoal_hub:$7$101$salt0$key0==
pi-1:$7$101$salt1$key1==
rack-7:$7$101$salt2$key2==
`,
  )
  t.match(
    mosquittoPasswordFile({ ...input, reloadCheck: { username: RELOAD_CHECK_USERNAME, hashes: hashesOf(9) } }),
    /^shoal_reload_check:\$7\$101\$salt9\$key9==$/m,
    'the reload check user logs in too',
  )
})

t.test('Mosquitto ACL file (golden): each node reads its own hub topics and writes its own agent topics', async (t) => {
  const expected = `# Generated by Shoal (\`shoal hub serve --broker-auth-dir\` or \`shoal hub broker-config\`).
# Do not edit: the hub rewrites this file on every enrollment and revocation.

# the hub: every Shoal topic
user shoal_hub
topic readwrite shoal/v1/#

# node pi-1
user pi-1
topic read shoal/v1/nodes/pi-1/desired
topic read shoal/v1/nodes/pi-1/ack
topic read shoal/v1/nodes/pi-1/logs-request
topic read shoal/v1/nodes/pi-1/session-in
topic write shoal/v1/nodes/pi-1/outbox
topic write shoal/v1/nodes/pi-1/heartbeat
topic write shoal/v1/nodes/pi-1/presence
topic write shoal/v1/nodes/pi-1/logs-chunk
topic write shoal/v1/nodes/pi-1/session-out

# node rack-7
user rack-7
topic read shoal/v1/nodes/rack-7/desired
topic read shoal/v1/nodes/rack-7/ack
topic read shoal/v1/nodes/rack-7/logs-request
topic read shoal/v1/nodes/rack-7/session-in
topic write shoal/v1/nodes/rack-7/outbox
topic write shoal/v1/nodes/rack-7/heartbeat
topic write shoal/v1/nodes/rack-7/presence
topic write shoal/v1/nodes/rack-7/logs-chunk
topic write shoal/v1/nodes/rack-7/session-out
`
  t.equal(mosquittoAclFile(input), expected)
  t.equal(
    mosquittoAclFile({ ...input, reloadCheck: { username: RELOAD_CHECK_USERNAME, hashes: hashesOf(9) } }),
    expected,
    'the reload check user gets no ACL lines: no rights at all',
  )
})

t.test('NATS authorization include (golden): bcrypt passwords, per-user allow lists', async (t) => {
  t.equal(
    natsAuthorizationFile({ ...input, nodes: input.nodes.slice(0, 1), reloadCheck: { username: RELOAD_CHECK_USERNAME, hashes: hashesOf(9) } }),
    `# Generated by Shoal (\`shoal hub serve --broker-auth-dir\` or \`shoal hub broker-config\`).
# Do not edit: the hub rewrites this file on every enrollment and revocation.
authorization {
  users = [
    # the hub
    {
      user: "shoal_hub"
      password: "$2b$08$00000000000000000000000000000000000000000000000000000"
      permissions: {
        publish: { allow: ["shoal.v1.>", "$JS.API.>", "$KV.shoal_v1_desired.>"] }
        subscribe: { allow: ["shoal.v1.>", "_INBOX.>", "$JS.EVENT.ADVISORY.CONSUMER.CREATED.KV_shoal_v1_desired.>"] }
      }
    }
    # reload check: no rights; its password changes on every rewrite
    {
      user: "shoal_reload_check"
      password: "$2b$08$99999999999999999999999999999999999999999999999999999"
      permissions: {
        publish: { deny: [">"] }
        subscribe: { deny: [">"] }
      }
    }
    # node pi-1
    {
      user: "pi-1"
      password: "$2b$08$11111111111111111111111111111111111111111111111111111"
      permissions: {
        publish: { allow: ["shoal.v1.nodes.pi-1.outbox", "shoal.v1.nodes.pi-1.heartbeat", "shoal.v1.nodes.pi-1.presence", "shoal.v1.nodes.pi-1.logs-chunk", "shoal.v1.nodes.pi-1.session-out", "$JS.API.CONSUMER.CREATE.KV_shoal_v1_desired.*.$KV.shoal_v1_desired.pi-1", "$JS.FC.KV_shoal_v1_desired.>"] }
        subscribe: { allow: ["shoal.v1.nodes.pi-1.ack", "shoal.v1.nodes.pi-1.logs-request", "shoal.v1.nodes.pi-1.session-in", "_INBOX_pi-1.>"] }
      }
    }
  ]
}
`,
  )
})

t.test("a node's NATS rights name only its own subjects, key and inbox", async (t) => {
  const permissions = natsNodePermissions('pi-1')
  const all = [...(permissions.publish.allow ?? []), ...(permissions.subscribe.allow ?? [])]
  for (const subject of all) {
    if (subject.startsWith('$JS.FC.')) continue
    t.match(subject, /pi-1/, `${subject} is about pi-1`)
  }
  t.notOk(
    all.some(
      (s) =>
        s === '_INBOX.>' ||
        s.startsWith('$JS.API.INFO') ||
        s.startsWith('$KV.') ||
        s.includes('MSG.GET') ||
        s.includes('DIRECT.GET') ||
        s === `$JS.API.CONSUMER.CREATE.KV_shoal_v1_desired`,
    ),
    'nothing that reads the bucket another way, nor the shared inbox',
  )
  t.equal(natsInboxPrefix('pi-1'), '_INBOX_pi-1', "the agent's inbox prefix is the one the permissions allow")
})

t.test('refuses input that could break the files', async (t) => {
  t.throws(
    () => mosquittoPasswordFile({ ...input, nodes: [...input.nodes, { nodeId: 'pi-1', username: 'pi-1', hashes: hashesOf(3) }] }),
    BrokerConfigError,
    'a user twice',
  )
  t.throws(() => mosquittoPasswordFile({ ...input, hub: { username: 'hub:evil', hashes: hashesOf(0) } }), BrokerConfigError, 'a ":" in a user name')
  t.throws(
    () => natsAuthorizationFile({ ...input, hub: { username: 'shoal_hub', hashes: { mosquitto: '$7$x', nats: '$2b$08$"}] }' } } }),
    BrokerConfigError,
    'a quote in a hash',
  )
  t.throws(() => mosquittoAclFile({ ...input, nodes: [{ nodeId: 'a/b', username: 'ab', hashes: hashesOf(4) }] }), RangeError, 'a node id that is not one')
  t.notOk(NodeId.safeParse(HUB_BROKER_USERNAME).success, 'no node can enroll under the hub user name')
  t.notOk(NodeId.safeParse(RELOAD_CHECK_USERNAME).success, 'nor under the reload check user name')
})

t.test('files are replaced whole (temp file + rename), mode 0640', async (t) => {
  const dir = path.join(tempDir(t, 'broker-files'), 'auth')
  const first = writeBrokerFiles(dir, renderBrokerFiles('mosquitto', input))
  t.same(
    first.map((f) => path.basename(f)),
    ['mosquitto.passwd', 'mosquitto.acl'],
  )
  const inodeBefore = statSync(first[0] ?? '').ino
  writeBrokerFiles(dir, renderBrokerFiles('mosquitto', { ...input, nodes: input.nodes.slice(1) }))
  t.not(statSync(first[0] ?? '').ino, inodeBefore, "a new file took the old one's name (a reader holding the old one keeps reading it whole)")
  t.notMatch(readFileSync(first[0] ?? '', 'utf8'), /pi-1/, 'the revoked node is gone')
  t.equal(statSync(first[1] ?? '').mode & 0o777, 0o640)
  t.same(readdirSync(dir).sort(), ['mosquitto.acl', 'mosquitto.passwd'], 'no temp files left behind')
  t.same(
    renderBrokerFiles('nats', input).map((f) => f.name),
    ['nats-authorization.conf'],
  )
})

t.test('reload targets: a PID or a pid file, read anew each time; failures reported, not thrown', async (t) => {
  const dir = tempDir(t, 'broker-reload')
  const pidFile = path.join(dir, 'broker.pid')
  writeFileSync(pidFile, '4242\n')
  t.equal(resolveReloadTarget('1234'), 1234)
  t.equal(resolveReloadTarget(pidFile), 4242)
  t.throws(() => resolveReloadTarget('1'), /expected a process id/, 'never signal init')
  writeFileSync(pidFile, 'garbage')
  t.throws(() => resolveReloadTarget(pidFile), /expected a process id/)
  const sent: [number, string][] = []
  const outcome = signalReload(['77', path.join(dir, 'missing.pid')], (pid, signal) => sent.push([pid, signal]))
  t.same(sent, [[77, 'SIGHUP']])
  t.same(outcome.signalled, [77])
  t.equal(outcome.failed.length, 1)
  t.match(outcome.failed[0]?.reason, /ENOENT/)
})

function storeWithNodes(t: TestLike, ids: readonly string[]): HubStore {
  const store = new HubStore(openHubDatabase(path.join(tempDir(t, 'broker-store'), 'hub.db')))
  t.teardown(() => store.close())
  const at = new Date(0).toISOString()
  for (const id of ids) {
    store.nodes.insert(nodeRecord(id, { createdAt: at }))
    // These tests never log in, so any well-formed scrypt hash will do.
    store.credentials.setHashed(id, id, 'scrypt$c2FsdA==$aGFzaA==')
  }
  return store
}

t.test('the store: broker hashes per node, revoked nodes gone, older nodes listed as missing', async (t) => {
  const store = storeWithNodes(t, ['pi-1', 'pi-2', 'old-3'])
  const repository = new BrokerCredentialRepository(store.db)
  repository.set('pi-1', hashesOf(1))
  repository.set('pi-2', hashesOf(2))
  t.same(repository.users('mosquitto'), {
    users: [
      { nodeId: 'pi-1', username: 'pi-1', hashes: hashesOf(1) },
      { nodeId: 'pi-2', username: 'pi-2', hashes: hashesOf(2) },
    ],
    missing: ['old-3'],
  })
  t.same(repository.users('nats').missing, ['old-3'])
  // What DELETE /api/v1/nodes/:id does.
  store.transaction(() => {
    store.credentials.revoke('pi-2')
    store.nodes.delete('pi-2')
  })
  t.same(
    repository.users('mosquitto').users.map((u) => u.nodeId),
    ['pi-1'],
    'a revoked node is never written again',
  )
  t.equal((store.db.prepare('SELECT COUNT(*) AS n FROM broker_credentials').get() as { n: number }).n, 1, 'its hashes went with it (ON DELETE CASCADE)')
})

t.test("nodes enrolled off NATS have no bcrypt hash: in Mosquitto's files, missing from nats-server's", async (t) => {
  const store = storeWithNodes(t, ['mqtt-1', 'nats-2'])
  const repository = new BrokerCredentialRepository(store.db)
  const onMqtt = await nodeBrokerHashes('pw-1', { nats: false })
  const onNats = await nodeBrokerHashes('pw-2', { nats: true })
  t.equal(onMqtt.nats, null, 'no bcrypt made when the hub is not on NATS')
  t.ok(verifyMosquittoHash('pw-1', onMqtt.mosquitto), 'the Mosquitto hash is always made')
  t.ok(onNats.nats !== null && verifyNatsHash('pw-2', onNats.nats) && verifyMosquittoHash('pw-2', onNats.mosquitto), 'both on NATS')
  repository.set('mqtt-1', onMqtt)
  repository.set('nats-2', onNats)
  t.same(
    repository.users('mosquitto').users.map((u) => u.nodeId),
    ['mqtt-1', 'nats-2'],
  )
  const nats = repository.users('nats')
  t.same([nats.users.map((u) => u.nodeId), nats.missing], [['nats-2'], ['mqtt-1']], 'a node without bcrypt must enroll again for NATS')
  t.throws(
    () => natsAuthorizationFile({ ...input, nodes: [{ nodeId: 'mqtt-1', username: 'mqtt-1', hashes: onMqtt }] }),
    BrokerConfigError,
    'the NATS file refuses a user without bcrypt',
  )
})

t.test('migration 3 keeps the broker hashes of a version-2 database', async (t) => {
  const file = path.join(tempDir(t, 'migration-3'), 'hub.db')
  const db = new Database(file)
  migrate(db, HUB_MIGRATIONS.slice(0, 2))
  db.prepare(
    "INSERT INTO nodes (id, arch, profile, inventory, capacity, reserved, created_at) VALUES ('old-1', 'amd64', 'generic', '{}', '{}', '{}', '1970-01-01T00:00:00.000Z')",
  ).run()
  db.prepare("INSERT INTO node_credentials (node_id, username, password_hash) VALUES ('old-1', 'old-1', 'scrypt$c2FsdA==$aGFzaA==')").run()
  new BrokerCredentialRepository(db).set('old-1', hashesOf(1))
  db.close()
  const store = new HubStore(openHubDatabase(file))
  t.teardown(() => store.close())
  t.same(new BrokerCredentialRepository(store.db).users('nats').users, [{ nodeId: 'old-1', username: 'old-1', hashes: hashesOf(1) }])
  store.nodes.delete('old-1')
  t.equal((store.db.prepare('SELECT COUNT(*) AS n FROM broker_credentials').get() as { n: number }).n, 0, 'still deleted with its node')
})

t.test('BrokerAccess: rewrites, signals, and confirms with a reload-check login only the new files accept', async (t) => {
  const store = storeWithNodes(t, ['pi-1'])
  new BrokerCredentialRepository(store.db).set('pi-1', brokerHashes('pw-1'))
  const dir = path.join(tempDir(t, 'broker-access'), 'auth')
  // A stand-in broker: a real process that counts SIGHUPs, and a login check that reads the
  // password file as of the last SIGHUP, like Mosquitto.
  const child = spawn(
    process.execPath,
    ['-e', "let n = 0; process.on('SIGHUP', () => console.log('hup', ++n)); console.log('ready'); setInterval(() => {}, 1000)"],
    { stdio: ['ignore', 'pipe', 'ignore'] },
  )
  t.teardown(() => void child.kill('SIGKILL'))
  let loaded = ''
  let hups = 0
  let ready = false
  child.stdout.on('data', (chunk: Buffer) => {
    const text = chunk.toString()
    if (text.includes('ready')) ready = true
    const count = text.split('hup').length - 1
    if (count === 0) return
    hups += count
    loaded = readFileSync(path.join(dir, 'mosquitto.passwd'), 'utf8')
  })
  // A SIGHUP before the handler is installed would end the stand-in: wait until it says so.
  await waitFor(() => ready, { what: 'the stand-in broker to install its SIGHUP handler', timeoutMs: 30_000 })
  const probe = async (username: string, password: string): Promise<boolean> => {
    const line = loaded.split('\n').find((l) => l.startsWith(`${username}:`))
    return line !== undefined && verifyMosquittoHash(password, line.slice(username.length + 1))
  }
  const access = new BrokerAccess({
    kind: 'mosquitto',
    dir,
    db: store.db,
    hubPassword: 'hub-pw',
    reloadTargets: [String(child.pid)],
    probe,
    logger: silent,
    confirmTimeoutMs: 10_000,
  })
  const first = await access.sync('test')
  t.equal(first.confirmed, true, 'confirmed once the broker stand-in reloaded')
  t.equal(first.nodes, 1)
  t.same(first.signalled, [child.pid])
  t.match(readFileSync(path.join(dir, 'mosquitto.passwd'), 'utf8'), /^shoal_hub:\$7\$/m)

  // Requests that arrive while a rewrite runs share the next one.
  const a = access.sync('a')
  await new Promise((resolve) => setImmediate(resolve)) // a is running now
  const b = access.sync('b')
  const c = access.sync('c')
  t.equal(b, c, 'b and c share one queued rewrite')
  const results = await Promise.all([a, b, c])
  t.ok(results.every((r) => r.confirmed === true))
  await waitFor(() => hups === 3, { what: 'three SIGHUPs in all', timeoutMs: 5_000 })
  t.equal(hups, 3, 'one reload for the first sync, one for a, one shared by b and c')

  const unconfirmed = new BrokerAccess({
    kind: 'mosquitto',
    dir,
    db: store.db,
    hubPassword: 'hub-pw',
    reloadTargets: [String(child.pid)],
    probe: async () => false,
    logger: silent,
    confirmTimeoutMs: 300,
  })
  t.equal((await unconfirmed.sync('broker ignores us')).confirmed, false, 'a broker that never takes the files up is reported, within the bound')
  const manual = new BrokerAccess({ kind: 'nats', dir, db: store.db, hubPassword: 'hub-pw', reloadTargets: [], probe: null, logger: silent })
  const written = await manual.sync('no reload configured')
  t.equal(written.confirmed, null, 'without a reload target there is nothing to confirm')
  t.match(readFileSync(path.join(dir, 'nats-authorization.conf'), 'utf8'), /user: "pi-1"/)
})

t.test('setUpBrokerAccess: the hub logs in with its own generated password, never one from the URL', async (t) => {
  const dataDir = tempDir(t, 'broker-setup')
  const store = storeWithNodes(t, [])
  const deps = { dataDir, db: store.db, logger: silent }
  const setup = setUpBrokerAccess({ kind: 'mqtt', url: 'mqtt://127.0.0.1:1883' }, { dir: path.join(dataDir, 'auth') }, deps)
  const password = readFileSync(path.join(dataDir, HUB_BROKER_PASSWORD_FILE), 'utf8').trim()
  t.equal(statSync(path.join(dataDir, HUB_BROKER_PASSWORD_FILE)).mode & 0o777, 0o600)
  t.equal(setup.hubUrl, `mqtt://${HUB_BROKER_USERNAME}:${password}@127.0.0.1:1883`)
  t.equal(setup.createdPath, path.join(dataDir, HUB_BROKER_PASSWORD_FILE))
  t.equal(setup.access.kind, 'mosquitto')
  const again = setUpBrokerAccess({ kind: 'nats', url: 'nats://127.0.0.1:4222' }, { dir: path.join(dataDir, 'auth') }, deps)
  t.equal(again.hubUrl, `nats://${HUB_BROKER_USERNAME}:${password}@127.0.0.1:4222`, 'the same password on the next start')
  t.equal(again.createdPath, null)
  t.throws(() => setUpBrokerAccess({ kind: 'mqtt', url: 'mqtt://someone:pw@127.0.0.1:1883' }, { dir: dataDir }, deps), BrokerAuthConfigError)
  t.throws(() => setUpBrokerAccess({ kind: 'embedded' }, { dir: dataDir }, deps), BrokerAuthConfigError)
})

t.test('shoal hub broker-config writes the files from a data dir, creating what a first start needs', async (t) => {
  const dir = tempDir(t, 'broker-cli')
  const out: string[] = []
  const err: string[] = []
  const io = { out: (s: string) => void out.push(s), err: (s: string) => void err.push(s) }
  const dataDir = path.join(dir, 'hub')
  t.equal(await runCli(['hub', 'broker-config', '--data-dir', dataDir, '--kind', 'nats', '--out', path.join(dir, 'auth')], io), 0, err.join(''))
  t.match(out.join(''), /wrote .*nats-authorization\.conf\n0 node\(s\) and the hub user shoal_hub/)
  t.match(err.join(''), /created .*broker-hub-password \(mode 0600\)/)
  const password = readFileSync(path.join(dataDir, HUB_BROKER_PASSWORD_FILE), 'utf8').trim()
  const hash = /user: "shoal_hub"\n\s+password: "([^"]+)"/.exec(readFileSync(path.join(dir, 'auth', 'nats-authorization.conf'), 'utf8'))?.[1] ?? ''
  t.ok(verifyNatsHash(password, hash), "the file holds a bcrypt hash of the hub's password")
  t.ok(existsSync(path.join(dataDir, 'hub.db')))
  t.equal(await runCli(['hub', 'broker-config', '--data-dir', dataDir, '--kind', 'kafka', '--out', dir], io), 2, 'an unknown kind is a usage error')
  t.equal(
    await runCli(['hub', 'serve', '--data-dir', dataDir, '--broker-reload-pid', '4242'], io),
    2,
    '--broker-reload-pid without --broker-auth-dir is a usage error',
  )
  t.match(err.join(''), /--broker-reload-pid goes with --broker-auth-dir/)
})

// Which identity a node runs under (agent/identity.ts): the decisions alone, then settleIdentity on
// a real SQLite store with its mirror file, without a hub (no token).
import { readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { pino, type Logger } from 'pino'
import t from 'tap'
import { AgentConfigError, type AgentConfig } from '../../agent/config.js'
import { answersToName, IDENTITY_FILE, needsEnrollment, readHubKey, settleIdentity, startingIdentity } from '../../agent/identity.js'
import { AgentStore, type Identity } from '../../agent/store/agent-store.js'
import { openAgentDatabase } from '../../agent/store/open-agent-database.js'
import type { Inventory } from '../../protocol/index.js'
import { tempDir } from '../support/tmp.js'

const KEY = 'MCowBQYDK2VwAyEA0123456789abcdefghijklmnopqrstuvwxyzABCD='
const OTHER_KEY = 'MCowBQYDK2VwAyEAzyxwvutsrqponmlkjihgfedcba9876543210ABCD='
const clock = { now: () => Date.parse('2030-01-01T00:00:00.000Z') }

const identity = (overrides: Partial<Identity> = {}): Identity => ({
  nodeId: 'pi-17',
  hubPublicKey: KEY,
  brokerUrl: 'mqtt://hub:1883',
  username: 'node-pi-17',
  password: 'secret',
  enrolledAt: '2029-12-31T00:00:00.000Z',
  ...overrides,
})

function config(dataDir: string, overrides: Partial<AgentConfig> = {}): AgentConfig {
  return {
    dataDir,
    hubUrl: null,
    token: null,
    hubKey: null,
    name: null,
    labels: {},
    staticDir: null,
    profile: null,
    containerLabels: {},
    dockerSocket: null,
    resyncIntervalMs: 30_000,
    ...overrides,
  }
}

function capturingLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = []
  return { logger: pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) }), lines }
}

t.test('startingIdentity: a new node is named by --name, else by its host', async (t) => {
  t.strictSame(startingIdentity(null, { name: 'edge-1', hubKey: null }, 'ignored'), {
    nodeId: 'edge-1',
    hubPublicKey: null,
    brokerUrl: null,
    username: null,
    password: null,
    enrolledAt: null,
  })
  t.equal(startingIdentity(null, { name: null, hubKey: null }, 'Pi_Kitchen.local').nodeId, 'pi-kitchen-local')
  t.equal(startingIdentity(null, { name: null, hubKey: KEY }, 'h').hubPublicKey, KEY, '--hub-key pins a key on a new node')
})

t.test('startingIdentity: a known node keeps what it has', async (t) => {
  t.strictSame(startingIdentity(identity(), { name: null, hubKey: null }, 'other-host'), identity())
  t.strictSame(startingIdentity(identity(), { name: 'pi-17', hubKey: KEY }, 'h'), identity(), 'the same name and key again')
  t.equal(startingIdentity(identity({ nodeId: 'pi-17-0a1b2c' }), { name: 'pi-17', hubKey: null }, 'h').nodeId, 'pi-17-0a1b2c', 'the name the hub renamed')
})

t.test('startingIdentity refuses a name the data directory does not answer to, and a second key', async (t) => {
  t.throws(() => startingIdentity(identity(), { name: 'pi-18', hubKey: null }, 'h'), {
    name: 'AgentConfigError',
    option: '--name',
    message: /belongs to node pi-17; refusing to run it as pi-18/,
  })
  t.throws(() => startingIdentity(identity(), { name: null, hubKey: OTHER_KEY }, 'h'), {
    option: '--hub-key',
    message: /differs from the hub key this node already pinned/,
  })
})

t.test('answersToName: its own id, or for an enrolled node the name the hub renamed', async (t) => {
  t.ok(answersToName(identity(), 'pi-17'))
  t.ok(answersToName(identity({ nodeId: 'pi-17-0a1b2c' }), 'pi-17'))
  t.notOk(answersToName(identity({ nodeId: 'pi-17-0a1b2c', enrolledAt: null }), 'pi-17'), 'a rename only the hub could have made')
  t.notOk(answersToName(identity({ nodeId: 'pi-17-zzzzzz' }), 'pi-17'), 'not a hub suffix')
  t.notOk(answersToName(identity(), 'pi-1'))
})

t.test('needsEnrollment: a token, an HTTP(S) hub and no enrollment yet', async (t) => {
  const cases: [Pick<AgentConfig, 'token' | 'hubUrl'>, Identity | null, boolean][] = [
    [{ token: 'tok', hubUrl: 'https://hub:8443' }, null, true],
    [{ token: 'tok', hubUrl: 'http://hub:8080' }, identity({ enrolledAt: null }), true],
    [{ token: 'tok', hubUrl: 'https://hub:8443' }, identity(), false],
    [{ token: null, hubUrl: 'https://hub:8443' }, null, false],
    [{ token: 'tok', hubUrl: 'mqtt://hub:1883' }, null, false],
    [{ token: 'tok', hubUrl: null }, null, false],
  ]
  for (const [config, known, expected] of cases) t.equal(needsEnrollment(config, known), expected, `${JSON.stringify(config)} ${known ? 'known' : 'new'}`)
})

t.test('readHubKey takes the key itself or a file holding it, and refuses anything else', async (t) => {
  t.equal(readHubKey(` ${KEY}\n`), KEY)
  const file = join(tempDir(t, 'hub-key'), 'hub.pub')
  writeFileSync(file, `${KEY}\n`)
  t.equal(readHubKey(file), KEY)
  t.throws(() => readHubKey('short'), AgentConfigError)
  t.throws(() => readHubKey(`${KEY}!`), { option: '--hub-key', message: /expected the hub public key/ })
})

function openStore(t: { teardown(fn: () => unknown): void }, dir: string): AgentStore {
  const { db } = openAgentDatabase(join(dir, 'agent.db'), pino({ level: 'silent' }), clock)
  t.teardown(() => {
    if (db.open) db.close()
  })
  return new AgentStore(db, clock, { maxRecords: 100, maxBytes: 1_000_000 })
}

const inventory = {} as Inventory // not read without enrollment

t.test('settleIdentity stores the identity and mirrors it in a private file', async (t) => {
  const dir = tempDir(t, 'identity')
  const store = openStore(t, dir)
  const { logger } = capturingLogger()
  const settled = await settleIdentity({ config: config(dir, { name: 'edge-1', hubUrl: 'mqtt://hub:1883' }), store, inventory, logger, clock })
  t.equal(settled.nodeId, 'edge-1')
  t.strictSame(store.identity(), settled)
  t.strictSame(JSON.parse(readFileSync(join(dir, IDENTITY_FILE), 'utf8')), settled)
  t.equal(statSync(join(dir, IDENTITY_FILE)).mode & 0o777, 0o600)
})

t.test('settleIdentity restores the identity from its mirror when the database is new', async (t) => {
  const dir = tempDir(t, 'identity-mirror')
  writeFileSync(join(dir, IDENTITY_FILE), JSON.stringify(identity()))
  const store = openStore(t, dir)
  const { logger, lines } = capturingLogger()
  const settled = await settleIdentity({ config: config(dir, { token: 'tok', hubUrl: 'https://hub:8443' }), store, inventory, logger, clock })
  t.strictSame(settled, identity(), 'enrolled already: the token is not used')
  t.strictSame(store.identity(), identity())
  t.ok(lines.some((l) => l['msg'] === 'already enrolled; ignoring --token' && l['nodeId'] === 'pi-17'))
})

t.test('settleIdentity refuses a foreign --name and stores nothing', async (t) => {
  const dir = tempDir(t, 'identity-name')
  const store = openStore(t, dir)
  store.saveIdentity(identity())
  const { logger } = capturingLogger()
  await t.rejects(settleIdentity({ config: config(dir, { name: 'pi-18' }), store, inventory, logger, clock }), {
    option: '--name',
    message: /refusing to run it as pi-18/,
  })
  t.strictSame(store.identity(), identity())
})

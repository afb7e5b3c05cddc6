// EnrollmentService and JoinTokenService (hub/enrollment/) against a real SQLite hub store, the
// real firmware profiles and a hand-moved clock. The fleet and the external broker are recorders:
// enrollment only asks them for a pass soon and for a rewrite, and these note that it did.
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import type { BrokerSyncResult } from '../../hub/broker-config/broker-access.js'
import { EnrollmentBusyError, EnrollmentService, EnrollmentThrottledError } from '../../hub/enrollment/enrollment-service.js'
import { EnrollmentAdmission } from '../../hub/enrollment/enrollment-admission.js'
import { MAX_FAILED_ENROLLMENTS } from '../../hub/enrollment/failed-enrollments.js'
import { DEFAULT_TOKEN_TTL, JoinTokenService, tokenExpiry } from '../../hub/enrollment/join-token-service.js'
import { ChangeFeed, type Change } from '../../hub/ingest/change-feed.js'
import { HubStore } from '../../hub/store/hub-store.js'
import { JoinTokenNotFoundError } from '../../hub/store/not-found.js'
import { openHubDatabase } from '../../hub/store/open-hub-database.js'
import { TokenRefusedError } from '../../hub/store/token-repository.js'
import { loadProfiles } from '../../firmware-profiles/catalog.js'
import { UnknownProfileError } from '../../firmware-profiles/matcher.js'
import type { EnrollmentRequest, Inventory } from '../../protocol/index.js'
import { tempDir } from '../support/tmp.js'
import type { TestLike } from '../support/types.js'

const T0 = Date.parse('2030-01-01T00:00:00.000Z')
const inventory = JSON.parse(readFileSync(fileURLToPath(new URL('../fixtures/inventories/raspberry-pi-4.json', import.meta.url)), 'utf8')) as Inventory
const profiles = await loadProfiles()

function setUp(t: TestLike) {
  const store = new HubStore(openHubDatabase(path.join(tempDir(t, 'enrollment-services'), 'hub.db')))
  t.teardown(() => store.close())
  let now = T0
  const clock = { now: () => now, advance: (ms: number) => void (now += ms) }
  const feed = new ChangeFeed()
  const changes: Change[] = []
  feed.subscribe((change) => changes.push(change))
  return { store, clock, feed, changes, tokens: new JoinTokenService({ store, clock }) }
}

/** A fleet that notes each pass asked for. */
function recordingFleet() {
  const requested: string[] = []
  return { requested, requestSoon: (reason: string) => void requested.push(reason) }
}

/** An external broker's access that notes each rewrite asked for. */
function recordingBroker() {
  const reasons: string[] = []
  return {
    reasons,
    sync: async (reason: string): Promise<BrokerSyncResult> => (reasons.push(reason), { files: [], nodes: 0, missing: [], signalled: [], confirmed: true }),
  }
}

const request = (token: string, extra: Partial<EnrollmentRequest> = {}): EnrollmentRequest => ({
  token,
  name: 'pi-1',
  labels: { room: '2' },
  inventory,
  agentVersion: '1.0.0',
  ...extra,
})

t.test('EnrollmentService', async (t) => {
  t.test('enrolls with a good token, answers once the broker knows the node, then tells watchers and asks for a pass', async (t) => {
    const { store, clock, feed, changes, tokens } = setUp(t)
    const fleet = recordingFleet()
    const broker = recordingBroker()
    const service = new EnrollmentService({
      store,
      clock,
      profiles,
      hubPublicKey: 'hub-key',
      transport: { kind: 'mqtt', advertisedUrl: 'mqtt://hub:1883' },
      fleet,
      feed,
      brokerAccess: broker,
    })
    const token = tokens.create({ labels: { site: 'x' } }, 'admin').token
    const response = await service.enroll(request(token), '10.0.0.1')
    t.match(response, { nodeId: 'pi-1', hubPublicKey: 'hub-key', transport: 'mqtt', brokerUrl: 'mqtt://hub:1883', username: 'pi-1', password: String })
    t.match(store.nodes.get('pi-1'), { profile: 'raspberry-pi-4', labels: { site: 'x', room: '2' } })
    t.same(store.credentials.usernames(), [{ nodeId: 'pi-1', username: 'pi-1' }])
    t.same(broker.reasons, ['enrolled pi-1'])
    t.same(changes, [{ type: 'node', nodeId: 'pi-1', reason: 'enrolled' }])
    t.same(fleet.requested, ['enrolled'])
  })

  t.test('an address whose tokens were refused too often waits for the window; others do not', async (t) => {
    const { store, clock, feed } = setUp(t)
    const service = new EnrollmentService({
      store,
      clock,
      profiles,
      hubPublicKey: 'k',
      transport: { kind: 'embedded', advertisedUrl: 'mqtt://hub:1883' },
      fleet: recordingFleet(),
      feed,
    })
    for (let i = 0; i < MAX_FAILED_ENROLLMENTS; i++) {
      service.admit('10.0.0.9')
      await t.rejects(service.enroll(request('shoal_nope_0123456789abcdef'), '10.0.0.9'), TokenRefusedError)
    }
    const error = t.throws(() => service.admit('10.0.0.9')) as EnrollmentThrottledError
    t.type(error, EnrollmentThrottledError)
    t.equal(error.retryAfterSeconds, 60)
    t.equal(error.message, 'too many failed enrollments from 10.0.0.9; try again in 60 s')
    t.doesNotThrow(() => service.admit('10.0.0.10'), 'another address may try')
    clock.advance(59_500)
    t.equal((t.throws(() => service.admit('10.0.0.9')) as EnrollmentThrottledError).retryAfterSeconds, 1, 'seconds rounded up')
    clock.advance(500)
    t.doesNotThrow(() => service.admit('10.0.0.9'), 'after the window it may try again')
  })

  t.test('requests the API could not read count as failures too; a profile that does not exist does not', async (t) => {
    const { store, clock, feed, tokens } = setUp(t)
    const service = new EnrollmentService({
      store,
      clock,
      profiles,
      hubPublicKey: 'k',
      transport: { kind: 'embedded', advertisedUrl: 'mqtt://hub:1883' },
      fleet: recordingFleet(),
      feed,
    })
    const token = tokens.create({}, 'admin').token
    for (let i = 0; i < MAX_FAILED_ENROLLMENTS; i++)
      await t.rejects(service.enroll(request(token, { profile: 'no-such-profile' }), '10.0.0.7'), UnknownProfileError)
    t.doesNotThrow(() => service.admit('10.0.0.7'))
    for (let i = 0; i < MAX_FAILED_ENROLLMENTS; i++) service.refused('10.0.0.7')
    t.throws(() => service.admit('10.0.0.7'), EnrollmentThrottledError)
  })
})

t.test('EnrollmentService: a burst beyond the admission rate is refused with how long to wait, for every address', async (t) => {
  const { store, clock, feed } = setUp(t)
  const service = new EnrollmentService({
    store,
    clock,
    profiles,
    hubPublicKey: 'k',
    transport: { kind: 'embedded', advertisedUrl: 'mqtt://hub:1883' },
    fleet: recordingFleet(),
    feed,
    admission: new EnrollmentAdmission(2),
  })
  service.admit('10.0.0.1')
  service.admit('10.0.0.2')
  const busy = t.throws(() => service.admit('10.0.0.3')) as EnrollmentBusyError
  t.type(busy, EnrollmentBusyError)
  t.same([busy.ratePerSecond, busy.retryAfterSeconds], [2, 1])
  t.match(busy.message, /admits 2 enrollments per second.*--enroll-rate/)
  t.equal((t.throws(() => service.admit('10.0.0.4')) as EnrollmentBusyError).retryAfterSeconds, 1, 'the next in line: 1 s, rounded up')
  t.equal((t.throws(() => service.admit('10.0.0.5')) as EnrollmentBusyError).retryAfterSeconds, 2, 'and the one after waits longer')
  clock.advance(2_000)
  t.doesNotThrow(() => service.admit('10.0.0.3'), 'tokens come back with time')
})

t.test('JoinTokenService', async (t) => {
  t.test('tokenExpiry: a duration from now, never for "0"', async (t) => {
    t.equal(tokenExpiry('1h', T0), new Date(T0 + 3_600_000).toISOString())
    t.equal(tokenExpiry('0', T0), null)
    t.equal(DEFAULT_TOKEN_TTL, '24h')
  })

  t.test('create answers the secret once, stores a digest, expires after 24h by default, and is audited', async (t) => {
    const { store, tokens } = setUp(t)
    const created = tokens.create({ maxUses: 2, labels: { site: 'x' } }, 'alice')
    t.match(created, {
      token: /^shoal_/,
      id: String,
      labels: { site: 'x' },
      maxUses: 2,
      uses: 0,
      expiresAt: new Date(T0 + 86_400_000).toISOString(),
      createdAt: new Date(T0).toISOString(),
    })
    t.notOk(JSON.stringify(store.tokens.list()).includes(created.token), 'the list never holds the secret')
    t.match(store.audit.list()[0], {
      actor: 'alice',
      action: 'token.create',
      target: created.id,
      detail: JSON.stringify({ maxUses: 2, expiresAt: created.expiresAt, labels: { site: 'x' } }),
    })
    t.equal(tokens.create({ ttl: '0' }, 'alice').expiresAt, null, 'ttl "0" never expires')
  })

  t.test('a bandwidth label that cannot mean anything is refused at creation, not at each enrollment', async (t) => {
    const { store, tokens } = setUp(t)
    t.throws(() => tokens.create({ labels: { site: 'x', 'shoal.io/pull-windows': '1-5' } }, 'alice'), {
      name: 'BandwidthLabelsError',
      message: /^join token: shoal\.io\/pull-windows=1-5: must be HHMM-HHMM windows joined by _, such as 0100-0500_2200-0230; no label was changed$/,
    })
    t.same(store.tokens.list(), [], 'no token was made')
    t.same(store.audit.list(), [], 'nothing audited')
    t.same(tokens.create({ labels: { 'shoal.io/pull-windows': '0100-0500', link: 'lte' } }, 'alice').labels, {
      'shoal.io/pull-windows': '0100-0500',
      link: 'lte',
    })
  })

  t.test('list says how many uses are left and whether a token expired', async (t) => {
    const { clock, tokens } = setUp(t)
    const limited = tokens.create({ maxUses: 3, ttl: '1h' }, 'a')
    const open = tokens.create({ ttl: '0' }, 'a')
    clock.advance(3_600_000)
    const items = new Map(tokens.list().items.map((item) => [item.id, item]))
    t.match(items.get(limited.id), { usesLeft: 3, expired: true })
    t.match(items.get(open.id), { usesLeft: null, expired: false })
  })

  t.test('revoke removes the token with an audit entry; an unknown id is JoinTokenNotFoundError', async (t) => {
    const { store, tokens } = setUp(t)
    const created = tokens.create({}, 'a')
    t.same(tokens.revoke(created.id, 'bob'), { revoked: created.id })
    t.same(store.tokens.list(), [])
    t.match(store.audit.list()[0], { actor: 'bob', action: 'token.revoke', target: created.id, detail: null })
    const error = t.throws(() => tokens.revoke(created.id, 'bob')) as JoinTokenNotFoundError
    t.type(error, JoinTokenNotFoundError)
    t.equal(error.tokenId, created.id)
    t.equal(store.audit.list().length, 2, 'nothing audited for a token that was not there')
  })
})

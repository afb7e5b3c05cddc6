// NodePatchService (hub/fleet/node-patch.ts) and NodeRevocationService
// (hub/enrollment/node-revocation.ts) against a real SQLite hub store and a real fleet controller
// (its passes run on request). The transport and the external broker are recorders: they note
// what the service asked of them, which is all these services do with them.
import t from 'tap'
import type { BrokerSyncResult } from '../../hub/broker-config/broker-access.js'
import { NodeRevocationService } from '../../hub/enrollment/node-revocation.js'
import { BandwidthLabelsError } from '../../hub/fleet/node-bandwidth.js'
import { NodePatchService, patchedLabels } from '../../hub/fleet/node-patch.js'
import { HubStore } from '../../hub/store/hub-store.js'
import { NodeNotFoundError } from '../../hub/store/not-found.js'
import { Deployment, type OutboxRecord } from '../../protocol/index.js'
import { nodeRecord } from '../support/hub-nodes.js'
import type { TestLike } from '../support/types.js'
import { hubFleet } from '../support/hub-fleet.js'

const T0 = Date.parse('2030-01-01T00:00:00.000Z')
const AT = new Date(T0).toISOString()

function setUp(t: TestLike) {
  const { store, clock, feed, changes, fleet } = hubFleet(t, 'node-services', T0)
  for (const [id, site] of [
    ['n1', 'a'],
    ['n2', 'b'],
  ] as const) {
    store.nodes.insert(nodeRecord(id, { labels: { site, tier: 'edge' }, createdAt: AT }))
    store.nodes.setOnline(id, true, AT)
  }
  return { store, clock, feed, changes, fleet }
}

/** One copy of `web` on nodes with site=a. */
function applyWeb(store: HubStore): void {
  const manifest = Deployment.parse({
    apiVersion: 'shoal/v1',
    kind: 'Deployment',
    metadata: { name: 'web' },
    spec: { replicas: 1, selector: { matchLabels: { site: 'a' } }, template: { image: 'web:1' } },
  })
  store.deployments.apply(manifest, AT)
}

/** A transport that only notes which nodes it was asked to disconnect. */
function recordingTransport() {
  const disconnected: string[] = []
  return { disconnected, disconnectNode: (nodeId: string) => void disconnected.push(nodeId) }
}

/** An external broker's access that notes each rewrite it was asked for and answers `result`. */
function recordingBroker(result: Partial<BrokerSyncResult>) {
  const reasons: string[] = []
  return {
    reasons,
    sync: async (reason: string): Promise<BrokerSyncResult> => (
      reasons.push(reason), { files: [], nodes: 0, missing: [], signalled: [], confirmed: true, ...result }
    ),
  }
}

t.test('patchedLabels sets, replaces and removes keys and keeps the rest', async (t) => {
  t.same(patchedLabels({ a: '1', b: '2', c: '3' }, { a: 'x', b: null, d: '4' }), { a: 'x', c: '3', d: '4' })
  t.same(patchedLabels({ a: '1' }, { missing: null }), { a: '1' }, 'removing an absent key is no change')
})

t.test('NodePatchService', async (t) => {
  t.test('stores labels and cordon with an audit entry; the pass before the answer moves copies whose selector no longer matches', async (t) => {
    const { store, clock, feed, changes, fleet } = setUp(t)
    applyWeb(store)
    await fleet.request('test')
    t.same(
      store.deployments.placements().map((p) => p.nodeId),
      ['n1'],
    )
    const patches = new NodePatchService({ store, fleet, feed, clock })
    const after = await patches.patch('n1', { labels: { site: null, owner: 'ops' }, cordoned: true }, 'alice')
    t.same(after.labels, { tier: 'edge', owner: 'ops' })
    t.equal(after.cordoned, true)
    t.same(store.deployments.placements(), [], 'web has no node with site=a left')
    t.match(store.audit.list()[0], {
      actor: 'alice',
      action: 'node.patch',
      target: 'n1',
      detail: JSON.stringify({ labels: { site: null, owner: 'ops' }, cordoned: true }),
    })
    t.match(changes.at(-1), { type: 'node', nodeId: 'n1', reason: 'patched' })
  })
  t.test('a patch without labels leaves them; one without cordoned leaves that', async (t) => {
    const { store, clock, feed, fleet } = setUp(t)
    const patches = new NodePatchService({ store, fleet, feed, clock })
    t.same((await patches.patch('n2', { cordoned: true }, 'a')).labels, { site: 'b', tier: 'edge' })
    t.equal((await patches.patch('n2', { labels: { x: 'y' } }, 'a')).cordoned, true)
  })
  t.test('bandwidth labels reach the node in its signed document; a malformed one is refused and nothing changes', async (t) => {
    const { store, clock, feed, fleet } = setUp(t)
    applyWeb(store)
    await fleet.request('test')
    const before = store.desired.get('n1')
    t.notOk(before?.document.bandwidth, 'no bandwidth labels: no bandwidth in the document')
    const patches = new NodePatchService({ store, fleet, feed, clock })
    await patches.patch('n1', { labels: { 'shoal.io/monthly-budget': '2Gi', 'shoal.io/pull-windows': '0100-0500', link: 'lte' } }, 'alice')
    const after = store.desired.get('n1')
    t.same(after?.document.bandwidth, { monthlyBudget: '2Gi', pullWindows: ['01:00-05:00'], link: 'lte' })
    t.ok((after?.generation ?? 0) > (before?.generation ?? 0), 'a new generation')
    const audited = store.audit.list().length
    const refused = await patches.patch('n1', { labels: { 'shoal.io/pull-windows': '01:00-05:00', owner: 'x' } }, 'alice').catch((e: unknown) => e)
    t.type(refused, BandwidthLabelsError)
    t.match((refused as Error).message, /shoal\.io\/pull-windows=01:00-05:00: must be HHMM-HHMM windows joined by _.*; no label was changed/)
    t.equal(store.nodes.get('n1')?.labels.owner, undefined, 'the other label in the patch was not set either')
    t.equal(store.audit.list().length, audited, 'nothing audited')

    // --pull-now: the revision is marked, and its copies carry pullNow.
    store.deployments.allowPullNow('web', 1)
    await fleet.request('test')
    t.equal(store.desired.get('n1')?.document.workloads[0]?.pullNow, true)
  })
  t.test('a missing node is NodeNotFoundError, and nothing is audited', async (t) => {
    const { store, clock, feed, fleet } = setUp(t)
    const patches = new NodePatchService({ store, fleet, feed, clock })
    t.throws(() => patches.require('ghost'), NodeNotFoundError)
    const error = await patches.patch('ghost', { cordoned: true }, 'a').catch((e: unknown) => e)
    t.type(error, NodeNotFoundError)
    t.equal((error as NodeNotFoundError).nodeId, 'ghost')
    t.same(store.audit.list(), [])
  })
})

t.test('NodeRevocationService', async (t) => {
  const outboxRecord = (seq: number): OutboxRecord =>
    ({
      nodeId: 'n1',
      seq,
      kind: 'status',
      body: {
        nodeId: 'n1',
        observedGeneration: 1,
        at: AT,
        workloads: [{ name: 'web', deployment: 'web', revision: 1, state: 'running', health: 'none', restarts: 0, since: AT }],
      },
    }) as OutboxRecord

  t.test('removes the node, its credentials and status in one step, rewrites the broker, cuts the connection, and replaces its copies', async (t) => {
    const { store, clock, feed, changes, fleet } = setUp(t)
    applyWeb(store)
    store.nodes.setLabels('n2', { site: 'a' })
    await fleet.request('test')
    store.credentials.setHashed('n1', 'n1', 'hash')
    store.credentials.setHashed('n2', 'n2', 'hash')
    store.transaction(() => store.status.ingest('n1', '', [outboxRecord(7)], AT))
    t.equal(store.status.lastSeq('n1'), 7)
    const transport = recordingTransport()
    const broker = recordingBroker({ confirmed: true })
    const revocations = new NodeRevocationService({ store, clock, fleet, feed, transport, brokerAccess: broker })
    const placedOn = store.deployments.placements()[0]?.nodeId
    const answer = await revocations.revoke(placedOn ?? '', 'alice')
    t.same(answer, { revoked: placedOn, broker: { confirmed: true } })
    const other = placedOn === 'n1' ? 'n2' : 'n1'
    t.equal(store.nodes.get(placedOn ?? ''), null)
    t.same(
      store.credentials.usernames().map((c) => c.nodeId),
      [other],
      'only the other node can still log in',
    )
    t.equal(store.status.lastSeq(placedOn ?? ''), 0, 'its dedupe state is forgotten')
    t.same(broker.reasons, [`revoked ${placedOn}`])
    t.same(transport.disconnected, [placedOn])
    t.same(
      store.deployments.placements().map((p) => p.nodeId),
      [other],
      'the pass before the answer placed web on the other node',
    )
    t.match(store.audit.list()[0], { actor: 'alice', action: 'node.revoke', target: placedOn, detail: null })
    t.match(changes.at(-1), { type: 'node', nodeId: placedOn, reason: 'revoked' })
  })
  t.test("the answer carries the broker's error, and says nothing of a broker when there is none", async (t) => {
    const { store, clock, feed, fleet } = setUp(t)
    const failing = new NodeRevocationService({
      store,
      clock,
      fleet,
      feed,
      transport: recordingTransport(),
      brokerAccess: recordingBroker({ confirmed: false, error: 'reload refused' }),
    })
    t.same(await failing.revoke('n1', 'a'), { revoked: 'n1', broker: { confirmed: false, error: 'reload refused' } })
    const embedded = new NodeRevocationService({ store, clock, fleet, feed, transport: recordingTransport() })
    t.same(await embedded.revoke('n2', 'a'), { revoked: 'n2' })
  })
  t.test('a missing node is NodeNotFoundError: no broker rewrite, no disconnect, no audit', async (t) => {
    const { store, clock, feed, fleet } = setUp(t)
    const transport = recordingTransport()
    const broker = recordingBroker({})
    const revocations = new NodeRevocationService({ store, clock, fleet, feed, transport, brokerAccess: broker })
    await t.rejects(revocations.revoke('ghost', 'a'), NodeNotFoundError)
    t.same(broker.reasons, [])
    t.same(transport.disconnected, [])
    t.same(store.audit.list(), [])
  })
})

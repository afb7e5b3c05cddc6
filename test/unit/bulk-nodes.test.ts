import t from 'tap'
import { BulkNodeService } from '../../hub/fleet/bulk-node-service.js'
import { BandwidthLabelsError } from '../../hub/fleet/node-bandwidth.js'
import { changesNode, copyMoves, nodeChangeOf, previewNodeChange } from '../../hub/fleet/node-change-preview.js'
import type { SchedulerDeployment } from '../../hub/scheduler/index.js'
import { BulkNodeRequest } from '../../protocol/api/index.js'
import { Deployment } from '../../protocol/index.js'
import { nodeRecord } from '../support/hub-nodes.js'
import { schedulerNode } from '../support/scheduler-nodes.js'
import type { TestLike } from '../support/types.js'
import { hubFleet } from '../support/hub-fleet.js'

// Bulk node actions (issue 16, item 3): the pure preview a dry run answers from, and the service
// over a real store and fleet controller, whose real pass must agree with the preview.

const T0 = Date.parse('2030-01-01T00:00:00.000Z')
const AT = new Date(T0).toISOString()

const manifest = (name: string, spec: Record<string, unknown>) =>
  Deployment.parse({ apiVersion: 'shoal/v1', kind: 'Deployment', metadata: { name }, spec: { ...spec, template: { image: `${name}:1` } } })
const scheduled = (name: string, spec: Record<string, unknown>, revision = 1): SchedulerDeployment => ({ name, revision, spec: manifest(name, spec).spec })

t.test('nodeChangeOf: each action as labels and cordon', async (t) => {
  const nodes = ['a']
  t.same(nodeChangeOf({ nodes, action: 'label', labels: { site: 'x' } }), { labels: { site: 'x' } })
  t.same(nodeChangeOf({ nodes, action: 'unlabel', keys: ['site', 'tier'] }), { labels: { site: null, tier: null } })
  t.same(nodeChangeOf({ nodes, action: 'cordon' }), { cordoned: true })
  t.same(nodeChangeOf({ nodes, action: 'uncordon' }), { cordoned: false })
  t.same(nodeChangeOf({ nodes, action: 'drain' }), { cordoned: true, drain: true })
})

t.test('the request schema refuses an empty node list, an empty label set and a bad key, naming the problem', async (t) => {
  const problem = (body: unknown): string => {
    const parsed = BulkNodeRequest.safeParse(body)
    return parsed.success ? '' : (parsed.error.issues[0]?.message ?? '')
  }
  t.match(problem({ nodes: [], action: 'cordon' }), 'name at least one node')
  t.match(problem({ nodes: ['a'], action: 'label', labels: {} }), 'give at least one label to set')
  t.match(problem({ nodes: ['a'], action: 'unlabel', keys: [] }), 'give at least one label key to remove')
  t.not(problem({ nodes: ['a'], action: 'label', labels: { 'Bad Key!': 'x' } }), '')
  t.not(problem({ nodes: ['a'], action: 'reboot' }), '')
  t.equal(problem({ nodes: ['a'], action: 'drain', dryRun: true }), '')
})

t.test('changesNode: only a difference in labels or cordon counts', async (t) => {
  const node = { labels: { site: 'a' }, cordoned: false }
  t.notOk(changesNode(node, { labels: { site: 'a' } }))
  t.ok(changesNode(node, { labels: { site: 'b' } }))
  t.notOk(changesNode(node, { labels: { gone: null } }), 'removing an absent key')
  t.ok(changesNode(node, { labels: { site: null } }))
  t.notOk(changesNode(node, { cordoned: false }))
  t.ok(changesNode(node, { cordoned: true }))
})

t.test('copyMoves pairs a replica gone from one node with the same replica new on another; every-node copies start and stop', async (t) => {
  const p = (deployment: string, nodeId: string, replica = 0) => ({ deployment, nodeId, workload: deployment, replica })
  const moves = copyMoves(
    [p('web', 'a', 0), p('web', 'b', 1), p('agent', 'a'), p('agent', 'b')],
    [p('web', 'c', 0), p('web', 'b', 1), p('agent', 'b'), p('agent', 'd'), p('db', 'x', 0)],
    (name) => name !== 'agent',
  )
  t.same(moves, [
    { deployment: 'agent', workload: 'agent', replica: 0, from: null, to: 'd' },
    { deployment: 'agent', workload: 'agent', replica: 0, from: 'a', to: null },
    { deployment: 'db', workload: 'db', replica: 0, from: null, to: 'x' },
    { deployment: 'web', workload: 'web', replica: 0, from: 'a', to: 'c' },
  ])
})

t.test('previewNodeChange: a drain moves replicas to nodes that can take them, leaves every-node copies, and says when none can', async (t) => {
  const deployments = [
    scheduled('web', { replicas: 2, selector: { matchLabels: { tier: 'edge' } } }),
    scheduled('solo', { replicas: 1, selector: { matchLabels: { site: 'a' } } }),
    scheduled('agent', { mode: 'every-node' }),
  ]
  const nodes = [
    schedulerNode('n1', { labels: { tier: 'edge', site: 'a' } }),
    schedulerNode('n2', { labels: { tier: 'edge', site: 'b' } }),
    schedulerNode('n3', { labels: { tier: 'edge', site: 'b' } }),
  ]
  const placements = [
    { deployment: 'web', nodeId: 'n1', workload: 'web', replica: 0 },
    { deployment: 'web', nodeId: 'n2', workload: 'web', replica: 1 },
    { deployment: 'solo', nodeId: 'n1', workload: 'solo', replica: 0 },
    ...['n1', 'n2', 'n3'].map((nodeId) => ({ deployment: 'agent', nodeId, workload: 'agent', replica: 0 })),
  ]
  const preview = previewNodeChange({ deployments, nodes, placements, targets: ['n1'], change: { cordoned: true, drain: true }, now: T0 })
  t.same(preview.moves, [
    { deployment: 'solo', workload: 'solo', replica: 0, from: 'n1', to: null },
    { deployment: 'web', workload: 'web', replica: 0, from: 'n1', to: 'n3' },
  ])
  t.same(
    preview.kept.map((p) => `${p.deployment}@${p.nodeId}`),
    ['agent@n1'],
  )
  const cordonOnly = previewNodeChange({ deployments, nodes, placements, targets: ['n1', 'n2'], change: { cordoned: true }, now: T0 })
  t.same(cordonOnly.moves, [], 'cordoning moves nothing')
  const relabel = previewNodeChange({ deployments, nodes, placements, targets: ['n2', 'n3'], change: { labels: { site: 'a' } }, now: T0 })
  t.same(relabel.moves, [], 'a label that keeps every selector matching moves nothing')
  const unlabel = previewNodeChange({ deployments, nodes, placements, targets: ['n2'], change: { labels: { tier: null } }, now: T0 })
  t.same(unlabel.moves, [{ deployment: 'web', workload: 'web', replica: 1, from: 'n2', to: 'n3' }], 'a removed label moves what selected it')
})

function setUp(t: TestLike) {
  const { store, clock, feed, changes, fleet } = hubFleet(t, 'bulk-nodes', T0)
  for (const id of ['n1', 'n2', 'n3']) {
    store.nodes.insert(nodeRecord(id, { labels: { tier: 'edge' }, createdAt: AT }))
    store.nodes.setOnline(id, true, AT)
  }
  store.deployments.apply(manifest('web', { replicas: 2, selector: { matchLabels: { tier: 'edge' } } }), AT)
  store.deployments.apply(manifest('agent', { mode: 'every-node' }), AT)
  return { store, fleet, changes, bulk: new BulkNodeService({ store, fleet, feed, clock }) }
}

t.test('BulkNodeService labels several nodes in one pass, with a result per node and missing ones named', async (t) => {
  const { store, fleet, bulk, changes } = setUp(t)
  await fleet.request('test')
  store.nodes.setLabels('n3', { tier: 'edge', site: 'x' })
  const result = await bulk.run({ nodes: ['n1', 'n2', 'n3', 'ghost', 'n1'], action: 'label', labels: { site: 'x' } }, 'alice')
  t.same(result.nodes, [
    { id: 'n1', outcome: 'changed', message: 'labeled' },
    { id: 'n2', outcome: 'changed', message: 'labeled' },
    { id: 'n3', outcome: 'unchanged', message: 'already has these labels' },
    { id: 'ghost', outcome: 'not-found', message: 'no such node' },
  ])
  t.same(result.moves, [])
  t.same(
    ['n1', 'n2', 'n3'].map((id) => store.nodes.get(id)?.labels.site),
    ['x', 'x', 'x'],
  )
  t.same(
    store.audit
      .list()
      .filter((e) => e.action === 'node.label')
      .map((e) => e.target)
      .sort(),
    ['n1', 'n2', 'n3'],
    'one audit entry per node',
  )
  t.ok(changes.some((c) => c.type === 'node' && c.nodeId === 'n2'))
  const removed = await bulk.run({ nodes: ['n1', 'n2'], action: 'unlabel', keys: ['site'] }, 'alice')
  t.same(
    removed.nodes.map((n) => n.outcome),
    ['changed', 'changed'],
  )
  t.equal(store.nodes.get('n1')?.labels.site, undefined)
})

t.test('BulkNodeService: a dry-run drain changes nothing and names the moves the real drain then makes', async (t) => {
  const { store, fleet, bulk } = setUp(t)
  await fleet.request('test')
  const holders = store.deployments
    .placements()
    .filter((p) => p.deployment === 'web')
    .map((p) => p.nodeId)
  t.equal(holders.length, 2)
  const before = JSON.stringify(store.deployments.placements())
  const dry = await bulk.run({ nodes: holders, action: 'drain', dryRun: true }, 'alice')
  t.equal(dry.dryRun, true)
  t.equal(JSON.stringify(store.deployments.placements()), before, 'nothing moved')
  t.notOk(store.nodes.get(holders[0] ?? '')?.cordoned, 'nothing cordoned')
  t.same(store.audit.list(), [], 'nothing audited')
  const free = ['n1', 'n2', 'n3'].find((id) => !holders.includes(id))
  t.same(
    dry.moves.map((m) => [m.from, m.to]),
    holders.map((from, i) => [from, i === 0 ? free : null]).sort(),
    'one replica to the free node, the other waits',
  )
  t.match(dry.nodes[0]?.message, /would be drained; 1 copy would move off/)
  t.same(dry.kept.map((k) => k.node).sort(), [...holders].sort(), 'the every-node copies stay')

  const real = await bulk.run({ nodes: holders, action: 'drain' }, 'alice')
  t.same(real.moves, dry.moves, 'the real drain made the moves the dry run named')
  t.ok(holders.every((id) => store.nodes.get(id)?.cordoned))
  t.match(real.nodes[0], { outcome: 'changed', message: 'drained; 1 copy moved off' })
  const again = await bulk.run({ nodes: holders, action: 'drain' }, 'alice')
  t.same(
    again.nodes.map((n) => n.outcome),
    ['unchanged', 'unchanged'],
    'draining drained nodes changes nothing',
  )
  const uncordon = await bulk.run({ nodes: holders, action: 'uncordon' }, 'alice')
  t.same(
    uncordon.nodes.map((n) => n.message),
    ['uncordoned', 'uncordoned'],
  )
})

t.test('BulkNodeService: a bandwidth label that cannot mean anything is refused for every node, dry run or not, and nothing changes', async (t) => {
  const { store, fleet, bulk } = setUp(t)
  await fleet.request('test')
  const audited = store.audit.list().length
  for (const dryRun of [true, false]) {
    const refused = await bulk
      .run({ nodes: ['n1', 'n2'], action: 'label', labels: { 'shoal.io/monthly-budget': 'lots', owner: 'x' }, dryRun }, 'alice')
      .catch((e: unknown) => e)
    t.type(refused, BandwidthLabelsError, dryRun ? 'a dry run says so too' : 'refused')
    t.match((refused as Error).message, /^node n1: shoal\.io\/monthly-budget=lots: must be a byte quantity such as 2Gi or 500M; no label was changed$/)
  }
  t.same(
    ['n1', 'n2'].map((id) => store.nodes.get(id)?.labels.owner),
    [undefined, undefined],
    'the other label of the action was not set either',
  )
  t.equal(store.audit.list().length, audited, 'nothing audited')
  const fine = await bulk.run({ nodes: ['n1'], action: 'label', labels: { 'shoal.io/monthly-budget': '2Gi' } }, 'alice')
  t.same(fine.nodes, [{ id: 'n1', outcome: 'changed', message: 'labeled' }], 'a well-formed one is set')
})

import t from 'tap'
import type { z } from 'zod'
import { DeploymentSpec } from '../../protocol/manifest.js'
import type { Resources } from '../../protocol/container-template.js'
import {
  SchedulerInputError,
  explainNode,
  schedule,
  type Placement,
  type ScheduleResult,
  type SchedulerDeployment,
  type SchedulerNode,
} from '../../hub/scheduler/index.js'
import { type SchedulerNodeOptions, schedulerNode } from '../support/scheduler-nodes.js'

// ---------------------------------------------------------------- builders

const Mi = 1024 ** 2
const Gi = 1024 ** 3
const MINUTE = 60_000
const NOW = 1_700_000_000_000

const node = schedulerNode

/** A node offline for `minutes` before NOW. */
function offline(id: string, minutes: number, options: SchedulerNodeOptions = {}): SchedulerNode {
  return node(id, { ...options, online: false, offlineSince: NOW - minutes * MINUTE })
}

type SpecOptions = Omit<z.input<typeof DeploymentSpec>, 'template'> & { resources?: Resources }

function deployment(name: string, options: SpecOptions = {}, revision = 1): SchedulerDeployment {
  const { resources, ...spec } = options
  const template = { image: `registry.example/${name}:1`, ...(resources === undefined ? {} : { resources }) }
  return { name, revision, spec: DeploymentSpec.parse({ ...spec, template }) }
}

function placement(deploymentName: string, nodeId: string, replica = 0): Placement {
  return { deployment: deploymentName, nodeId, workload: deploymentName, replica }
}

/** Node ids holding a deployment, sorted. */
function where(result: ScheduleResult, name: string): string[] {
  return result.placements.filter((p) => p.deployment === name).map((p) => p.nodeId)
}

function outcome(result: ScheduleResult, name: string) {
  const found = result.perDeployment.get(name)
  if (found === undefined) throw new Error(`no outcome for ${name}`)
  return found
}

function sites(spec: Record<string, string[]>): SchedulerNode[] {
  return Object.entries(spec).flatMap(([site, ids]) => ids.map((id) => node(id, { labels: { site } })))
}

// ---------------------------------------------------------------- replicas and spread

t.test('places the requested replicas, one per node, in node order when nodes are equal', async (t) => {
  const result = schedule([deployment('web', { replicas: 3 })], [node('c'), node('a'), node('d'), node('b')], [], NOW)
  t.same(where(result, 'web'), ['a', 'b', 'c'])
  t.same(
    result.placements.map((p) => [p.nodeId, p.workload, p.replica]),
    [
      ['a', 'web', 0],
      ['b', 'web', 1],
      ['c', 'web', 2],
    ],
  )
  t.same(outcome(result, 'web').added.length, 3)
})

t.test('a deployment without replicas runs one copy', async (t) => {
  const result = schedule([deployment('web')], [node('a'), node('b')], [], NOW)
  t.same(where(result, 'web'), ['a'])
  t.equal(outcome(result, 'web').desired, 1)
})

t.test('never puts two replicas on one node and reports the rest pending', async (t) => {
  const result = schedule([deployment('web', { replicas: 3 })], [node('a'), node('b')], [], NOW)
  t.same(where(result, 'web'), ['a', 'b'])
  const web = outcome(result, 'web')
  t.match(web, { desired: 3, placed: 2, pending: 1, matching: 2 })
  t.equal(web.explanation, '2/3 replicas placed, 1 pending (at most one per node); 2/2 nodes match')
})

t.test('spreads replicas evenly over the values of the topology label', async (t) => {
  const nodes = sites({ a: ['a1', 'a2', 'a3'], b: ['b1', 'b2'] })
  const result = schedule([deployment('web', { replicas: 4, spread: { topologyKey: 'site' } })], nodes, [], NOW)
  t.same(where(result, 'web'), ['a1', 'a2', 'b1', 'b2'])
})

t.test('nodes without the topology label form a domain of their own', async (t) => {
  const nodes = [node('x'), ...sites({ a: ['a1', 'a2'] })]
  const result = schedule([deployment('web', { replicas: 2, spread: { topologyKey: 'site' } })], nodes, [], NOW)
  t.same(where(result, 'web'), ['a1', 'x'])
})

t.test('prefers the least-allocated node, then the lowest node id', async (t) => {
  const nodes = [node('a'), node('b', { capacity: { memoryBytes: 16 * Gi } }), node('c', { capacity: { memoryBytes: 16 * Gi } })]
  const busy = deployment('busy', { resources: { memory: '4Gi' } })
  const web = deployment('web', { resources: { memory: '1Gi' } })
  const result = schedule([busy, web], nodes, [placement('busy', 'b')], NOW)
  t.same(where(result, 'web'), ['c'], 'c has the largest share free; b and a are fuller')
})

// ---------------------------------------------------------------- no churn

t.test('no churn: adding nodes moves nothing, even nodes that would rank first', async (t) => {
  const deployments = [deployment('web', { replicas: 3, spread: { topologyKey: 'site' } }), deployment('agent', { mode: 'every-node' })]
  const first = schedule(deployments, sites({ a: ['a1', 'a2', 'a3'] }), [], NOW)
  t.same(where(first, 'web'), ['a1', 'a2', 'a3'])
  const grown = [...sites({ a: ['a1', 'a2', 'a3'], b: ['b1'], '0': ['a0'] })]
  const second = schedule(deployments, grown, first.placements, NOW)
  t.same(where(second, 'web'), ['a1', 'a2', 'a3'], 'web stays even though site b is empty')
  t.same(where(second, 'agent'), ['a0', 'a1', 'a2', 'a3', 'b1'], 'every-node copies go to the new nodes only')
  t.same(outcome(second, 'web').added, [])
  t.same(second.removed, [])
})

t.test('no churn: a new revision keeps its placements', async (t) => {
  const first = schedule([deployment('web', { replicas: 2 }, 1)], [node('a'), node('b'), node('c')], [], NOW)
  const second = schedule([deployment('web', { replicas: 2 }, 2)], [node('c'), node('b'), node('a')], first.placements, NOW)
  t.same(second.placements, first.placements)
})

// ---------------------------------------------------------------- resources

t.test('resource exhaustion leaves replicas pending with "insufficient memory"', async (t) => {
  const nodes = [node('a', { capacity: { memoryBytes: 1 * Gi } }), node('b', { capacity: { memoryBytes: 1 * Gi } })]
  const api = deployment('api', { replicas: 2, resources: { memory: '512Mi' } })
  const web = deployment('web', { replicas: 2, resources: { memory: '768Mi' } })
  const result = schedule([web, api], nodes, [], NOW)
  t.same(where(result, 'api'), ['a', 'b'])
  t.same(where(result, 'web'), [])
  const out = outcome(result, 'web')
  t.match(out, { desired: 2, placed: 0, pending: 2, matching: 0 })
  t.same(out.filtered, { 'have insufficient memory': 2 })
  t.equal(out.explanation, '0/2 replicas placed, 2 pending; 0/2 nodes match: 2 have insufficient memory')
})

t.test("honours the profile's reservation", async (t) => {
  const request = { replicas: 1, resources: { memory: '768Mi', cpu: '500m' } }
  const reserved = node('small', { capacity: { memoryBytes: 2 * Gi }, reserved: { memoryBytes: 1536 * Mi } })
  t.same(where(schedule([deployment('web', request)], [reserved], [], NOW), 'web'), [])
  const roomy = node('small', { capacity: { memoryBytes: 2 * Gi }, reserved: { memoryBytes: 1024 * Mi } })
  t.same(where(schedule([deployment('web', request)], [roomy], [], NOW), 'web'), ['small'])
  const cpuReserved = node('small', { capacity: { cpuMillis: 1000 }, reserved: { cpuMillis: 600 } })
  const out = outcome(schedule([deployment('web', request)], [cpuReserved], [], NOW), 'web')
  t.same(out.filtered, { 'have insufficient cpu': 1 })
})

t.test('counts every placement on a node, including those made earlier in the same pass', async (t) => {
  const nodes = [node('a', { capacity: { cpuMillis: 1000 } })]
  const deployments = ['one', 'two', 'three'].map((name) => deployment(name, { resources: { cpu: '400m' } }))
  const result = schedule(deployments, nodes, [], NOW)
  t.same(
    result.placements.map((p) => p.deployment),
    ['one', 'three'],
    'deployments are placed in name order: one, three, then two finds 200m left',
  )
  t.equal(outcome(result, 'two').explanation, '0/1 replicas placed, 1 pending; 0/1 nodes match: 1 has insufficient cpu')
})

t.test('GPUs are counted per node', async (t) => {
  const nodes = [node('c'), node('g1', { capacity: { gpus: 1 } }), node('g2', { capacity: { gpus: 2 } })]
  const train = deployment('train', { replicas: 3, resources: { gpu: 1 } })
  const infer = deployment('infer', { replicas: 2, resources: { gpu: 1 } })
  const result = schedule([train, infer], nodes, [], NOW)
  t.same(where(result, 'infer'), ['g2', 'g1'].sort())
  t.same(where(result, 'train'), ['g2'], 'infer took g1 and one of g2; only g2 has a GPU left')
  const out = outcome(result, 'train')
  t.equal(out.explanation, '1/3 replicas placed, 2 pending (at most one per node); 1/3 nodes match: 2 have insufficient gpu')
})

t.test('a deployment that requests nothing fits even a node with nothing free', async (t) => {
  const full = node('a', { capacity: { cpuMillis: 500, memoryBytes: 256 * Mi }, reserved: { cpuMillis: 800, memoryBytes: 512 * Mi } })
  t.same(where(schedule([deployment('tiny')], [full], [], NOW), 'tiny'), ['a'])
  t.same(where(schedule([deployment('some', { resources: { memory: '1Mi' } })], [full], [], NOW), 'some'), [])
})

t.test('every-node copies claim room before replicated deployments', async (t) => {
  const nodes = [node('a', { capacity: { memoryBytes: 1 * Gi } })]
  const daemon = deployment('zz-daemon', { mode: 'every-node', resources: { memory: '768Mi' } })
  const api = deployment('api', { resources: { memory: '512Mi' } })
  const result = schedule([api, daemon], nodes, [], NOW)
  t.same(
    result.placements.map((p) => p.deployment),
    ['zz-daemon'],
  )
})

t.test('a kept copy that no longer fits its node is removed and its replica placed elsewhere', async (t) => {
  const deployments = [deployment('big', { resources: { memory: '3Gi' } }), deployment('log', { mode: 'every-node', resources: { memory: '2Gi' } })]
  const current = [placement('big', 'a'), placement('log', 'a'), placement('log', 'b')]
  const shrunk = [node('a', { capacity: { memoryBytes: 4 * Gi } }), node('b')]
  const result = schedule(deployments, shrunk, current, NOW)
  t.same(where(result, 'log'), ['a', 'b'], 'every-node copies are counted first')
  t.same(where(result, 'big'), ['b'])
  t.same(outcome(result, 'big').removed, [{ placement: placement('big', 'a'), reason: 'node has insufficient memory' }])
})

// ---------------------------------------------------------------- requirements

t.test('requires.arch places only on the listed architectures', async (t) => {
  const nodes = [node('x86'), node('pi', { arch: 'arm64' }), node('old', { arch: 'arm' })]
  const result = schedule([deployment('web', { replicas: 3, requires: { arch: ['arm64', 'riscv64'] } })], nodes, [], NOW)
  t.same(where(result, 'web'), ['pi'])
  t.same(outcome(result, 'web').filtered, { 'are not arch arm64 or riscv64': 2 })
})

t.test('requires.capabilities needs every capability listed and names the missing ones', async (t) => {
  const nodes = [node('plain'), node('half', { capabilities: ['gpu'] }), node('full', { capabilities: ['cuda', 'gpu', 'nvidia'] })]
  const result = schedule([deployment('train', { replicas: 3, requires: { capabilities: ['gpu', 'cuda'] } })], nodes, [], NOW)
  t.same(where(result, 'train'), ['full'])
  t.same(outcome(result, 'train').filtered, { 'lack capabilities gpu, cuda': 1, 'lack capability cuda': 1 })
})

t.test('requires.profiles places only on nodes running one of the profiles', async (t) => {
  const nodes = [node('pi', { profile: 'raspberry-pi-4' }), node('jetson', { profile: 'jetson-orin-nano' }), node('dc', { profile: 'x86-datacenter-gpu' })]
  const result = schedule([deployment('vision', { replicas: 3, requires: { profiles: ['jetson-orin-nano', 'x86-datacenter-gpu'] } })], nodes, [], NOW)
  t.same(where(result, 'vision'), ['dc', 'jetson'])
  t.equal(
    outcome(result, 'vision').explanation,
    '2/3 replicas placed, 1 pending (at most one per node); 2/3 nodes match: 1 is not profile jetson-orin-nano or x86-datacenter-gpu',
  )
})

// ---------------------------------------------------------------- selectors

t.test('selector operators', async (t) => {
  const nodes = [
    node('edge', { labels: { tier: 'edge', site: 'f7' } }),
    node('gateway', { labels: { tier: 'gateway', site: 'f7', gpu: '' } }),
    node('core', { labels: { tier: 'core' } }),
    node('bare'),
  ]
  const cases: { name: string; selector: SpecOptions['selector']; expect: string[]; reason: string }[] = [
    { name: 'matchLabels', selector: { matchLabels: { site: 'f7' } }, expect: ['edge', 'gateway'], reason: 'do not match selector site=f7' },
    {
      name: 'In',
      selector: { matchExpressions: [{ key: 'tier', operator: 'In', values: ['edge', 'core'] }] },
      expect: ['core', 'edge'],
      reason: 'do not match selector tier in (edge,core)',
    },
    {
      name: 'NotIn (a node without the key passes)',
      selector: { matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['core'] }] },
      expect: ['bare', 'edge', 'gateway'],
      reason: 'do not match selector tier notin (core)',
    },
    {
      name: 'Exists (an empty value counts)',
      selector: { matchExpressions: [{ key: 'gpu', operator: 'Exists' }] },
      expect: ['gateway'],
      reason: 'do not match selector gpu',
    },
    {
      name: 'DoesNotExist',
      selector: { matchExpressions: [{ key: 'site', operator: 'DoesNotExist' }] },
      expect: ['bare', 'core'],
      reason: 'do not match selector !site',
    },
    { name: 'an empty selector matches every node', selector: {}, expect: ['bare', 'core', 'edge', 'gateway'], reason: '' },
  ]
  for (const c of cases) {
    t.test(c.name, async (t) => {
      const result = schedule([deployment('d', { mode: 'every-node', selector: c.selector })], nodes, [], NOW)
      t.same(where(result, 'd'), c.expect)
      const filtered = outcome(result, 'd').filtered
      t.same(filtered, c.reason === '' ? {} : { [c.reason]: 4 - c.expect.length })
    })
  }
})

t.test('a node failing several selector terms is filtered once, naming every failing term', async (t) => {
  const selector = { matchLabels: { site: 'f7' }, matchExpressions: [{ key: 'tier', operator: 'In' as const, values: ['edge', 'gateway'] }] }
  const nodes = [
    node('a', { labels: { site: 'f7', tier: 'edge' } }),
    node('b', { labels: { site: 'f8', tier: 'core' } }),
    node('c', { labels: { site: 'f7', tier: 'core' } }),
  ]
  const out = outcome(schedule([deployment('web', { replicas: 1, selector })], nodes, [], NOW), 'web')
  t.same(out.filtered, { 'do not match selector site=f7, tier in (edge,gateway)': 1, 'do not match selector tier in (edge,gateway)': 1 })
  t.equal(
    out.explanation,
    '1/1 replicas placed; 1/3 nodes match: 1 does not match selector site=f7, tier in (edge,gateway), 1 does not match selector tier in (edge,gateway)',
  )
})

t.test('a node whose labels stop matching loses its copies, and replicas move', async (t) => {
  const web = deployment('web', { replicas: 1, selector: { matchLabels: { site: 'f7' } } })
  const result = schedule([web], [node('a', { labels: { site: 'f8' } }), node('b', { labels: { site: 'f7' } })], [placement('web', 'a')], NOW)
  t.same(where(result, 'web'), ['b'])
  t.same(result.removed, [{ placement: placement('web', 'a'), reason: 'node does not match selector site=f7' }])
})

// ---------------------------------------------------------------- cordon

t.test('a cordoned node takes no new copies', async (t) => {
  const nodes = [node('a', { cordoned: true }), node('b')]
  const result = schedule([deployment('web', { replicas: 2 }), deployment('agent', { mode: 'every-node' })], nodes, [], NOW)
  t.same(where(result, 'web'), ['b'])
  t.same(where(result, 'agent'), ['b'])
  t.equal(outcome(result, 'web').explanation, '1/2 replicas placed, 1 pending (at most one per node); 1/2 nodes match: 1 is cordoned')
})

t.test('copies already on a node stay when it is cordoned', async (t) => {
  const deployments = [deployment('web', { replicas: 1 }), deployment('agent', { mode: 'every-node' })]
  const current = [placement('web', 'a'), placement('agent', 'a'), placement('agent', 'b')]
  const result = schedule(deployments, [node('a', { cordoned: true }), node('b')], current, NOW)
  t.same(
    result.placements,
    [...current].sort((x, y) => x.deployment.localeCompare(y.deployment) || x.nodeId.localeCompare(y.nodeId)),
  )
  t.same(result.removed, [])
})

// ---------------------------------------------------------------- data affinity

t.test('required data affinity places only where the data set is (data=X or data/X)', async (t) => {
  const nodes = [
    node('label', { labels: { data: 'ticks' } }),
    node('key', { labels: { 'data/ticks': 'v3' } }),
    node('other', { labels: { data: 'logs' } }),
    node('none'),
  ]
  const result = schedule([deployment('ingest', { replicas: 4, affinity: { data: { required: ['ticks'] } } })], nodes, [], NOW)
  t.same(where(result, 'ingest'), ['key', 'label'])
  t.same(outcome(result, 'ingest').filtered, { 'lack data set ticks': 2 })
})

t.test('preferred data affinity ranks nodes holding the data first, without excluding others', async (t) => {
  const nodes = [node('a'), node('b', { labels: { 'data/ticks': '' } }), node('c', { labels: { data: 'ticks' } }), node('d')]
  const ingest = deployment('ingest', { replicas: 3, affinity: { data: { preferred: ['ticks'] } } })
  const result = schedule([ingest], nodes, [], NOW)
  t.same(where(result, 'ingest'), ['a', 'b', 'c'])
  t.same(
    outcome(result, 'ingest').added.map((p) => [p.nodeId, p.replica]),
    [
      ['a', 2],
      ['b', 0],
      ['c', 1],
    ],
    'b and c were chosen before a',
  )
})

t.test('spread outranks preferred data affinity', async (t) => {
  const nodes = [
    node('a1', { labels: { site: 'a', data: 'ticks' } }),
    node('a2', { labels: { site: 'a', data: 'ticks' } }),
    node('b1', { labels: { site: 'b' } }),
  ]
  const ingest = deployment('ingest', { replicas: 2, spread: { topologyKey: 'site' }, affinity: { data: { preferred: ['ticks'] } } })
  t.same(where(schedule([ingest], nodes, [], NOW), 'ingest'), ['a1', 'b1'])
})

// ---------------------------------------------------------------- offline nodes

t.test('a copy on a node offline within grace stays put', async (t) => {
  const web = deployment('web', { replicas: 2, offlineGrace: '5m' })
  const nodes = [offline('a', 4), node('b'), node('c')]
  const result = schedule([web], nodes, [placement('web', 'a', 0), placement('web', 'b', 1)], NOW)
  t.same(where(result, 'web'), ['a', 'b'])
  const out = outcome(result, 'web')
  t.same(out.moved, [])
  t.equal(out.waiting, 1)
  t.equal(out.explanation, '2/2 replicas placed (1 on an offline node); 2/3 nodes match: 1 is offline')
})

t.test('a replica on a node offline past grace moves to a feasible node, keeping its ordinal', async (t) => {
  const web = deployment('web', { replicas: 2, offlineGrace: '5m' })
  const nodes = [offline('a', 5), node('b'), node('c')]
  const result = schedule([web], nodes, [placement('web', 'a', 0), placement('web', 'b', 1)], NOW)
  t.same(result.placements, [placement('web', 'b', 1), placement('web', 'c', 0)])
  const out = outcome(result, 'web')
  t.same(out.moved, [{ replica: 0, from: 'a', to: 'c' }])
  t.same(out.removed, [{ placement: placement('web', 'a', 0), reason: 'moved to c: node offline past the 5m grace' }])
  t.equal(out.waiting, 0)
})

t.test("the grace period is the deployment's own", async (t) => {
  const nodes = [offline('a', 10), node('b')]
  const patient = schedule([deployment('web', { offlineGrace: '1h' })], nodes, [placement('web', 'a')], NOW)
  t.same(where(patient, 'web'), ['a'])
  const hasty = schedule([deployment('web', { offlineGrace: '30s' })], nodes, [placement('web', 'a')], NOW)
  t.same(where(hasty, 'web'), ['b'])
})

t.test('a replica past grace with nowhere to go stays on its node, waiting', async (t) => {
  const web = deployment('web', { replicas: 2, requires: { capabilities: ['gpu'] } })
  const nodes = [offline('a', 30, { capabilities: ['gpu'] }), node('b', { capabilities: ['gpu'] }), node('c')]
  const result = schedule([web], nodes, [placement('web', 'a', 0), placement('web', 'b', 1)], NOW)
  t.same(where(result, 'web'), ['a', 'b'])
  const out = outcome(result, 'web')
  t.match(out, { placed: 2, pending: 0, waiting: 1, moved: [] })
  t.equal(out.explanation, '2/2 replicas placed (1 on an offline node); 1/3 nodes match: 1 is offline, 1 lacks capability gpu')
  const why = explainNode(web, nodes[0] as SchedulerNode, { deployments: [web], nodes, placements: result.placements, now: NOW })
  t.equal(why.summary, 'runs web (replica 0); kept although it is offline past the 5m grace: no other node can take the replica')
})

t.test('a node offline with no known start counts as past grace', async (t) => {
  const nodes = [node('a', { online: false, offlineSince: null }), node('b')]
  t.same(where(schedule([deployment('web')], nodes, [placement('web', 'a')], NOW), 'web'), ['b'])
})

t.test('every-node copies wait for their node however long it is offline', async (t) => {
  const agent = deployment('agent', { mode: 'every-node', offlineGrace: '1m' })
  const nodes = [offline('a', 24 * 60), node('b')]
  const result = schedule([agent], nodes, [placement('agent', 'a'), placement('agent', 'b')], NOW)
  t.same(where(result, 'agent'), ['a', 'b'])
  t.same(outcome(result, 'agent').moved, [])
  t.equal(outcome(result, 'agent').explanation, '2 copies placed (1 on an offline node); 1/2 nodes match: 1 is offline')
})

t.test('when the node returns nothing is duplicated and the moved replica stays where it went', async (t) => {
  const web = deployment('web', { replicas: 2 })
  const current = [placement('web', 'a', 0), placement('web', 'b', 1)]
  const away = schedule([web], [offline('a', 6), node('b'), node('c')], current, NOW)
  t.same(where(away, 'web'), ['b', 'c'])
  const back = schedule([web], [node('a'), node('b'), node('c')], away.placements, NOW + MINUTE)
  t.same(back.placements, away.placements)
  t.equal(back.placements.length, 2)
  t.same(outcome(back, 'web').added, [])
})

t.test('surplus copies present when a node returns are removed down to the replica count', async (t) => {
  const web = deployment('web', { replicas: 2 })
  // As an older store might hold it: the returned node's copy and its replacement.
  const current = [placement('web', 'a', 0), placement('web', 'b', 1), placement('web', 'c', 0)]
  const result = schedule([web], [node('a'), node('b'), node('c')], current, NOW)
  t.equal(result.placements.length, 2)
  t.equal(new Set(result.placements.map((p) => p.replica)).size, 2, 'ordinals stay distinct')
  t.same(result.placements, [placement('web', 'a', 0), placement('web', 'b', 1)], 'the clashing copy got ordinal 2 and, as the highest, went')
  t.same(
    outcome(result, 'web').removed.map((r) => r.reason),
    ['surplus: 2 replicas wanted'],
  )
})

t.test('copies on offline nodes are the first to go in a scale-down', async (t) => {
  const web = deployment('web', { replicas: 2 })
  const current = [placement('web', 'a', 0), placement('web', 'b', 1), placement('web', 'c', 2)]
  const result = schedule([web], [node('a'), offline('b', 1), node('c')], current, NOW)
  t.same(where(result, 'web'), ['a', 'c'])
})

// ---------------------------------------------------------------- scale and deletion

t.test('scale-up keeps the existing replicas and fills the lowest free ordinals', async (t) => {
  const current = [placement('web', 'b', 1)]
  const result = schedule([deployment('web', { replicas: 3 })], [node('a'), node('b'), node('c')], current, NOW)
  t.same(result.placements, [placement('web', 'a', 0), placement('web', 'b', 1), placement('web', 'c', 2)])
  t.same(outcome(result, 'web').removed, [])
})

t.test('scale-down removes from the most crowded topology domain first', async (t) => {
  const nodes = sites({ a: ['a1', 'a2', 'a3'], b: ['b1'] })
  const web = deployment('web', { replicas: 2, spread: { topologyKey: 'site' } })
  const current = [placement('web', 'a1', 0), placement('web', 'a2', 1), placement('web', 'a3', 2), placement('web', 'b1', 3)]
  const result = schedule([web], nodes, current, NOW)
  t.same(result.placements, [placement('web', 'a1', 0), placement('web', 'b1', 3)])
  t.same(
    outcome(result, 'web').removed.map((r) => r.placement.nodeId),
    ['a2', 'a3'],
  )
})

t.test('scaling to zero removes every replica', async (t) => {
  const result = schedule([deployment('web', { replicas: 0 })], [node('a')], [placement('web', 'a')], NOW)
  t.same(result.placements, [])
  t.equal(outcome(result, 'web').explanation, '0/0 replicas placed; 1/1 nodes match')
})

t.test('a deleted deployment loses its placements', async (t) => {
  const current = [placement('gone', 'a'), placement('gone', 'b', 1), placement('web', 'a')]
  const result = schedule([deployment('web')], [node('a'), node('b')], current, NOW)
  t.same(result.placements, [placement('web', 'a')])
  t.same(result.removed, [
    { placement: placement('gone', 'a'), reason: 'deployment deleted' },
    { placement: placement('gone', 'b', 1), reason: 'deployment deleted' },
  ])
  t.notOk(result.perDeployment.has('gone'))
})

t.test('a removed node loses its placements and its replicas go elsewhere', async (t) => {
  const result = schedule([deployment('web')], [node('b')], [placement('web', 'a')], NOW)
  t.same(result.placements, [placement('web', 'b')])
  t.same(result.removed, [{ placement: placement('web', 'a'), reason: 'node removed' }])
})

// ---------------------------------------------------------------- every-node

t.test('every-node places one copy on each matching, feasible node and says why others have none', async (t) => {
  const nodes = [
    node('a', { labels: { site: 'f7' } }),
    node('b', { labels: { site: 'f7' }, cordoned: true }),
    offline('c', 1, { labels: { site: 'f7' } }),
    node('d', { labels: { site: 'f7' }, capacity: { memoryBytes: 64 * Mi } }),
    node('e', { labels: { site: 'f8' } }),
    node('f', { labels: { site: 'f7' } }),
  ]
  const agent = deployment('agent', { mode: 'every-node', selector: { matchLabels: { site: 'f7' } }, resources: { memory: '128Mi' } })
  const result = schedule([agent], nodes, [], NOW)
  t.same(where(result, 'agent'), ['a', 'f'])
  const out = outcome(result, 'agent')
  t.match(out, { desired: 3, placed: 2, pending: 1, matching: 2 })
  t.equal(
    out.explanation,
    '2 copies placed, 1 pending; 2/6 nodes match: 1 is cordoned, 1 is offline, 1 does not match selector site=f7, 1 has insufficient memory',
  )
})

t.test('a second copy of a deployment on one node is dropped', async (t) => {
  const current = [placement('web', 'a', 0), { deployment: 'web', nodeId: 'a', workload: 'web-1', replica: 1 }]
  const result = schedule([deployment('web', { replicas: 2 })], [node('a'), node('b')], current, NOW)
  t.same(result.placements, [placement('web', 'a', 0), placement('web', 'b', 1)])
  t.same(
    outcome(result, 'web').removed.map((r) => r.reason),
    ['a second copy on the same node'],
  )
})

// ---------------------------------------------------------------- explanations

t.test('the explanation for a replica nothing can take names every reason', async (t) => {
  const nodes = [node('a'), node('b'), node('c'), offline('d', 1, { capabilities: ['gpu'] }), offline('e', 2, { capabilities: ['gpu'] })]
  const out = outcome(schedule([deployment('train', { requires: { capabilities: ['gpu'] } })], nodes, [], NOW), 'train')
  t.equal(out.explanation, '0/1 replicas placed, 1 pending; 0/5 nodes match: 3 lack capability gpu, 2 are offline')
  t.same(out.filtered, { 'lack capability gpu': 3, 'are offline': 2 })
})

t.test('explainNode gives every check for one node, not only the first failure', async (t) => {
  const web = deployment('web', { replicas: 1, requires: { arch: ['arm64'] }, resources: { memory: '1Gi' } })
  const nodes = [node('a', { cordoned: true, capacity: { memoryBytes: 512 * Mi } }), node('b', { arch: 'arm64' }), node('c', { arch: 'arm64' })]
  const result = schedule([web], nodes, [], NOW)
  const context = { deployments: [web], nodes, placements: result.placements, now: NOW }
  const a = explainNode(web, nodes[0] as SchedulerNode, context)
  t.equal(a.fits, false)
  t.same(
    a.checks.filter((c) => !c.passed).map((c) => [c.check, c.reason]),
    [
      ['arch', 'is not arch arm64'],
      ['cordoned', 'is cordoned'],
      ['resources', 'has insufficient memory'],
    ],
  )
  t.equal(a.summary, 'not placed: it is not arch arm64, is cordoned, has insufficient memory')
  t.equal(explainNode(web, nodes[1] as SchedulerNode, context).summary, 'runs web (replica 0)')
  const c = explainNode(web, nodes[2] as SchedulerNode, context)
  t.equal(c.fits, true)
  t.equal(c.summary, 'fits, but the one replica runs on another node')
})

t.test('explainNode counts other deployments on the node but not its own copy', async (t) => {
  const web = deployment('web', { resources: { memory: '3Gi' } })
  const db = deployment('db', { resources: { memory: '4Gi' } })
  const nodes = [node('a')]
  const placements = [placement('db', 'a'), placement('web', 'a')]
  const why = explainNode(web, nodes[0] as SchedulerNode, { deployments: [web, db], nodes, placements, now: NOW })
  t.equal(why.fits, true, "3Gi + 4Gi fit in 8Gi; web's own copy is not counted twice")
  t.same(why.placement, placement('web', 'a'))
})

t.test('two nodes or deployments with one name are refused', async (t) => {
  t.throws(() => schedule([], [node('a'), node('a')], [], NOW), SchedulerInputError)
  t.throws(() => schedule([deployment('web'), deployment('web')], [], [], NOW), { code: 'duplicate-deployment', id: 'web' })
})

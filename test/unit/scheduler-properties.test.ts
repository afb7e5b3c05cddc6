// Properties of the scheduler over random fleets from a seeded PRNG: the same input in any
// order gives the same output, the output is a fixed point, and the rules hold on every result.
import t from 'tap'
import { DeploymentSpec } from '../../protocol/manifest.js'
import { DEFAULT_NODE_POLICY } from '../../protocol/node-policy.js'
import { cpuMillis, memoryBytes } from '../../protocol/quantity.js'
import { explainNode, schedule, type Placement, type ScheduleResult, type SchedulerDeployment, type SchedulerNode } from '../../hub/scheduler/index.js'
import { prng } from '../support/prng.js'
import { oneContainer } from '../support/container-workload.js'

const Mi = 1024 ** 2
const MINUTE = 60_000
const NOW = 1_700_000_000_000

type Rand = () => number
const int = (rand: Rand, min: number, max: number): number => min + Math.floor(rand() * (max - min + 1))
const pick = <T>(rand: Rand, items: readonly T[]): T => items[Math.floor(rand() * items.length)] as T
const chance = (rand: Rand, p: number): boolean => rand() < p

function shuffle<T>(rand: Rand, items: readonly T[]): T[] {
  const copy = [...items]
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1))
    ;[copy[i], copy[j]] = [copy[j] as T, copy[i] as T]
  }
  return copy
}

function randomNode(rand: Rand, id: string): SchedulerNode {
  const labels: Record<string, string> = {}
  const site = pick(rand, ['a', 'b', 'c', undefined])
  if (site !== undefined) labels['site'] = site
  labels['tier'] = pick(rand, ['edge', 'gateway', 'core'])
  if (chance(rand, 0.3)) labels['data'] = pick(rand, ['ticks', 'logs'])
  if (chance(rand, 0.2)) labels['data/video'] = 'v1'
  const online = chance(rand, 0.8)
  return {
    id,
    labels,
    capabilities: shuffle(rand, ['gpu', 'cuda', 'tpm']).slice(0, int(rand, 0, 3)),
    arch: pick(rand, ['amd64', 'arm64']),
    profile: pick(rand, ['generic-amd64', 'raspberry-pi-4', 'jetson-orin-nano']),
    capacity: { cpuMillis: int(rand, 1, 16) * 500, memoryBytes: int(rand, 1, 32) * 256 * Mi, gpus: int(rand, 0, 2) },
    reserved: { cpuMillis: int(rand, 0, 2) * 250, memoryBytes: int(rand, 0, 4) * 128 * Mi },
    cordoned: chance(rand, 0.1),
    online,
    offlineSince: online ? null : chance(rand, 0.1) ? null : NOW - int(rand, 0, 20) * MINUTE,
    devices: shuffle(rand, ['/dev/ttyUSB0', '/dev/video0'])
      .slice(0, int(rand, 0, 2))
      .sort(),
    policy: chance(rand, 0.3) ? { ...DEFAULT_NODE_POLICY, privileged: true } : DEFAULT_NODE_POLICY,
  }
}

const SELECTORS = [
  undefined,
  { matchLabels: { site: 'a' } },
  { matchExpressions: [{ key: 'tier', operator: 'In' as const, values: ['edge', 'gateway'] }] },
  { matchExpressions: [{ key: 'tier', operator: 'NotIn' as const, values: ['core'] }] },
  { matchExpressions: [{ key: 'data', operator: 'Exists' as const }] },
  { matchExpressions: [{ key: 'site', operator: 'DoesNotExist' as const }] },
]

function randomDeployment(rand: Rand, name: string): SchedulerDeployment {
  const everyNode = chance(rand, 0.2)
  const requires: Record<string, string[]> = {}
  if (chance(rand, 0.2)) requires['arch'] = [pick(rand, ['amd64', 'arm64'])]
  if (chance(rand, 0.2)) requires['capabilities'] = [pick(rand, ['gpu', 'cuda'])]
  if (chance(rand, 0.1)) requires['profiles'] = [pick(rand, ['raspberry-pi-4', 'jetson-orin-nano'])]
  if (chance(rand, 0.15)) requires['devices'] = [pick(rand, ['/dev/ttyUSB0', '/dev/video0'])]
  const data: Record<string, string[]> = {}
  if (chance(rand, 0.15)) data['required'] = [pick(rand, ['ticks', 'video'])]
  if (chance(rand, 0.3)) data['preferred'] = [pick(rand, ['ticks', 'logs', 'video'])]
  const resources: Record<string, number | string> = {}
  if (chance(rand, 0.7)) resources['cpu'] = `${int(rand, 0, 8) * 125}m`
  if (chance(rand, 0.7)) resources['memory'] = `${int(rand, 0, 16) * 64}Mi`
  if (chance(rand, 0.15)) resources['gpu'] = 1
  const spec = DeploymentSpec.parse({
    ...(everyNode ? { mode: 'every-node' } : { replicas: int(rand, 0, 6) }),
    selector: pick(rand, SELECTORS),
    requires,
    ...(chance(rand, 0.5) ? { spread: { topologyKey: 'site' } } : {}),
    affinity: { data },
    offlineGrace: pick(rand, ['1m', '5m', '10m']),
    template: { image: `registry.example/${name}:1`, resources, ...(chance(rand, 0.1) ? { securityContext: { privileged: true } } : {}) },
  })
  return { name, revision: 1, spec }
}

function randomFleet(rand: Rand, nodeCount: number, deploymentCount: number) {
  const nodes = Array.from({ length: nodeCount }, (_, i) => randomNode(rand, `n${String(i).padStart(4, '0')}`))
  const deployments = Array.from({ length: deploymentCount }, (_, i) => randomDeployment(rand, `d${i}`))
  return { nodes, deployments }
}

/** Current placements as a messy store might hold them: unknown names, clashing ordinals, odd workload names. */
function randomCurrent(rand: Rand, deployments: readonly SchedulerDeployment[], nodes: readonly SchedulerNode[]): Placement[] {
  const names = [...deployments.map((d) => d.name), 'deleted']
  const ids = [...nodes.map((n) => n.id), 'gone']
  return Array.from({ length: int(rand, 0, nodes.length * 2) }, () => {
    const deployment = pick(rand, names)
    const replica = int(rand, 0, 7)
    return { deployment, nodeId: pick(rand, ids), workload: chance(rand, 0.9) ? deployment : `${deployment}-${replica}`, replica }
  })
}

function serialize(result: ScheduleResult): string {
  return JSON.stringify({ placements: result.placements, perDeployment: [...result.perDeployment], removed: result.removed })
}

const ELIGIBILITY = new Set(['selector', 'arch', 'capabilities', 'profile', 'data-affinity', 'policy'])

/** The rules every result must obey; returns the first broken one, or null. */
function violation(
  result: ScheduleResult,
  deployments: readonly SchedulerDeployment[],
  nodes: readonly SchedulerNode[],
  now: number,
  deep = true,
): string | null {
  const byName = new Map(deployments.map((d) => [d.name, d]))
  const byId = new Map(nodes.map((n) => [n.id, n]))
  const seen = new Set<string>()
  const used = new Map<string, { cpu: number; memory: number; gpu: number }>()
  for (const p of result.placements) {
    const deployment = byName.get(p.deployment)
    const node = byId.get(p.nodeId)
    if (deployment === undefined || node === undefined) return `placement on an unknown deployment or node: ${JSON.stringify(p)}`
    const key = `${p.deployment}@${p.nodeId}`
    if (seen.has(key)) return `two copies of ${key}`
    seen.add(key)
    if (p.workload !== p.deployment) return `workload ${p.workload} is not the deployment name`
    const resources = oneContainer(deployment.spec.template).resources ?? {}
    const u = used.get(p.nodeId) ?? { cpu: 0, memory: 0, gpu: 0 }
    u.cpu += resources.cpu === undefined ? 0 : cpuMillis(resources.cpu)
    u.memory += resources.memory === undefined ? 0 : memoryBytes(resources.memory)
    u.gpu += resources.gpu ?? 0
    used.set(p.nodeId, u)
  }
  for (const [id, u] of used) {
    const n = byId.get(id) as SchedulerNode
    if (u.cpu > 0 && u.cpu > n.capacity.cpuMillis - n.reserved.cpuMillis) return `cpu overcommitted on ${id}`
    if (u.memory > 0 && u.memory > n.capacity.memoryBytes - n.reserved.memoryBytes) return `memory overcommitted on ${id}`
    if (u.gpu > 0 && u.gpu > n.capacity.gpus) return `gpus overcommitted on ${id}`
  }
  for (const deployment of deployments) {
    const mine = result.placements.filter((p) => p.deployment === deployment.name)
    const out = result.perDeployment.get(deployment.name)
    if (out === undefined) return `no outcome for ${deployment.name}`
    if (out.placed !== mine.length) return `${deployment.name}: placed ${out.placed} but ${mine.length} placements`
    if (deployment.spec.mode === 'replicated') {
      const replicas = deployment.spec.replicas ?? 1
      if (mine.length > replicas) return `${deployment.name}: ${mine.length} copies for ${replicas} replicas`
      if (new Set(mine.map((p) => p.replica)).size !== mine.length) return `${deployment.name}: ordinals clash`
      if (out.placed + out.pending !== replicas) return `${deployment.name}: placed + pending != replicas`
    } else if (mine.some((p) => p.replica !== 0)) return `${deployment.name}: every-node ordinal not 0`
    for (const p of out.added) {
      const n = byId.get(p.nodeId) as SchedulerNode
      if (!n.online || n.cordoned) return `${deployment.name}: new copy on offline or cordoned ${n.id}`
      const missing = (deployment.spec.requires?.devices ?? []).filter((device) => !n.devices.includes(device))
      if (missing.length > 0) return `${deployment.name}: new copy on ${n.id}, which lacks ${missing.join(', ')}`
    }
    if (!deep) continue
    const context = { deployments, nodes, placements: result.placements, now }
    const holding = new Set(mine.map((p) => p.nodeId))
    for (const node of nodes) {
      const why = explainNode(deployment, node, context)
      if (holding.has(node.id) && why.checks.some((c) => ELIGIBILITY.has(c.check) && !c.passed))
        return `${deployment.name} kept on ineligible ${node.id}: ${why.summary}`
      const wantsMore = deployment.spec.mode === 'every-node' || out.pending > 0
      if (!holding.has(node.id) && wantsMore && why.fits) return `${deployment.name} left a copy pending although ${node.id} fits`
    }
  }
  return null
}

t.test('the same input in any order gives the same output', async (t) => {
  const rand = prng(20240501)
  for (let round = 0; round < 40; round++) {
    const { nodes, deployments } = randomFleet(rand, int(rand, 1, 25), int(rand, 1, 8))
    const current = randomCurrent(rand, deployments, nodes)
    const expected = serialize(schedule(deployments, nodes, current, NOW))
    for (let permutation = 0; permutation < 5; permutation++) {
      const actual = serialize(schedule(shuffle(rand, deployments), shuffle(rand, nodes), shuffle(rand, current), NOW))
      if (actual !== expected) {
        t.fail(`round ${round}, permutation ${permutation} differs`)
        return
      }
    }
  }
  t.pass('200 shuffled inputs scheduled alike')
})

t.test('scheduling the output again gives the same output (idempotence)', async (t) => {
  const rand = prng(7)
  for (let round = 0; round < 60; round++) {
    const { nodes, deployments } = randomFleet(rand, int(rand, 1, 25), int(rand, 1, 8))
    const first = schedule(deployments, nodes, randomCurrent(rand, deployments, nodes), NOW)
    const second = schedule(deployments, nodes, first.placements, NOW)
    if (JSON.stringify(second.placements) !== JSON.stringify(first.placements) || second.removed.length > 0) {
      t.fail(`round ${round}: the second pass changed the placements`)
      return
    }
    if ([...second.perDeployment.values()].some((out) => out.added.length > 0 || out.moved.length > 0)) {
      t.fail(`round ${round}: the second pass placed or moved something`)
      return
    }
  }
  t.pass('60 random fleets are fixed points after one pass')
})

t.test('every result keeps the rules: fit, eligibility, counts, and nothing left pending that could run', async (t) => {
  const rand = prng(42)
  for (let round = 0; round < 60; round++) {
    const { nodes, deployments } = randomFleet(rand, int(rand, 1, 20), int(rand, 1, 8))
    const result = schedule(deployments, nodes, randomCurrent(rand, deployments, nodes), NOW)
    const broken = violation(result, deployments, nodes, NOW)
    if (broken !== null) {
      t.fail(`round ${round}: ${broken}`)
      return
    }
  }
  t.pass('60 random fleets obey every rule')
})

t.test('a fleet that flaps over time never runs more copies than replicas and converges when it heals', async (t) => {
  const rand = prng(99)
  for (let run = 0; run < 10; run++) {
    let { nodes, deployments } = randomFleet(rand, 12, 6)
    nodes = nodes.map((n) => ({ ...n, online: true, offlineSince: null, cordoned: false }))
    let placements: readonly Placement[] = []
    let now = NOW
    for (let step = 0; step < 30; step++) {
      now += int(rand, 0, 4) * MINUTE
      const at = now
      nodes = nodes.map((n) => {
        if (!chance(rand, 0.15)) return n
        return n.online ? { ...n, online: false, offlineSince: at } : { ...n, online: true, offlineSince: null }
      })
      if (chance(rand, 0.1)) {
        const index = int(rand, 0, deployments.length - 1)
        deployments = deployments.map((d, i) => (i === index && d.spec.mode === 'replicated' ? { ...d, spec: { ...d.spec, replicas: int(rand, 0, 6) } } : d))
      }
      const result = schedule(deployments, nodes, placements, now)
      const broken = violation(result, deployments, nodes, now, step % 5 === 0)
      if (broken !== null) {
        t.fail(`run ${run}, step ${step}: ${broken}`)
        return
      }
      placements = result.placements
    }
    const healed = nodes.map((n) => ({ ...n, online: true, offlineSince: null }))
    const settled = schedule(deployments, healed, placements, now)
    const again = schedule(deployments, healed, settled.placements, now + MINUTE)
    t.same(again.placements, settled.placements, `run ${run}: stable once every node is back`)
    const broken = violation(settled, deployments, healed, now)
    if (broken !== null) t.fail(`run ${run} healed: ${broken}`)
  }
})

t.test('1,000 nodes and 20 deployments schedule, re-schedule without churn, and survive a lost site', async (t) => {
  const rand = prng(1000)
  const { nodes: raw, deployments } = randomFleet(rand, 1000, 20)
  const nodes = raw.map((n) => ({ ...n, online: true, offlineSince: null }))
  const widened = deployments.map((d) => (d.spec.mode === 'replicated' ? { ...d, spec: { ...d.spec, replicas: int(rand, 10, 60) } } : d))
  const first = schedule(widened, nodes, [], NOW)
  t.ok(first.placements.length > 200, `${first.placements.length} placements`)
  t.equal(violation(first, widened, nodes, NOW, false), null)
  const second = schedule(shuffle(rand, widened), shuffle(rand, nodes), shuffle(rand, first.placements), NOW)
  t.equal(serialize(second), serialize(schedule(widened, nodes, first.placements, NOW)))
  t.same(second.placements, first.placements, 'no churn on a second pass')
  const lost = nodes.map((n) => (n.labels['site'] === 'a' ? { ...n, online: false, offlineSince: NOW - 15 * MINUTE } : n))
  const third = schedule(widened, lost, first.placements, NOW)
  t.equal(violation(third, widened, lost, NOW, false), null)
  const moved = [...third.perDeployment.values()].reduce((sum, out) => sum + out.moved.length, 0)
  t.ok(moved > 0, `${moved} replicas moved off site a`)
  const lostIds = new Set(lost.filter((n) => !n.online).map((n) => n.id))
  const context = { deployments: widened, nodes: lost, placements: third.placements, now: NOW }
  for (const d of widened.filter((x) => x.spec.mode === 'replicated')) {
    const mine = third.placements.filter((p) => p.deployment === d.name)
    if (!mine.some((p) => lostIds.has(p.nodeId))) continue
    const holding = new Set(mine.map((p) => p.nodeId))
    const free = lost.filter((n) => !holding.has(n.id) && explainNode(d, n, context).fits)
    t.same(
      free.map((n) => n.id),
      [],
      `${d.name} keeps copies on lost nodes only because no other node fits`,
    )
  }
})

// The scheduler's two checks for issue 19, devices and node policy: each check alone, then what a
// pass does with them (where new copies go, which placed copies stay or move), and how "why
// pending" and explainNode read.
import t from 'tap'
import type { z } from 'zod'
import { toSchedulerNode } from '../../hub/fleet/fleet-controller.js'
import { CHECKS } from '../../hub/scheduler/checks/chain.js'
import { devicesCheck, policyCheck } from '../../hub/scheduler/checks/node-policy.js'
import { demandOf } from '../../hub/scheduler/demand.js'
import { counted, singular } from '../../hub/scheduler/explain.js'
import { explainNode, schedule, type Placement, type ScheduleResult, type SchedulerDeployment, type SchedulerNode } from '../../hub/scheduler/index.js'
import { NOTHING } from '../../hub/scheduler/usage.js'
import type { ContainerTemplateInput } from '../../protocol/container-template.js'
import { DeploymentSpec } from '../../protocol/manifest.js'
import { DEFAULT_NODE_POLICY, type NodePolicy } from '../../protocol/node-policy.js'
import { nodeRecord } from '../support/hub-nodes.js'
import { schedulerNode } from '../support/scheduler-nodes.js'

const NOW = 1_700_000_000_000
const USB = '/dev/ttyUSB0'
const PERMISSIVE: NodePolicy = {
  privileged: true,
  capabilities: ['ALL'],
  hostPaths: [{ path: '/', readOnly: false }],
  devices: ['/dev/*'],
}

const node = schedulerNode

type Options = Omit<z.input<typeof DeploymentSpec>, 'template'> & { template?: Omit<ContainerTemplateInput, 'image'> }

function deployment(name: string, options: Options = {}): SchedulerDeployment {
  const { template, ...spec } = options
  return { name, revision: 1, spec: DeploymentSpec.parse({ ...spec, template: { image: `registry.example/${name}:1`, ...template } }) }
}

const placement = (name: string, nodeId: string, replica = 0): Placement => ({ deployment: name, nodeId, workload: name, replica })
const where = (result: ScheduleResult, name: string): string[] => result.placements.filter((p) => p.deployment === name).map((p) => p.nodeId)
function outcome(result: ScheduleResult, name: string) {
  const found = result.perDeployment.get(name)
  if (found === undefined) throw new Error(`no outcome for ${name}`)
  return found
}
const check = (checker: typeof devicesCheck, n: SchedulerNode, d: SchedulerDeployment) => checker.check(n, demandOf(d), NOTHING)

// ---------------------------------------------------------------- the devices check

t.test('devices: a deployment that needs no device passes every node', async (t) => {
  t.equal(check(devicesCheck, node('a'), deployment('web')), null)
})

t.test('devices: requires.devices and the template devices are both needed, and the missing ones named', async (t) => {
  const gateway = deployment('gateway', { requires: { devices: [USB] }, template: { devices: [{ path: '/dev/video0' }] } })
  t.equal(check(devicesCheck, node('both', { devices: ['/dev/video0', USB] }), gateway), null)
  t.same(check(devicesCheck, node('usb', { devices: [USB] }), gateway), { check: 'devices', reason: 'lack device /dev/video0' })
  t.same(check(devicesCheck, node('none'), gateway), { check: 'devices', reason: 'lack devices /dev/ttyUSB0, /dev/video0' })
})

t.test('devices: a device asked for twice is named once', async (t) => {
  const gateway = deployment('gateway', { requires: { devices: [USB] }, template: { devices: [{ path: USB, containerPath: '/dev/modbus' }] } })
  t.same(check(devicesCheck, node('a', { devices: ['/dev/ttyUSB1'] }), gateway), { check: 'devices', reason: 'lack device /dev/ttyUSB0' })
})

t.test('devices: a device only matches by its exact path, not by a pattern', async (t) => {
  t.not(check(devicesCheck, node('a', { devices: ['/dev/ttyUSB01'] }), deployment('g', { requires: { devices: [USB] } })), null)
})

// ---------------------------------------------------------------- the policy check

t.test('policy: a plain template passes the default policy', async (t) => {
  t.equal(check(policyCheck, node('a'), deployment('web')), null)
  t.equal(
    check(policyCheck, node('a'), deployment('tz', { template: { volumes: [{ hostPath: '/etc/localtime', path: '/etc/localtime', readOnly: true }] } })),
    null,
  )
})

t.test('policy: what the node does not allow is refused, each reason named', async (t) => {
  const cases: [string, Omit<ContainerTemplateInput, 'image'>, string][] = [
    ['privileged', { securityContext: { privileged: true } }, 'refuse it by node policy (privileged not allowed)'],
    ['a capability', { securityContext: { capabilities: { add: ['CAP_NET_ADMIN'] } } }, 'refuse it by node policy (capability NET_ADMIN not allowed)'],
    ['a host path', { volumes: [{ hostPath: '/var/lib/data', path: '/data' }] }, 'refuse it by node policy (host path /var/lib/data not allowed)'],
    [
      'a read-only host path mounted writable',
      { volumes: [{ hostPath: '/etc/localtime', path: '/etc/localtime' }] },
      'refuse it by node policy (host path /etc/localtime allowed read-only only (set readOnly: true))',
    ],
    ['a device no pattern allows', { devices: [{ path: '/dev/mem' }] }, 'refuse it by node policy (device /dev/mem not allowed)'],
    [
      'several things',
      { securityContext: { privileged: true, capabilities: { add: ['SYS_TIME'] } } },
      'refuse it by node policy (privileged not allowed, capability SYS_TIME not allowed)',
    ],
  ]
  for (const [what, template, reason] of cases) {
    t.same(check(policyCheck, node('a'), deployment('x', { template })), { check: 'policy', reason }, what)
    t.equal(check(policyCheck, node('b', { policy: PERMISSIVE }), deployment('x', { template })), null, `${what}: allowed by a permissive policy`)
  }
})

t.test('kinds: node policy is eligibility (copies move off), devices admission (copies stay)', async (t) => {
  t.equal(policyCheck.kind, 'eligibility')
  t.equal(devicesCheck.kind, 'admission')
  const names = CHECKS.map((c) => c.name)
  t.ok(
    names.indexOf('policy') < names.indexOf('devices') && names.indexOf('devices') < names.indexOf('cordoned'),
    'what the node is, then what it has, then its state',
  )
})

// ---------------------------------------------------------------- new copies

t.test('requires.devices places a copy only where the device is, and says why pending', async (t) => {
  const gateway = deployment('gateway', { requires: { devices: [USB] } })
  const nodes = [node('a'), node('b', { devices: [USB] }), node('c', { devices: ['/dev/ttyUSB1'] })]
  const placed = schedule([gateway], nodes, [], NOW)
  t.same(where(placed, 'gateway'), ['b'])
  t.equal(outcome(placed, 'gateway').explanation, '1/1 replicas placed; 1/3 nodes match: 2 lack device /dev/ttyUSB0')
  t.same(outcome(placed, 'gateway').filtered, { 'lack device /dev/ttyUSB0': 2 })

  const none = schedule([gateway], [node('a'), node('b'), node('c')], [], NOW)
  t.same(where(none, 'gateway'), [])
  t.equal(outcome(none, 'gateway').explanation, '0/1 replicas placed, 1 pending; 0/3 nodes match: 3 lack device /dev/ttyUSB0')
})

t.test('a pending copy is placed by the first pass after its device appears', async (t) => {
  const gateway = deployment('gateway', { requires: { devices: [USB] } })
  const before = schedule([gateway], [node('a'), node('b')], [], NOW)
  t.equal(outcome(before, 'gateway').pending, 1)
  const after = schedule([gateway], [node('a'), node('b', { devices: [USB] })], before.placements, NOW)
  t.same(where(after, 'gateway'), ['b'])
  t.same(outcome(after, 'gateway').added, [placement('gateway', 'b')])
})

t.test('every-node copies go to the nodes with the device; the others are not pending', async (t) => {
  const reader = deployment('reader', { mode: 'every-node', template: { devices: [{ path: USB }] } })
  const result = schedule([reader], [node('a', { devices: [USB] }), node('b'), node('c')], [], NOW)
  t.same(where(result, 'reader'), ['a'])
  t.match(outcome(result, 'reader'), { placed: 1, pending: 0, explanation: '1 copy placed; 1/3 nodes match: 2 lack device /dev/ttyUSB0' })
})

t.test('a node whose policy refuses the template gets no copy, and the explanation says so', async (t) => {
  const vpn = deployment('vpn', { replicas: 2, template: { securityContext: { privileged: true } } })
  const result = schedule([vpn], [node('a'), node('b', { policy: PERMISSIVE }), node('c')], [], NOW)
  t.same(where(result, 'vpn'), ['b'])
  t.equal(
    outcome(result, 'vpn').explanation,
    '1/2 replicas placed, 1 pending (at most one per node); 1/3 nodes match: 2 refuse it by node policy (privileged not allowed)',
  )
})

t.test('a node refusing by policy is counted there, not again for a missing device', async (t) => {
  const cam = deployment('cam', { requires: { devices: ['/dev/video0'] }, template: { securityContext: { privileged: true } } })
  const out = outcome(schedule([cam], [node('a'), node('b', { policy: PERMISSIVE })], [], NOW), 'cam')
  t.same(out.filtered, { 'lack device /dev/video0': 1, 'refuse it by node policy (privileged not allowed)': 1 })
})

// ---------------------------------------------------------------- placed copies

t.test('a device vanishing under a placed copy leaves the copy where it is', async (t) => {
  const gateway = deployment('gateway', { requires: { devices: [USB] } })
  const nodes = [node('a'), node('b', { devices: [USB] })]
  const result = schedule([gateway], nodes, [placement('gateway', 'a')], NOW)
  t.same(where(result, 'gateway'), ['a'])
  t.same(result.removed, [])
  t.same(outcome(result, 'gateway').moved, [])
  const why = explainNode(gateway, nodes[0] as SchedulerNode, { deployments: [gateway], nodes, placements: result.placements, now: NOW })
  t.equal(why.summary, 'runs gateway (replica 0); kept although it lacks device /dev/ttyUSB0')
})

t.test('a template changed to need more than the node allows moves the copy to a node that allows it', async (t) => {
  const vpn = deployment('vpn', { template: { securityContext: { capabilities: { add: ['NET_ADMIN'] } } } })
  const nodes = [node('a'), node('b', { policy: { ...DEFAULT_NODE_POLICY, capabilities: ['NET_ADMIN'] } })]
  const result = schedule([vpn], nodes, [placement('vpn', 'a')], NOW)
  t.same(where(result, 'vpn'), ['b'])
  t.same(result.removed, [{ placement: placement('vpn', 'a'), reason: 'node refuses it by node policy (capability NET_ADMIN not allowed)' }])
})

t.test('a node narrowing its policy loses the copies it now refuses; every-node ones are not pending', async (t) => {
  const agent = deployment('probe', { mode: 'every-node', template: { securityContext: { privileged: true } } })
  const result = schedule([agent], [node('a'), node('b', { policy: PERMISSIVE })], [placement('probe', 'a'), placement('probe', 'b')], NOW)
  t.same(where(result, 'probe'), ['b'])
  t.match(outcome(result, 'probe'), { placed: 1, pending: 0 })
  t.same(
    result.removed.map((r) => [r.placement.nodeId, r.reason]),
    [['a', 'node refuses it by node policy (privileged not allowed)']],
  )
})

// ---------------------------------------------------------------- explanations

t.test('reasons read for one node and for several', async (t) => {
  t.equal(singular('lack device /dev/ttyUSB0'), 'lacks device /dev/ttyUSB0')
  t.equal(singular('refuse it by node policy (privileged not allowed)'), 'refuses it by node policy (privileged not allowed)')
  t.equal(counted(1, 'lack devices /dev/ttyUSB0, /dev/video0'), '1 lacks devices /dev/ttyUSB0, /dev/video0')
  t.equal(counted(3, 'lack device /dev/ttyUSB0'), '3 lack device /dev/ttyUSB0')
})

t.test('explainNode lists the policy and devices checks with the rest', async (t) => {
  const cam = deployment('cam', { requires: { devices: ['/dev/video0'] }, template: { securityContext: { privileged: true } } })
  const nodes = [node('a')]
  const why = explainNode(cam, nodes[0] as SchedulerNode, { deployments: [cam], nodes, placements: [], now: NOW })
  t.same(
    why.checks.filter((c) => !c.passed).map((c) => [c.check, c.reason]),
    [
      ['policy', 'refuses it by node policy (privileged not allowed)'],
      ['devices', 'lacks device /dev/video0'],
    ],
  )
  t.equal(why.summary, 'not placed: it refuses it by node policy (privileged not allowed), lacks device /dev/video0')
})

// ---------------------------------------------------------------- from the store

t.test('a node that never reported devices or a policy has none and the default policy', async (t) => {
  const fresh = { ...nodeRecord('n1'), cordoned: false, online: true, offlineSince: null, lastSeenAt: null, lastHeartbeat: null, observedGeneration: 0 }
  t.match(toSchedulerNode(fresh), { devices: [], policy: DEFAULT_NODE_POLICY })
  t.match(toSchedulerNode({ ...fresh, devices: null, policy: null }), { devices: [], policy: DEFAULT_NODE_POLICY })
  t.match(toSchedulerNode({ ...fresh, devices: [USB], policy: PERMISSIVE }), { devices: [USB], policy: PERMISSIVE })
})

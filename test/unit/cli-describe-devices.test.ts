// shoal describe for issue 19: a node's devices and policy (as reported, or the default standing
// in), a deployment's required devices, and each copy's message from its agent ("waiting for
// device /dev/ttyUSB0", "refused by node policy: privileged not allowed").
import t from 'tap'
import type { DeploymentDetailView, NodeDetailView } from '../../cli/api-client.js'
import { describeDeployment, describeNode, policyText } from '../../cli/commands/describe.js'
import { Deployment } from '../../protocol/manifest.js'
import { DEFAULT_NODE_POLICY } from '../../protocol/node-policy.js'

const NOW = Date.parse('2026-12-06T12:00:00Z')
const AT = '2026-12-06T11:59:00.000Z'
const context = { terminal: { colour: false }, now: NOW, events: 10 }

function nodeDetail(overrides: Partial<NodeDetailView> = {}): NodeDetailView {
  return {
    id: 'gw-1',
    labels: {},
    profileLabels: [],
    capabilities: [],
    arch: 'arm64',
    profile: 'raspberry-pi-4',
    cordoned: false,
    condition: { type: 'Ready', since: null, reasons: [] },
    online: true,
    offlineSince: null,
    lastSeenAt: AT,
    generation: { latest: 2, observed: 2 },
    capacity: { cpuMillis: 4000, memoryBytes: 2 ** 32, gpus: 0 },
    reserved: { cpuMillis: 0, memoryBytes: 0 },
    usage: null,
    clock: { offsetSeconds: null, skewed: false, skewedSince: null, nodeTime: null },
    workloads: { running: 0, total: 1 },
    devices: ['/dev/ttyACM0'],
    policy: { ...DEFAULT_NODE_POLICY, reported: true },
    createdAt: AT,
    inventory: {
      hostname: 'gw-1',
      cpu: { model: 'Cortex-A72', cores: 4 },
      memoryBytes: 2 ** 32,
      disks: [],
      os: { distro: 'Debian', release: '12', platform: 'linux', kernel: '6.1' },
    } as unknown as NodeDetailView['inventory'],
    placements: [{ nodeId: 'gw-1', workload: 'modbus', deployment: 'modbus', replica: 0, revision: 1, since: AT }],
    workloadStatus: [
      {
        name: 'modbus',
        deployment: 'modbus',
        revision: 1,
        state: 'pending',
        health: 'none',
        restarts: 0,
        message: 'waiting for device /dev/ttyUSB0',
        since: AT,
        nodeId: 'gw-1',
        reportedAt: AT,
        hubSince: AT,
      },
    ],
    events: [],
    ...overrides,
  }
}

t.test('policyText: every rule, and a note when the default stands in', async (t) => {
  t.equal(
    policyText({ ...DEFAULT_NODE_POLICY, reported: true }),
    'privileged no, capabilities -, host paths /etc/localtime (ro), /etc/timezone (ro), devices /dev/ttyUSB*, /dev/ttyACM*, /dev/ttyAMA*, /dev/video*, /dev/i2c-*, /dev/gpiochip*, /dev/spidev*',
  )
  t.equal(
    policyText({ privileged: true, capabilities: ['NET_ADMIN', 'SYS_TIME'], hostPaths: [{ path: '/srv', readOnly: false }], devices: [], reported: false }),
    'privileged yes, capabilities NET_ADMIN, SYS_TIME, host paths /srv (rw), devices -\n(the default: the node never reported a policy)',
  )
})

t.test('describe node shows devices, policy and the message of a waiting copy', async (t) => {
  const out = describeNode(nodeDetail(), context)
  t.match(out, /\nDevices: +\/dev\/ttyACM0\n/)
  t.match(out, /\nPolicy: +privileged no, capabilities -, host paths \/etc\/localtime \(ro\), \/etc\/timezone \(ro\), devices \/dev\/ttyUSB\*/)
  t.match(
    out,
    /\n  NAME +DEPLOYMENT +STATE +HEALTH +READY +RESTARTS +REVISION +AGE +MESSAGE\n  modbus +modbus +pending +none +- +0 +1 +\d+[smhd] +waiting for device \/dev\/ttyUSB0\n/,
  )
})

t.test('describe node: no devices, never reported, and no message column without messages', async (t) => {
  const quiet = nodeDetail({ devices: [], workloadStatus: [] })
  t.match(describeNode(quiet, context), /\nDevices: +<none>\n/)
  t.notMatch(describeNode(quiet, context), /MESSAGE/)
  const old = describeNode(nodeDetail({ devices: null, policy: { ...DEFAULT_NODE_POLICY, reported: false } }), context)
  t.match(old, /\nDevices: +not reported \(an agent from before devices\)\n/)
  t.match(old, /\(the default: the node never reported a policy\)/)
})

t.test("describe deployment names the devices it requires and each copy's message", async (t) => {
  const manifest = Deployment.parse({
    apiVersion: 'shoal/v1',
    kind: 'Deployment',
    metadata: { name: 'modbus' },
    spec: { requires: { devices: ['/dev/ttyUSB0'] }, template: { image: 'registry.example/modbus:1', devices: [{ path: '/dev/ttyACM0' }] } },
  })
  const node = nodeDetail()
  const deployment: DeploymentDetailView = {
    name: 'modbus',
    labels: {},
    revision: 1,
    mode: 'replicated',
    desired: 1,
    placed: 1,
    ready: 0,
    upToDate: 0,
    pending: 0,
    why: '1/1 replicas placed; 1/3 nodes match: 2 lack devices /dev/ttyACM0, /dev/ttyUSB0',
    rollout: null,
    createdAt: AT,
    updatedAt: AT,
    manifest,
    manifestYaml: '',
    placements: node.placements.map((p) => ({ ...p, status: node.workloadStatus[0] ?? null })),
    filtered: { 'lack devices /dev/ttyACM0, /dev/ttyUSB0': 2 },
  }
  const out = describeDeployment(deployment, [], context)
  t.match(out, /\nRequires: +devices \/dev\/ttyACM0, \/dev\/ttyUSB0\n/)
  t.match(
    out,
    /\n  NODE +REPLICA +STATE +HEALTH +READY +RESTARTS +REVISION +AGE +MESSAGE\n  gw-1 +0 +pending +none +- +0 +1 +\d+[smhd] +waiting for device \/dev\/ttyUSB0\n/,
  )
})

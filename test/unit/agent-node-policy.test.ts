// The agent's side of issue 19 without I/O beyond a temp dir: the node policy from profile and
// flags, its flags parsed, admission (refused by policy, waiting for a device), the plan for held
// workloads, device scanning, and the Docker options the new template fields become.
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { AgentConfigError, parseCapabilities, parseDevicePatterns, parseHostPaths } from '../../agent/config.js'
import { scanDevices } from '../../agent/devices/device-scanner.js'
import { NO_POLICY_FLAGS, containerLogLimits, resolveNodePolicy } from '../../agent/policy/node-policy-settings.js'
import { heldState, holdsFor } from '../../agent/reconcile/admission.js'
import { configHash } from '../../agent/reconcile/config-hash.js'
import { planSteps } from '../../agent/reconcile/plan.js'
import { DEFAULT_CONTAINER_LOGS, containerCreateOptions, logConfig } from '../../agent/runtime/docker-container-config.js'
import type { ContainerWorkload, ContainerSpec, ObservedContainer } from '../../agent/runtime/runtime.js'
import { ContainerTemplate, type ContainerTemplateInput, DEFAULT_NODE_POLICY, type Workload } from '../../protocol/index.js'
import { tempDir } from '../support/index.js'

const NODE = 'gw-1'

function workload(name: string, template: Partial<ContainerTemplateInput> = {}): ContainerWorkload {
  return { name, deployment: name, revision: 1, template: ContainerTemplate.parse({ image: `reg.example/${name}:1`, ...template }) }
}

function container(w: Workload, overrides: Partial<ObservedContainer> = {}): ObservedContainer {
  return {
    id: `${w.name}-c1`,
    name: `shoal-${NODE}-${w.name}`,
    workload: w.name,
    deployment: w.deployment,
    revision: 1,
    configHash: configHash(w, NODE),
    state: 'running',
    exitCode: null,
    health: 'none',
    restartCount: 0,
    startedAt: '2026-01-01T00:00:00.000Z',
    finishedAt: null,
    ...overrides,
  }
}

t.test('the policy: the default, replaced field by field by the profile, widened by flags', async (t) => {
  t.same(resolveNodePolicy(undefined, NO_POLICY_FLAGS), DEFAULT_NODE_POLICY)
  const profile = { privileged: false, devices: ['/dev/ttyS*'], hostPaths: [{ path: '/srv', readOnly: true }] }
  const policy = resolveNodePolicy(profile, {
    allowPrivileged: true,
    allowCapabilities: ['NET_ADMIN'],
    allowHostPaths: [{ path: '/srv', readOnly: false }],
    devicePatterns: ['/dev/ttyS*', '/dev/video*'],
  })
  t.same(policy, {
    privileged: true,
    capabilities: ['NET_ADMIN'],
    hostPaths: [{ path: '/srv', readOnly: false }],
    devices: ['/dev/ttyS*', '/dev/video*'],
  })
  t.same(containerLogLimits(undefined), DEFAULT_CONTAINER_LOGS)
  t.same(containerLogLimits({ maxSize: '2Mi', maxFiles: 2 }), { maxSizeBytes: 2 * 1024 * 1024, maxFiles: 2 })
})

t.test('policy flags: comma lists, each entry checked, read-only host paths unless :rw', async (t) => {
  t.same(parseCapabilities('NET_ADMIN, CAP_SYS_TIME'), ['NET_ADMIN', 'CAP_SYS_TIME'])
  t.same(parseCapabilities(undefined), [])
  t.throws(() => parseCapabilities('net_admin'), AgentConfigError)
  t.throws(() => parseCapabilities('net_admin'), /--allow-capability: "net_admin" .*Linux capability/)
  t.same(parseHostPaths('/srv/data:rw,/etc/ssl,/opt/x:ro'), [
    { path: '/srv/data', readOnly: false },
    { path: '/etc/ssl', readOnly: true },
    { path: '/opt/x', readOnly: true },
  ])
  t.throws(() => parseHostPaths('srv'), /--allow-host-path: "srv" .*absolute path/)
  t.throws(() => parseHostPaths('/srv/../etc'), /must not contain \.\. segments/)
  t.same(parseDevicePatterns('/dev/ttyS*'), ['/dev/ttyS*'])
  t.throws(() => parseDevicePatterns('/tmp/x*'), /--device-pattern: "\/tmp\/x\*" .*under \/dev\//)
})

t.test('admission: refused by policy before waiting for a device; requires.devices is the hub’s business', async (t) => {
  const refused = workload('vpn', { securityContext: { privileged: true, capabilities: { add: ['NET_ADMIN'] } } })
  const serial = workload('modbus', { devices: [{ path: '/dev/ttyUSB0' }] })
  const both = workload('both', { devices: [{ path: '/dev/ttyUSB0' }], securityContext: { privileged: true } })
  const plain = workload('plain')
  const holds = holdsFor([refused, serial, both, plain], DEFAULT_NODE_POLICY, [])
  t.same(holds.get('vpn'), { kind: 'refused', reason: 'refused by node policy: privileged not allowed; capability NET_ADMIN not allowed' })
  t.same(holds.get('modbus'), { kind: 'waiting', reason: 'waiting for device /dev/ttyUSB0', missing: ['/dev/ttyUSB0'] })
  t.equal(holds.get('both')?.kind, 'refused')
  t.notOk(holds.has('plain'))
  t.notOk(holdsFor([serial], DEFAULT_NODE_POLICY, ['/dev/ttyUSB0']).has('modbus'), 'runs once the device is there')
})

t.test('a held workload’s reported state', async (t) => {
  const running = { state: 'running', health: 'healthy', exitCode: null, message: null } as const
  t.same(heldState(running, undefined, true), running)
  t.same(heldState(running, { kind: 'refused', reason: 'refused by node policy: privileged not allowed' }, true), {
    state: 'failed',
    health: 'none',
    exitCode: null,
    message: 'refused by node policy: privileged not allowed',
  })
  const waiting = { kind: 'waiting', reason: 'waiting for device /dev/ttyUSB0', missing: ['/dev/ttyUSB0'] } as const
  t.same(heldState({ state: 'pending', health: 'none', exitCode: null, message: null }, waiting, false), {
    state: 'pending',
    health: 'none',
    exitCode: null,
    message: 'waiting for device /dev/ttyUSB0',
  })
  const looping = { state: 'crash-loop', health: 'none', exitCode: 1, message: 'crashed 3 times' } as const
  t.same(heldState(looping, waiting, true), { ...looping, message: 'device /dev/ttyUSB0 missing; crashed 3 times' }, 'an unplugged adapter is the reason')
})

t.test('the plan for held workloads: refused ones are removed, waiting ones only get their image', async (t) => {
  const vpn = workload('vpn', { securityContext: { privileged: true } })
  const modbus = workload('modbus', { devices: [{ path: '/dev/ttyUSB0' }] })
  const base = { timing: new Map(), keepUnknown: false, now: 1_000 }
  const held = new Map([
    ['vpn', 'refused' as const],
    ['modbus', 'waiting' as const],
  ])
  const desired = [vpn, modbus].map((w) => ({ workload: w, configHash: configHash(w, NODE) }))
  t.same(planSteps({ ...base, desired, observed: [container(vpn)], imagesPresent: new Set(), held }), [
    { kind: 'pull', workload: 'modbus', image: 'reg.example/modbus:1' },
    { kind: 'remove', workload: 'vpn', containerId: 'vpn-c1', reason: 'refused' },
  ])
  const images = new Set([modbus.template.image])
  t.same(planSteps({ ...base, desired, observed: [], imagesPresent: images, held }), [], 'nothing is created while the device is missing')
  t.same(
    planSteps({ ...base, desired, observed: [container(modbus, { state: 'exited', exitCode: 1 })], imagesPresent: images, held }),
    [],
    'an exited copy is not restarted without its device',
  )
  t.same(planSteps({ ...base, desired, observed: [], imagesPresent: new Set(), held, timing: new Map([['modbus', { backoffUntil: 5_000 }]]) }), [
    { kind: 'wait', workload: 'modbus', until: 5_000, reason: 'pull-backoff' },
  ])
  t.same(
    planSteps({ ...base, desired: desired.slice(1), observed: [], imagesPresent: images }),
    [
      { kind: 'create', workload: 'modbus' },
      { kind: 'start', workload: 'modbus', containerId: null },
    ],
    'without a hold it starts',
  )
})

t.test('device scanning: the paths the patterns match, symlinks included, missing directories empty', async (t) => {
  const dir = tempDir(t, 'devices')
  writeFileSync(path.join(dir, 'ttyUSB0'), '')
  symlinkSync('/dev/null', path.join(dir, 'ttyUSB1'))
  writeFileSync(path.join(dir, 'ttyACM0'), '')
  mkdirSync(path.join(dir, 'by-id'))
  writeFileSync(path.join(dir, 'by-id', 'usb-ftdi'), '')
  t.same(await scanDevices([`${dir}/ttyUSB*`, `${dir}/by-id/*`, `${dir}/nowhere/*`]), [`${dir}/by-id/usb-ftdi`, `${dir}/ttyUSB0`, `${dir}/ttyUSB1`])
  t.same(await scanDevices([]), [])
})

t.test('Docker options: devices, host paths, security, tmpfs and the log bound', async (t) => {
  const spec = (template: Partial<ContainerTemplateInput>, logDefaults?: ContainerSpec['logDefaults']): ContainerSpec => ({
    nodeId: NODE,
    name: 'shoal-gw-1-app',
    configHash: 'h',
    extraLabels: {},
    workload: workload('app', template),
    ...(logDefaults ? { logDefaults } : {}),
  })
  const options = containerCreateOptions(
    spec({
      devices: [{ path: '/dev/ttyUSB0', containerPath: '/dev/ttyS0', permissions: 'rw' }, { path: '/dev/i2c-1' }],
      volumes: [{ hostPath: '/etc/localtime', path: '/etc/localtime', readOnly: true }],
      securityContext: { privileged: true, capabilities: { add: ['NET_ADMIN'], drop: ['ALL'] }, user: '1000:20', readOnlyRootFilesystem: true },
      tmpfs: [{ path: '/tmp', size: '16Mi' }, { path: '/run' }],
    }),
  )
  t.same(options.HostConfig.Devices, [
    { PathOnHost: '/dev/ttyUSB0', PathInContainer: '/dev/ttyS0', CgroupPermissions: 'rw' },
    { PathOnHost: '/dev/i2c-1', PathInContainer: '/dev/i2c-1', CgroupPermissions: 'rwm' },
  ])
  t.same(options.HostConfig.Mounts, [{ Type: 'bind', Source: '/etc/localtime', Target: '/etc/localtime', ReadOnly: true }])
  t.equal(options.HostConfig.Privileged, true)
  t.same(options.HostConfig.CapAdd, ['NET_ADMIN'])
  t.same(options.HostConfig.CapDrop, ['ALL'])
  t.equal(options.HostConfig.ReadonlyRootfs, true)
  t.equal(options.User, '1000:20')
  t.same(options.HostConfig.Tmpfs, { '/tmp': `size=${16 * 1024 * 1024}`, '/run': '' })
  t.same(options.HostConfig.LogConfig, { Type: 'json-file', Config: { 'max-size': String(10 * 1024 * 1024), 'max-file': '3' } }, 'the default bound')

  const plain = containerCreateOptions(spec({}))
  for (const key of ['Devices', 'Privileged', 'CapAdd', 'CapDrop', 'ReadonlyRootfs', 'Tmpfs'] as const)
    t.notOk(key in plain.HostConfig, `no ${key} unless asked`)
  t.notOk('User' in plain)
  t.same(
    containerCreateOptions(spec({}, { maxSizeBytes: 1024, maxFiles: 2 })).HostConfig.LogConfig?.Config,
    { 'max-size': '1024', 'max-file': '2' },
    "the profile's bound",
  )
  t.same(
    logConfig({ logs: { maxSize: '1Mi' } }, { maxSizeBytes: 1024, maxFiles: 2 }).Config,
    { 'max-size': String(1024 * 1024), 'max-file': '2' },
    "the template's over the node's, field by field",
  )
})

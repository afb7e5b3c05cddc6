// The node policy rule the hub's scheduler and the agent share: what a template asks for
// against what a node allows, and the template fields that ask.
import t from 'tap'
import {
  ContainerTemplate,
  DEFAULT_NODE_POLICY,
  type NodePolicy,
  NodePolicy as NodePolicySchema,
  devicePatternMatches,
  policyRefusals,
  requiredDevices,
} from '../../protocol/index.js'

const open: NodePolicy = { privileged: true, capabilities: ['ALL'], hostPaths: [{ path: '/', readOnly: false }], devices: ['/dev/*'] }

t.test('the default policy: nothing privileged, the time zone read-only, the usual edge devices', async (t) => {
  t.ok(NodePolicySchema.safeParse(DEFAULT_NODE_POLICY).success, 'the default is a valid policy')
  t.same(policyRefusals({}, DEFAULT_NODE_POLICY), [])
  t.same(policyRefusals({ securityContext: { privileged: true } }, DEFAULT_NODE_POLICY), ['privileged not allowed'])
  t.same(policyRefusals({ securityContext: { privileged: false } }, DEFAULT_NODE_POLICY), [])
  t.same(policyRefusals({ securityContext: { capabilities: { add: ['NET_ADMIN', 'CAP_SYS_TIME'] } } }, DEFAULT_NODE_POLICY), [
    'capability NET_ADMIN not allowed',
    'capability SYS_TIME not allowed',
  ])
  t.same(policyRefusals({ volumes: [{ hostPath: '/etc/localtime', readOnly: true }] }, DEFAULT_NODE_POLICY), [])
  t.same(policyRefusals({ volumes: [{ hostPath: '/etc/localtime' }] }, DEFAULT_NODE_POLICY), [
    'host path /etc/localtime allowed read-only only (set readOnly: true)',
  ])
  t.same(policyRefusals({ volumes: [{ hostPath: '/var/lib', readOnly: true }] }, DEFAULT_NODE_POLICY), ['host path /var/lib not allowed'])
  t.same(
    policyRefusals({ volumes: [{ hostPath: '/etc/localtime.d', readOnly: true }] }, DEFAULT_NODE_POLICY),
    ['host path /etc/localtime.d not allowed'],
    'a prefix of the name is not a directory above it',
  )
  t.same(policyRefusals({ devices: [{ path: '/dev/ttyUSB0' }, { path: '/dev/video2' }, { path: '/dev/i2c-1' }] }, DEFAULT_NODE_POLICY), [])
  t.same(policyRefusals({ devices: [{ path: '/dev/sda' }] }, DEFAULT_NODE_POLICY), ['device /dev/sda not allowed'])
  t.same(policyRefusals({ volumes: [{}, { readOnly: false }] }, DEFAULT_NODE_POLICY), [], 'other volume kinds are not the policy’s business')
})

t.test('a wider policy: capabilities by either spelling, ALL, host directories and read-write', async (t) => {
  const policy: NodePolicy = {
    privileged: false,
    capabilities: ['CAP_NET_ADMIN'],
    hostPaths: [
      { path: '/srv/data/', readOnly: false },
      { path: '/srv', readOnly: true },
    ],
    devices: ['/dev/ttyS?'],
  }
  t.same(policyRefusals({ securityContext: { capabilities: { add: ['NET_ADMIN', 'CAP_NET_ADMIN'] } } }, policy), [])
  t.same(policyRefusals({ volumes: [{ hostPath: '/srv/data/x', readOnly: false }] }, policy), [], 'the most specific rule wins')
  t.same(policyRefusals({ volumes: [{ hostPath: '/srv/logs' }] }, policy), ['host path /srv/logs allowed read-only only (set readOnly: true)'])
  t.same(policyRefusals({ devices: [{ path: '/dev/ttyS1' }, { path: '/dev/ttyS10' }] }, policy), ['device /dev/ttyS10 not allowed'])
  t.same(policyRefusals({ securityContext: { privileged: true, capabilities: { add: ['SYS_ADMIN'] } } }, open), [])
})

t.test('device globs: * and ? stay within one path segment, the rest is literal', async (t) => {
  t.ok(devicePatternMatches('/dev/ttyUSB*', '/dev/ttyUSB0'))
  t.ok(devicePatternMatches('/dev/ttyUSB*', '/dev/ttyUSB'))
  t.notOk(devicePatternMatches('/dev/ttyUSB*', '/dev/ttyACM0'))
  t.notOk(devicePatternMatches('/dev/*', '/dev/serial/by-id/x'))
  t.ok(devicePatternMatches('/dev/serial/by-id/*', '/dev/serial/by-id/usb-FTDI_0-if00'))
  t.ok(devicePatternMatches('/dev/i2c-?', '/dev/i2c-1'))
  t.notOk(devicePatternMatches('/dev/i2c-?', '/dev/i2c-10'))
  t.notOk(devicePatternMatches('/dev/tty.USB', '/dev/ttyxUSB'), 'a dot is a dot')
})

t.test('required devices: those asked for and those passed in, once each, sorted', async (t) => {
  t.same(requiredDevices(undefined, undefined), [])
  t.same(requiredDevices(['/dev/video0', '/dev/ttyUSB0'], [{ path: '/dev/ttyUSB0' }, { path: '/dev/i2c-1' }]), ['/dev/i2c-1', '/dev/ttyUSB0', '/dev/video0'])
})

t.test('template fields: devices, host paths, securityContext, tmpfs and logs validate with their reasons', async (t) => {
  const base = { image: 'busybox' }
  const ok = ContainerTemplate.safeParse({
    ...base,
    devices: [{ path: '/dev/ttyUSB0', containerPath: '/dev/ttyS0', permissions: 'rw' }],
    volumes: [{ hostPath: '/etc/localtime', path: '/etc/localtime', readOnly: true }],
    securityContext: { capabilities: { add: ['NET_ADMIN'], drop: ['ALL'] }, user: '1000:1000', readOnlyRootFilesystem: true },
    tmpfs: [{ path: '/tmp', size: '16Mi' }],
    logs: { maxSize: '1Mi', maxFiles: 2 },
  })
  t.ok(ok.success, ok.success ? 'valid' : JSON.stringify(ok.error.issues))
  const refused = (template: object): string[] => {
    const result = ContainerTemplate.safeParse({ ...base, ...template })
    return result.success ? [] : result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`)
  }
  t.match(refused({ devices: [{ path: '/etc/passwd' }] }), [/devices.0.path: must be a device path under \/dev\//])
  t.match(refused({ devices: [{ path: '/dev/../etc/passwd' }] }), [/must not contain \.\. segments/])
  t.match(refused({ devices: [{ path: '/dev/ttyUSB0', permissions: 'rr' }] }), [/permissions: must be any of r \(read\), w \(write\) and m/])
  t.match(refused({ devices: [{ path: '/dev/ttyUSB0', permissions: 'x' }] }), [/permissions/])
  t.match(refused({ volumes: [{ hostPath: 'etc', path: '/x' }] }), [/hostPath: must be an absolute path/])
  t.match(refused({ volumes: [{ hostPath: '/etc', name: 'data', path: '/x' }] }), [/exactly one of name \(a named volume\), hostPath, config or secret/])
  t.same(refused({ volumes: [{ hostPath: '/srv', path: '/x', readOnly: false }] }), [], 'a host path may be writable')
  t.match(refused({ securityContext: { user: 'root' } }), [/user: must be a numeric uid or uid:gid/])
  t.match(refused({ securityContext: { capabilities: { add: ['net_admin'] } } }), [/must be a Linux capability/])
  t.match(refused({ securityContext: { privileged: 'yes' } }), [/securityContext.privileged/])
  t.match(refused({ tmpfs: [{ path: '/tmp', size: 'lots' }] }), [/tmpfs.0.size/])
  t.match(refused({ logs: { maxFiles: 0 } }), [/logs.maxFiles/])
  t.match(refused({ logs: { maxSize: '1Mi', extra: 1 } }), [/logs: Unrecognized key/])
})

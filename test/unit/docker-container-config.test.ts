import { execFileSync } from 'node:child_process'
import t from 'tap'
import {
  VOLUME_LABEL,
  containerCreateOptions,
  containerLabels,
  healthcheck,
  pullAuthConfig,
  registryOf,
  restartPolicy,
  volumeName,
} from '../../agent/runtime/docker-container-config.js'
import { LABEL, type ContainerSpec } from '../../agent/runtime/runtime.js'
import { HealthCheck, type ContainerTemplateInput } from '../../protocol/index.js'
import { containerWorkload } from '../support/container-workload.js'

function spec(template: Partial<ContainerTemplateInput> = {}, extraLabels: Record<string, string> = {}): ContainerSpec {
  return {
    nodeId: 'node-1',
    name: 'shoal-web-1',
    configHash: 'abc123',
    extraLabels,
    workload: containerWorkload({ name: 'web', deployment: 'web', revision: 4, template: { image: 'busybox:1', ...template } }),
  }
}

t.test('labels carry node, workload, deployment, revision and config hash over the extra labels', async (t) => {
  const labels = containerLabels(spec({}, { team: 'data', [LABEL.node]: 'someone-else' }))
  t.same(labels, {
    team: 'data',
    [LABEL.node]: 'node-1',
    [LABEL.workload]: 'web',
    [LABEL.deployment]: 'web',
    [LABEL.revision]: '4',
    [LABEL.configHash]: 'abc123',
  })
  t.same(containerCreateOptions(spec()).Labels, containerLabels(spec()))
})

t.test('name, image, env in a stable order, command as entrypoint and args as cmd', async (t) => {
  const options = containerCreateOptions(spec({ command: ['httpd', '-f'], args: ['-p', '8080'], env: { ZED: '1', ALPHA: 'a=b' } }))
  t.equal(options.name, 'shoal-web-1')
  t.equal(options.Image, 'busybox:1')
  t.same(options.Env, ['ALPHA=a=b', 'ZED=1'])
  t.same(options.Entrypoint, ['httpd', '-f'])
  t.same(options.Cmd, ['-p', '8080'])
  t.equal(options.Tty, false)

  const bare = containerCreateOptions(spec())
  t.notOk('Entrypoint' in bare, 'no command keeps the image entrypoint')
  t.notOk('Cmd' in bare, 'no args keeps the image cmd')
  t.notOk('Healthcheck' in bare)
  t.same(bare.Env, [])
})

t.test('the same spec always yields the same options', async (t) => {
  const input = { env: { B: '2', A: '1' }, volumes: [{ name: 'data', path: '/data' }], healthCheck: { exec: { command: ['true'] } } }
  t.same(containerCreateOptions(spec(input)), containerCreateOptions(spec(input)))
})

t.test('restart policies: always survives agent and engine restarts but respects a stop', async (t) => {
  t.same(restartPolicy('always'), { Name: 'unless-stopped' })
  t.same(restartPolicy('on-failure'), { Name: 'on-failure', MaximumRetryCount: 0 })
  t.same(restartPolicy('never'), { Name: 'no' })
  t.same(containerCreateOptions(spec()).HostConfig?.RestartPolicy, { Name: 'unless-stopped' }, 'always is the default')
  t.same(containerCreateOptions(spec({ restartPolicy: 'never' })).HostConfig?.RestartPolicy, { Name: 'no' })
})

t.test('health checks', async (t) => {
  t.test('exec runs the command directly, timings in nanoseconds', async (t) => {
    const check = healthcheck(HealthCheck.parse({ exec: { command: ['cat', '/tmp/ok'] }, interval: '2s', timeout: '500ms', retries: 5, startPeriod: '1m' }))
    t.same(check, { Test: ['CMD', 'cat', '/tmp/ok'], Interval: 2e9, Timeout: 5e8, StartPeriod: 60e9, Retries: 5 })
  })

  t.test('defaults: 10s interval, 5s timeout, 3 retries, no start period', async (t) => {
    const check = healthcheck(HealthCheck.parse({ exec: { command: ['true'] } }))
    t.same([check.Interval, check.Timeout, check.Retries, check.StartPeriod], [10e9, 5e9, 3, 0])
  })

  t.test('http uses wget, or curl when wget is missing', async (t) => {
    const check = healthcheck(HealthCheck.parse({ http: { port: 8080, path: '/healthz' } }))
    t.equal(check.Test?.[0], 'CMD-SHELL')
    const script = check.Test?.[1] ?? ''
    t.match(script, "wget -q -O /dev/null 'http://127.0.0.1:8080/healthz'")
    t.match(script, "curl -fsS -o /dev/null 'http://127.0.0.1:8080/healthz'")
    t.notMatch(script, /wget[^;]* -T/, 'no wget -T: it crashes busybox 1.35')
  })

  t.test('http brackets an IPv6 host', async (t) => {
    const script = healthcheck(HealthCheck.parse({ http: { port: 80, host: '::1' } })).Test?.[1] ?? ''
    t.match(script, "'http://[::1]:80/'")
  })

  t.test('tcp uses nc -z, then busybox nc -e', async (t) => {
    const script = healthcheck(HealthCheck.parse({ tcp: { port: 5432 } })).Test?.[1] ?? ''
    t.match(script, "nc -z '127.0.0.1' 5432")
    t.match(script, "nc '127.0.0.1' 5432 -e true")
  })

  t.test('a hostile path or host stays one shell word', async (t) => {
    const path = "/x'; echo INJECTED; echo '$(id)"
    const script = healthcheck(HealthCheck.parse({ http: { port: 80, path, host: 'h;echo INJECTED' } })).Test?.[1] ?? ''
    // Run the probe with a stand-in wget that prints its arguments one per line.
    const output = execFileSync('sh', ['-c', `wget() { printf '%s\\n' "$@"; }; ${script}`], { encoding: 'utf8' })
    t.same(output.split('\n').filter(Boolean), ['-q', '-O', '/dev/null', `http://h;echo INJECTED:80${path}`])
  })
})

t.test('resources: cpu in NanoCpus, memory in bytes, gpus as an nvidia device request', async (t) => {
  const host = containerCreateOptions(spec({ resources: { cpu: '500m', memory: '128Mi', gpu: 2 } })).HostConfig
  t.equal(host?.NanoCpus, 500_000_000)
  t.equal(host?.Memory, 128 * 1024 * 1024)
  t.same(host?.DeviceRequests, [{ Driver: 'nvidia', Count: 2, Capabilities: [['gpu']] }])

  const cores = containerCreateOptions(spec({ resources: { cpu: 1.5 } })).HostConfig
  t.equal(cores?.NanoCpus, 1_500_000_000)
  t.notOk(cores && 'Memory' in cores)

  t.notOk(containerCreateOptions(spec({ resources: { gpu: 0 } })).HostConfig?.DeviceRequests, 'gpu 0 asks for no device')
  t.notOk(containerCreateOptions(spec()).HostConfig?.NanoCpus)
})

t.test('named volumes are node-scoped Docker volumes with labels', async (t) => {
  t.equal(volumeName('node-1', 'cache'), 'shoal-node-1-cache')
  const mounts = containerCreateOptions(
    spec(
      {
        volumes: [
          { name: 'cache', path: '/var/cache', readOnly: true },
          { name: 'data', path: '/data' },
        ],
      },
      { 'io.shoal.test-run': 'r1' },
    ),
  ).HostConfig?.Mounts
  t.equal(mounts?.length, 2)
  t.match(mounts?.[0], { Type: 'volume', Source: 'shoal-node-1-cache', Target: '/var/cache', ReadOnly: true })
  t.match(mounts?.[1], { Type: 'volume', Source: 'shoal-node-1-data', Target: '/data', ReadOnly: false })
  const first = mounts?.[0]
  t.same(first?.Type === 'volume' ? first.VolumeOptions.Labels : undefined, { 'io.shoal.test-run': 'r1', [LABEL.node]: 'node-1', [VOLUME_LABEL]: 'cache' })
  t.notOk(containerCreateOptions(spec()).HostConfig?.Mounts, 'no volumes, no mounts')
})

t.test('network mode, and ports only on a bridge', async (t) => {
  const ports = [
    { containerPort: 80, hostPort: 8080 },
    { containerPort: 53, protocol: 'udp' as const, hostIP: '127.0.0.1' },
  ]
  const host = containerCreateOptions(spec({ ports }))
  t.equal(host.HostConfig?.NetworkMode, 'host', 'host is the default')
  t.notOk(host.ExposedPorts)
  t.notOk(host.HostConfig?.PortBindings)

  const bridge = containerCreateOptions(spec({ network: 'bridge', ports }))
  t.equal(bridge.HostConfig?.NetworkMode, 'bridge')
  t.same(bridge.ExposedPorts, { '80/tcp': {}, '53/udp': {} })
  t.same(bridge.HostConfig?.PortBindings, {
    '80/tcp': [{ HostIp: '', HostPort: '8080' }],
    '53/udp': [{ HostIp: '127.0.0.1', HostPort: '' }],
  })

  const none = containerCreateOptions(spec({ network: 'none', ports }))
  t.equal(none.HostConfig?.NetworkMode, 'none')
  t.notOk(none.HostConfig?.PortBindings)
})

t.test('pull credentials name the registry of the image unless told', async (t) => {
  t.equal(registryOf('busybox:1'), 'docker.io')
  t.equal(registryOf('library/busybox'), 'docker.io')
  t.equal(registryOf('registry.example/team/app:1.4'), 'registry.example')
  t.equal(registryOf('127.0.0.1:5000/app@sha256:abc'), '127.0.0.1:5000')
  t.equal(registryOf('localhost/app'), 'localhost')
  t.equal(pullAuthConfig('registry.example/app:1', undefined), undefined)
  t.same(pullAuthConfig('registry.example/app:1', { username: 'u', password: 'p' }), { username: 'u', password: 'p', serveraddress: 'registry.example' })
  t.same(pullAuthConfig('app:1', { username: 'u', password: 'p', registry: 'mirror.example' }), {
    username: 'u',
    password: 'p',
    serveraddress: 'mirror.example',
  })
})

t.test('stopSignal and stopGracePeriod become StopSignal and StopTimeout; absent, neither is set', async (t) => {
  const withStop = containerCreateOptions(spec({ stopSignal: 'SIGINT', stopGracePeriod: '2500ms' }))
  t.equal(withStop.StopSignal, 'SIGINT')
  t.equal(withStop.StopTimeout, 3, 'rounded up to whole seconds: the engine takes seconds')
  const plain = containerCreateOptions(spec())
  t.notOk('StopSignal' in plain || 'StopTimeout' in plain, 'existing workloads create the same container as before')
})

// Issue 19, item 5, on a real agent and the real Docker engine: an image with nothing in it but a
// web server (no shell, no wget, curl or nc) is health-gated by an http check the agent runs
// itself; its readiness check keeps the running copy "not ready" until it passes; a failing
// liveness check is reported with its reason; exec readiness runs in the container through the
// engine's exec, and a tcp check from the agent passes.
import { execFile } from 'node:child_process'
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import type { NodeStatus, WorkloadStatus } from '../../protocol/index.js'
import { startAgentProcess, uniqueNodeId, waitForRunning } from '../support/agent-process.js'
import { startMqttHubDouble, type WorkloadInput } from '../support/hub-double.js'
import { dockerClient, freePort, startMosquitto, tempDir, testImage, testRunId, type TestLike } from '../support/index.js'

t.setTimeout(180_000)
const execFileAsync = promisify(execFile)

const workloadOf = (status: NodeStatus | undefined, name: string): WorkloadStatus | undefined => status?.workloads.find((w) => w.name === name)

/** An image of one file: busybox as /bin/httpd (busybox picks the applet by its name), nothing else. */
async function toollessImage(t: TestLike, dir: string): Promise<string> {
  const tag = `shoal-test/toolless:${testRunId()}-${process.pid}`
  const root = path.join(dir, 'rootfs')
  mkdirSync(path.join(root, 'bin'), { recursive: true })
  mkdirSync(path.join(root, 'www'), { recursive: true })
  copyFileSync('/bin/busybox', path.join(root, 'bin', 'httpd'))
  await execFileAsync('sh', ['-c', `tar -C ${JSON.stringify(root)} -c . | docker import - ${tag}`], { timeout: 60_000 })
  t.teardown(() => execFileAsync('docker', ['rmi', '-f', tag], { timeout: 60_000 }).catch(() => undefined))
  return tag
}

t.test('probes the agent runs', async (t) => {
  const broker = await startMosquitto(t)
  const hub = await startMqttHubDouble(t, broker.url)
  const dir = tempDir(t, 'agent-probes')
  const image = await toollessImage(t, dir)
  const www = path.join(dir, 'www')
  mkdirSync(www)
  writeFileSync(path.join(www, 'healthz'), 'ok\n')
  const nodeId = uniqueNodeId('probes')
  await startAgentProcess(t, {
    nodeId,
    dataDir: path.join(dir, nodeId),
    hubUrl: broker.url,
    hubKey: hub.publicKey,
    extraArgs: ['--allow-host-path', `${www}:ro`],
  })
  const webPort = await freePort()
  const tcpPort = await freePort()
  const web: WorkloadInput = {
    name: 'web',
    deployment: 'web',
    revision: 1,
    template: {
      image,
      command: ['/bin/httpd', '-f', '-p', `127.0.0.1:${webPort}`, '-h', '/www'],
      network: 'host',
      volumes: [{ hostPath: www, path: '/www', readOnly: true }],
      healthCheck: { http: { port: webPort, path: '/healthz' }, interval: '1s', timeout: '2s', retries: 2 },
      readiness: { http: { port: webPort, path: '/ready' }, interval: '1s', timeout: '2s', retries: 1 },
    },
  }
  const gated: WorkloadInput = {
    name: 'gated',
    deployment: 'gated',
    revision: 1,
    template: {
      image: testImage(),
      command: ['sh', '-c', `trap 'exit 0' TERM; httpd -f -p 127.0.0.1:${tcpPort} -h / & wait`],
      network: 'host',
      healthCheck: { tcp: { port: tcpPort }, interval: '1s', timeout: '2s' },
      readiness: { exec: { command: ['sh', '-c', 'test -f /ready'] }, interval: '1s', timeout: '3s', retries: 1 },
    },
  }
  await hub.publishDesired(nodeId, [web, gated], 1)
  const containers = await waitForRunning(nodeId, ['web', 'gated'])
  const webId = containers.get('web')?.id ?? ''
  const gatedId = containers.get('gated')?.id ?? ''

  await t.test('an image without any tools is health-gated by the agent; its readiness keeps it not ready', async (t) => {
    const inspect = await dockerClient().getContainer(webId).inspect()
    t.notOk(inspect.Config.Healthcheck, 'the engine runs no check: it could not, there is no shell in the image')
    // Healthy can come before the first readiness probe has answered ("readiness check
    // starting"): the status to wait for is the one that carries the probe's verdict.
    const sawReadiness = /not ready: GET http:\/\/127\.0\.0\.1:\d+\/ready answered 404/
    const status = await hub.waitForStatus(
      nodeId,
      (s) => workloadOf(s, 'web')?.health === 'healthy' && workloadOf(s, 'web')?.ready === false && sawReadiness.test(workloadOf(s, 'web')?.message ?? ''),
      { what: 'web healthy, and not ready because /ready answered 404', timeoutMs: 30_000 },
    )
    const copy = workloadOf(status, 'web')
    t.equal(copy?.state, 'running', 'running, but not ready')
    t.match(copy?.message, sawReadiness, 'the reason says what the check saw')
  })

  await t.test('the copy becomes ready when its readiness check passes', async (t) => {
    writeFileSync(path.join(www, 'ready'), 'yes\n')
    const status = await hub.waitForStatus(nodeId, (s) => workloadOf(s, 'web')?.ready === true, { what: 'web ready', timeoutMs: 30_000 })
    t.equal(workloadOf(status, 'web')?.health, 'healthy')
    t.notOk(workloadOf(status, 'web')?.message, 'nothing wrong to say')
    const ready = await hub.waitForEvent(nodeId, 'WorkloadReadinessChanged', (e) => e.workload === 'web' && e.data?.ready === true)
    t.match(ready.message, /web: ready/, 'the change is an event too')
  })

  await t.test('a failing liveness check is reported with its reason, and the copy is no longer ready', async (t) => {
    rmSync(path.join(www, 'healthz'))
    const status = await hub.waitForStatus(nodeId, (s) => workloadOf(s, 'web')?.health === 'unhealthy', { what: 'web unhealthy', timeoutMs: 30_000 })
    const copy = workloadOf(status, 'web')
    t.equal(copy?.ready, false)
    t.match(copy?.message, /health check failing: GET http:\/\/127\.0\.0\.1:\d+\/healthz answered 404/)
    writeFileSync(path.join(www, 'healthz'), 'ok\n')
    await hub.waitForStatus(nodeId, (s) => workloadOf(s, 'web')?.health === 'healthy' && workloadOf(s, 'web')?.ready === true, {
      what: 'web healthy and ready again',
      timeoutMs: 30_000,
    })
  })

  await t.test('exec readiness runs in the container through the engine; a tcp check from the agent passes', async (t) => {
    const before = await hub.waitForStatus(nodeId, (s) => workloadOf(s, 'gated')?.health === 'healthy', { what: 'gated healthy (tcp)', timeoutMs: 30_000 })
    t.equal(workloadOf(before, 'gated')?.ready, false, 'not ready while /ready is missing')
    t.match(workloadOf(before, 'gated')?.message, /not ready: sh -c test -f \/ready exited with code 1/)
    await execFileAsync('docker', ['exec', gatedId, 'sh', '-c', ': > /ready'], { timeout: 20_000 })
    await hub.waitForStatus(nodeId, (s) => workloadOf(s, 'gated')?.ready === true, { what: 'gated ready', timeoutMs: 30_000 })
    t.pass('ready once the file exists')
  })
})

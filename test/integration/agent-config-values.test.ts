// Configs and Secrets on a real agent with the real Docker engine: env values and files as the
// container sees them, Secret files on tmpfs, a new Secret version rolling the container, a
// tampered document refused while the running one stays, files written again after the tmpfs lost
// them, files removed with their container, and no secret value in clear in the agent's SQLite
// files or its log.
import { execFile } from 'node:child_process'
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { sealingPublicKeyOf, type NodeStatus } from '../../protocol/index.js'
import { configValues, sealedSecret, tamperedSecret } from '../support/agent-values.js'
import { nodeContainers, startAgentProcess, uniqueNodeId, waitForRunning } from '../support/agent-process.js'
import { startMqttHubDouble, type WorkloadInput } from '../support/hub-double.js'
import { startMosquitto, tempDir, testImage, waitFor } from '../support/index.js'

t.setTimeout(150_000)
const execFileAsync = promisify(execFile)

/** Runs a shell command in the container; its stdout. */
async function inContainer(id: string, script: string): Promise<string> {
  const { stdout } = await execFileAsync('docker', ['exec', id, 'sh', '-c', script], { timeout: 20_000 })
  return stdout
}

const MARKER_1 = 'marker-secret-8d1e0c'
const MARKER_2 = 'marker-secret-5b77f2'
const PASSWORD = 'marker-password-c3a9'

t.test('Config and Secret references reach the container, Secrets on tmpfs and never in clear on disk', async (t) => {
  const image = testImage()
  const nodeId = uniqueNodeId('values')
  const secretsDir = `/dev/shm/shoal-${nodeId}`
  t.teardown(() => rmSync(secretsDir, { recursive: true, force: true }))
  const broker = await startMosquitto(t)
  const hub = await startMqttHubDouble(t, broker.url)
  const dir = tempDir(t, 'agent-values')
  const dataDir = path.join(dir, 'data')
  const agent = await startAgentProcess(t, { nodeId, dataDir, hubUrl: broker.url, hubKey: hub.publicKey })

  const first = await hub.waitForStatus(nodeId, (s) => s.sealingKey !== undefined, { what: 'a status with the sealing key' })
  const publicKey = first.sealingKey ?? ''
  t.equal(publicKey, sealingPublicKeyOf(readFileSync(path.join(dataDir, 'sealing-key.pem'), 'utf8')), 'the status carries the key kept in the data dir')

  const app = (
    secretVersion: number,
    token: string,
    sealed = sealedSecret(nodeId, 'api', secretVersion, { token, password: PASSWORD }, publicKey),
  ): WorkloadInput => ({
    name: 'app',
    deployment: 'app',
    revision: 1,
    template: {
      image,
      command: ['sh', '-c', "trap 'exit 0' TERM; while true; do sleep 1; done"],
      env: { PLC: { config: 'line', key: 'plc' }, TOKEN: { secret: 'api', key: 'token' }, LEVEL: 'info' },
      volumes: [
        { config: 'line', path: '/etc/line' },
        { secret: 'api', path: '/run/secrets/api' },
      ],
      restartPolicy: 'always',
      network: 'host',
    },
    values: { configs: { line: configValues(3, { plc: '10.0.0.7', 'calibration.json': '{"gain":2}' }) }, secrets: { api: sealed } },
  })

  await hub.publishDesired(nodeId, [app(1, MARKER_1)], 1)
  const running = (await waitForRunning(nodeId, ['app'])).get('app')
  const id = running?.id ?? ''

  await t.test('env and files as the container sees them; the Secret directory is tmpfs', async (t) => {
    t.equal(await inContainer(id, 'echo "$PLC|$TOKEN|$LEVEL"'), `10.0.0.7|${MARKER_1}|info\n`)
    t.equal(await inContainer(id, 'cat /etc/line/plc; echo; cat /etc/line/calibration.json'), '10.0.0.7\n{"gain":2}')
    t.equal(await inContainer(id, 'cat /run/secrets/api/token'), MARKER_1)
    t.equal(await inContainer(id, 'ls /run/secrets/api | sort | tr "\\n" " "'), 'password token ')
    const mounts = await inContainer(id, 'cat /proc/mounts')
    const secretMount = mounts.split('\n').find((line) => line.split(' ')[1] === '/run/secrets/api')
    t.match(secretMount, /^\S+ \/run\/secrets\/api tmpfs ro[, ]/, 'the Secret files are on tmpfs, read-only')
    const configMount = mounts.split('\n').find((line) => line.split(' ')[1] === '/etc/line')
    t.match(configMount, / ro[, ]/, 'the Config files are read-only')
    t.match(await inContainer(id, 'echo x > /run/secrets/api/token 2>&1 || echo refused'), /refused/)
  })

  await t.test('the status says which versions the container runs', async (t) => {
    const status = await hub.waitForStatus(nodeId, (s) => runs(s, 'app', { line: 3 }, { api: 1 }), { what: 'status with config line 3 and secret api 1' })
    t.equal(status.sealingKey, publicKey)
  })

  await t.test('a new Secret version recreates the container with the new value; the old files go with the old container', async (t) => {
    await hub.publishDesired(nodeId, [app(2, MARKER_2)], 2)
    const replaced = await waitFor(
      async () => {
        const c = (await waitForRunning(nodeId, ['app'])).get('app')
        return c && c.id !== id ? c : undefined
      },
      { what: 'a new container for secret api version 2', timeoutMs: 60_000 },
    )
    t.equal(await inContainer(replaced.id, 'cat /run/secrets/api/token; echo "|$TOKEN"'), `${MARKER_2}|${MARKER_2}\n`)
    await hub.waitForStatus(nodeId, (s) => runs(s, 'app', { line: 3 }, { api: 2 }), { what: 'status with secret api 2' })
    await waitFor(() => readdirSync(secretsDir).length === 1, { what: "only the new container's slot left in the secrets dir", timeoutMs: 30_000 })
    t.equal(readdirSync(secretsDir)[0], `app-${replaced.configHash}`)
  })

  const current = (await waitForRunning(nodeId, ['app'])).get('app')
  const currentId = current?.id ?? ''

  await t.test('a tampered Secret is refused and the running container stays', async (t) => {
    const good = sealedSecret(nodeId, 'api', 3, { token: 'never-runs', password: PASSWORD }, publicKey)
    const seq = hub.lastSeq(nodeId)
    await hub.publishDesired(nodeId, [app(3, 'never-runs', tamperedSecret(good))], 3)
    const event = await hub.waitForEvent(nodeId, 'DesiredRejected', undefined, { afterSeq: seq })
    t.equal(event.data?.code, 'unsealable-secret')
    t.match(event.message, /workload app: secret api version 3 does not open/)
    t.equal((await agent.status()).generation, 2, 'generation 2 is still the document')
    t.equal((await waitForRunning(nodeId, ['app'])).get('app')?.id, currentId, 'the same container runs on')
  })

  await t.test('files lost from the tmpfs (a reboot) are written again before the container starts again', async (t) => {
    rmSync(secretsDir, { recursive: true, force: true })
    await execFileAsync('docker', ['kill', currentId])
    const back = await waitFor(
      async () => {
        const c = (await nodeContainers(nodeId)).find((n) => n.workload === 'app' && n.state === 'running')
        if (!c) return undefined
        return (await inContainer(c.id, 'cat /run/secrets/api/token')) === MARKER_2 ? c : undefined
      },
      { what: 'the container running again with its Secret file', timeoutMs: 60_000 },
    )
    t.ok(back, 'running, with the Secret file there')
    t.ok(existsSync(path.join(secretsDir, `app-${back.configHash}`, 'secret-api', 'token')))
  })

  await t.test('removing the workload removes its files', async (t) => {
    await hub.publishDesired(nodeId, [], 4)
    await waitFor(async () => (await nodeContainers(nodeId)).length === 0, { what: 'no container left', timeoutMs: 60_000 })
    await waitFor(() => !existsSync(secretsDir) || readdirSync(secretsDir).length === 0, { what: 'the secrets dir empty', timeoutMs: 30_000 })
    await waitFor(() => readdirSync(path.join(dataDir, 'values')).length === 0, { what: 'the config files gone', timeoutMs: 30_000 })
    t.pass('container and files gone')
  })

  await t.test('no secret value in clear in the SQLite files or the log', async (t) => {
    let store = Buffer.alloc(0)
    for (const file of ['agent.db', 'agent.db-wal']) {
      const full = path.join(dataDir, file)
      if (!existsSync(full)) continue
      const bytes = readFileSync(full)
      store = Buffer.concat([store, bytes])
      for (const marker of [MARKER_1, MARKER_2, PASSWORD]) t.notOk(bytes.includes(marker), `${file} holds no ${marker}`)
    }
    t.ok(store.includes('calibration.json'), 'the files scanned are the store (they hold the Config)')
    const log = readFileSync(agent.logFile)
    for (const marker of [MARKER_1, MARKER_2, PASSWORD]) t.notOk(log.includes(marker), `the log holds no ${marker}`)
  })
})

/** The status shows the workload running with exactly these versions. */
function runs(status: NodeStatus, workload: string, configs: Record<string, number>, secrets: Record<string, number>): boolean {
  const w = status.workloads.find((x) => x.name === workload)
  return w?.state === 'running' && JSON.stringify(w.configVersions) === JSON.stringify(configs) && JSON.stringify(w.secretVersions) === JSON.stringify(secrets)
}

// The real parts a benchmark talks to, each on a free loopback port in the benchmark's own
// temp dir: Mosquitto, the Shoal hub (embedded aedes broker), and the built agent.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, connect } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { atCleanup, benchFailed, startProcess, waitFor } from './processes.mjs'
import { note } from './output.mjs'

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..')
/** The built project: this checkout's dist/, or a private snapshot (scripts/bench/snapshot.sh). */
export const DIST = process.env.SHOAL_BENCH_DIST ? path.resolve(process.env.SHOAL_BENCH_DIST) : path.join(ROOT, 'dist')
export const CLI = path.join(DIST, 'cli', 'main.js')

/**
 * A temp dir on the machine's disk (not tmpfs, so disk writes are real), removed at the end
 * unless SHOAL_BENCH_KEEP=1 or the benchmark failed (its logs are then worth reading).
 */
export function benchDir(name) {
  const dir = mkdtempSync(path.join(process.env.SHOAL_BENCH_TMP ?? tmpdir(), `shoal-bench-${name}-`))
  atCleanup(() => {
    if (process.env.SHOAL_BENCH_KEEP === '1' || benchFailed()) note(`kept ${dir} (logs, databases)`)
    else rmSync(dir, { recursive: true, force: true })
  })
  return dir
}

/** A port the kernel says is free on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
  })
}

/** True once something accepts TCP connections on 127.0.0.1:port. */
export function portOpen(port) {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port })
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}

async function waitPort(handle, port, timeoutMs = 20_000) {
  await waitFor(
    async () => {
      if (handle.exited) throw new Error(`${handle.name} exited (${JSON.stringify(handle.exited)}); see ${handle.logFile}`)
      return portOpen(port)
    },
    { what: `${handle.name} to listen on 127.0.0.1:${port}`, timeoutMs },
  )
}

/** Mosquitto 2 on loopback, anonymous, no persistence. */
export async function startMosquitto(dir) {
  const port = await freePort()
  mkdirSync(dir, { recursive: true })
  const conf = path.join(dir, 'mosquitto.conf')
  // As root, mosquitto would switch to its own user; stay root so it can read our temp dir.
  writeFileSync(conf, `user root\npersistence false\nallow_anonymous true\nlistener ${port} 127.0.0.1\n`)
  const handle = startProcess('mosquitto', 'mosquitto', ['-c', conf], { logFile: path.join(dir, 'mosquitto.log') })
  await waitPort(handle, port)
  return { handle, port, url: `mqtt://127.0.0.1:${port}` }
}

/**
 * `shoal hub serve` with its embedded broker (or, with `hubArgs` such as `--mqtt-url`, another
 * one: see broker-hubs.mjs); resolves once /healthz answers. Given the ports of a hub that ran
 * in `dir` before, it is that hub started again (its nodes dial the broker URL they were given).
 */
export async function startHub(dir, { logLevel = 'warn', nodeArgs = [], hubArgs = [], apiPort: givenApiPort, mqttPort: givenMqttPort } = {}) {
  const apiPort = givenApiPort ?? (await freePort())
  const mqttPort = givenMqttPort ?? (await freePort())
  const dataDir = path.join(dir, 'hub')
  mkdirSync(dir, { recursive: true })
  const handle = startProcess(
    'hub',
    process.execPath,
    [
      ...nodeArgs,
      CLI,
      'hub',
      'serve',
      '--data-dir',
      dataDir,
      '--listen',
      `127.0.0.1:${apiPort}`,
      '--mqtt-listen',
      `127.0.0.1:${mqttPort}`,
      '--log-level',
      logLevel,
      ...hubArgs,
    ],
    {
      logFile: path.join(dir, 'hub.log'),
    },
  )
  const apiUrl = `http://127.0.0.1:${apiPort}`
  await waitFor(
    async () => {
      if (handle.exited) throw new Error(`hub exited (${JSON.stringify(handle.exited)}); see ${handle.logFile}`)
      try {
        return (await fetch(`${apiUrl}/healthz`)).ok
      } catch {
        return false
      }
    },
    { what: 'the hub to answer /healthz', timeoutMs: 30_000 },
  )
  const adminToken = readFileSync(path.join(dataDir, 'admin-token'), 'utf8').trim()
  const api = async (method, route, body, contentType = 'application/json', attempt = 1) => {
    const response = await fetch(`${apiUrl}${route}`, {
      method,
      headers: { authorization: `Bearer ${adminToken}`, ...(body !== undefined ? { 'content-type': contentType } : {}) },
      ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    }).catch((error) => {
      const code = error.cause?.code
      // On a saturated machine the client can reuse a keep-alive socket the hub has just
      // closed; a GET is safe to send again.
      if (method === 'GET' && attempt < 3 && (code === 'UND_ERR_SOCKET' || code === 'ECONNRESET')) return null
      // fetch's own message is only "fetch failed"; the reason is in its cause.
      throw new Error(`${method} ${route}: ${error.message} (${code ?? error.cause?.message ?? 'no cause'})`)
    })
    if (response === null) return api(method, route, body, contentType, attempt + 1)
    const text = await response.text()
    if (!response.ok) throw new Error(`${method} ${route}: HTTP ${response.status}: ${text.slice(0, 500)}`)
    return response.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text
  }
  return { handle, apiUrl, apiPort, mqttPort, dataDir, adminToken, api }
}

/** Counters from the hub's Prometheus text, as `name{labels}` → value. */
export function parseMetrics(text) {
  const values = new Map()
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue
    const space = line.lastIndexOf(' ')
    values.set(line.slice(0, space), Number(line.slice(space + 1)))
  }
  return values
}

/**
 * `shoal agent run` as its own process, the way it runs on a device. Its log goes through the
 * benchmark into `<dataDir>.log`, so the agent's own disk writes are its store alone.
 */
export function startAgentProcess({
  dataDir,
  name,
  hub,
  token,
  hubKey,
  staticDir,
  labels,
  containerLabels,
  profile,
  logLevel = 'info',
  resyncIntervalMs = 30_000,
  nodeFlags = [],
  nodeBinary = process.execPath,
}) {
  const args = [...nodeFlags, CLI, 'agent', 'run', '--data-dir', dataDir, '--log-level', logLevel, '--resync-interval', String(resyncIntervalMs)]
  if (name) args.push('--name', name)
  if (hub) args.push('--hub', hub)
  if (token) args.push('--token', token)
  if (hubKey) args.push('--hub-key', hubKey)
  if (staticDir) args.push('--static-dir', staticDir)
  if (labels) args.push('--labels', labels)
  if (containerLabels) args.push('--container-labels', containerLabels)
  if (profile) args.push('--profile', profile)
  return startProcess(`agent ${name ?? dataDir}`, nodeBinary, args, { logFile: `${dataDir}.log` })
}

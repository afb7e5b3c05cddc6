// A real hub process (`shoal hub serve`) on an external broker whose users and rights it
// generates (--broker-auth-dir), with real agents enrolled through its API: what the
// Mosquitto and NATS transport tests share. Processes are ended by PID and containers by
// label when the test ends, pass or fail.
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'
import { CLI, startAgentProcess, type AgentProcess, type AgentTestLike } from './agent-process.js'
import { startNats } from './brokers.js'
import type { ServiceHandle } from './process.js'
import { waitFor } from './wait.js'

const execFileAsync = promisify(execFile)

/** `shoal hub broker-config`: the broker's files before its first start (and the hub's broker password). */
export async function writeBrokerConfig(dataDir: string, kind: 'mosquitto' | 'nats', out: string): Promise<string> {
  const { stdout } = await execFileAsync(process.execPath, [CLI, 'hub', 'broker-config', '--data-dir', dataDir, '--kind', kind, '--out', out], {
    timeout: 30_000,
  })
  return stdout
}

export interface HubProcess {
  readonly apiUrl: string
  readonly adminToken: string
  readonly pid: number | undefined
  readonly logFile: string
  log(): string
  /** Authenticated JSON call to the hub API; throws on a non-2xx answer. */
  api<T = unknown>(method: string, route: string, body?: unknown, contentType?: string): Promise<T>
  stop(): Promise<void>
}

/** Starts `shoal hub serve` with these extra arguments; resolves once its API answers. */
/**
 * nats-server configured as docs/brokers.md says (JetStream in the file, the generated include,
 * a pid file for reloads) and a hub on it under `dir`: the NATS setup the fleet tests share.
 */
export async function startNatsWithHub(
  t: AgentTestLike & Parameters<typeof startNats>[0],
  dir: string,
): Promise<{ dataDir: string; broker: ServiceHandle; hub: HubProcess }> {
  const dataDir = path.join(dir, 'hub')
  const authDir = path.join(dir, 'broker-auth')
  await writeBrokerConfig(dataDir, 'nats', authDir)
  const conf = path.join(dir, 'nats-server.conf')
  const pidFile = path.join(dir, 'nats-server.pid')
  writeFileSync(conf, `jetstream { store_dir: "${path.join(dir, 'jetstream')}" }\npid_file: "${pidFile}"\ninclude "broker-auth/nats-authorization.conf"\n`)
  const broker = await startNats(t, { jetstream: false, args: ['-c', conf] })
  const hub = await startHubProcess(t, { dataDir, args: ['--nats-url', broker.url, '--broker-auth-dir', authDir, '--broker-reload-pid', pidFile] })
  return { dataDir, broker, hub }
}

export async function startHubProcess(t: AgentTestLike, options: { dataDir: string; args: readonly string[] }): Promise<HubProcess> {
  const logFile = path.join(path.dirname(path.resolve(options.dataDir)), 'hub.log')
  const fd = openSync(logFile, 'a')
  let child: ChildProcess
  try {
    child = spawn(process.execPath, [CLI, 'hub', 'serve', '--data-dir', options.dataDir, '--listen', '127.0.0.1:0', '--log-level', 'debug', ...options.args], {
      stdio: ['ignore', fd, fd],
    })
  } finally {
    closeSync(fd)
  }
  let exited = false
  child.once('exit', () => (exited = true))
  child.on('error', () => undefined)
  const log = (): string => {
    try {
      return readFileSync(logFile, 'utf8')
    } catch {
      return ''
    }
  }
  const stop = async (): Promise<void> => {
    if (exited || !child.pid) return
    const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()))
    process.kill(child.pid, 'SIGTERM')
    const timer = setTimeout(() => {
      if (!exited && child.pid) process.kill(child.pid, 'SIGKILL')
    }, 10_000)
    await gone
    clearTimeout(timer)
  }
  t.teardown(async () => {
    await stop()
    if (t.passing && !t.passing()) t.comment?.(`hub log (${logFile}), last lines:\n${log().split('\n').slice(-80).join('\n')}`)
  })
  const started = await waitFor(() => (exited ? 'exited' : /^hub API:\s+(http:\/\/\S+)$/m.exec(log())?.[1]), {
    what: 'the hub to print its API address',
    timeoutMs: 45_000,
    intervalMs: 100,
  })
  if (started === 'exited') throw new Error(`the hub exited during start-up:\n${log().slice(-3000)}`)
  const apiUrl = started
  const adminToken = readFileSync(path.join(options.dataDir, 'admin-token'), 'utf8').trim()
  const api = async <T>(method: string, route: string, body?: unknown, contentType = 'application/json'): Promise<T> => {
    const response = await fetch(new URL(route, apiUrl), {
      method,
      headers: { authorization: `Bearer ${adminToken}`, ...(body !== undefined ? { 'content-type': contentType } : {}) },
      ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(30_000),
    })
    const text = await response.text()
    if (!response.ok) throw new Error(`${method} ${route} → ${response.status}: ${text.slice(0, 1000)}`)
    return (text ? JSON.parse(text) : null) as T
  }
  return {
    apiUrl,
    adminToken,
    get pid() {
      return exited ? undefined : child.pid
    },
    logFile,
    log,
    api,
    stop,
  }
}

/** Credentials an agent got at enrollment (its identity file, as on a device). */
export function agentCredentials(agent: AgentProcess): { nodeId: string; username: string; password: string; brokerUrl: string } {
  const identity = JSON.parse(readFileSync(path.join(agent.dataDir, 'identity.json'), 'utf8')) as {
    nodeId: string
    username: string | null
    password: string | null
    brokerUrl: string | null
  }
  if (!identity.username || !identity.password || !identity.brokerUrl) throw new Error(`agent ${agent.nodeId} has no broker credentials yet`)
  return { nodeId: identity.nodeId, username: identity.username, password: identity.password, brokerUrl: identity.brokerUrl }
}

/** Enrolls a real agent process with a join token through the hub's API. */
export async function enrollAgent(
  t: AgentTestLike,
  hub: HubProcess,
  options: { nodeId: string; dataDir: string; token: string; labels: Readonly<Record<string, string>>; extraArgs?: readonly string[] },
): Promise<AgentProcess> {
  const labels = Object.entries(options.labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',')
  mkdirSync(path.dirname(options.dataDir), { recursive: true }) // the agent's log goes beside its data dir
  const agent = await startAgentProcess(t, {
    nodeId: options.nodeId,
    dataDir: options.dataDir,
    hubUrl: hub.apiUrl,
    logLevel: 'debug',
    extraArgs: ['--token', options.token, ...(labels ? ['--labels', labels] : []), ...(options.extraArgs ?? [])],
  })
  await waitFor(() => agent.logLines('enrolled with the hub').length > 0 || undefined, { what: `agent ${options.nodeId} to enroll`, timeoutMs: 30_000 })
  return agent
}

/** A container that stops at once on SIGTERM (busybox sh traps it), host network. */
export function sleeperManifest(name: string, image: string, spec: Readonly<Record<string, unknown>>): Record<string, unknown> {
  return {
    apiVersion: 'shoal/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: {
      ...spec,
      template: { image, command: ['sh', '-c', "trap 'exit 0' TERM; sleep 3600 & wait"], network: 'host', restartPolicy: 'always' },
    },
  }
}

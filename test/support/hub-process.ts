// The built hub (`dist/cli/main.js hub serve`) as a separate, real process with its
// embedded aedes broker, on ports chosen for the test and a data directory that outlives the
// process, so SIGKILL and restarts are real. Output goes to a log file, printed when the test
// fails. Teardown kills it by PID, pass or fail, and removes its directory.
//
// Also: agents enrolled with this hub (real `agent run --hub http://... --token ...`
// processes, through agent-process.ts), and small readers of the hub's API and metrics.
import { type ChildProcess } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import mqtt, { type MqttClient } from 'mqtt'
import { stringify as stringifyYaml } from 'yaml'
import { spawnCli } from './cli-process.js'
import { CLI, startAgentProcess, type AgentProcess, type AgentTestLike, type ExitInfo } from './agent-process.js'
import { dockerClient, removeContainersByLabel } from './docker.js'
import { freePort } from './ports.js'
import { waitFor } from './wait.js'

/** What the hub's API answered: status, parsed JSON (or the text), and the raw text. */
export interface ApiResponse<T> {
  readonly status: number
  readonly body: T
  readonly text: string
}

export interface ApiOptions {
  /** Bearer token; default the admin token, null for none. */
  readonly token?: string | null
  readonly contentType?: string
}

export interface JoinTokenOptions {
  readonly maxUses?: number
  readonly ttl?: string
  readonly labels?: Readonly<Record<string, string>>
}

/** GET /api/v1/events items, as the hub stores them. */
export interface HubEvent {
  readonly id: number
  readonly nodeId: string | null
  /** The agent's outbox seq; null for events the hub itself recorded. */
  readonly seq: number | null
  readonly type: string
  readonly severity: string
  readonly workload?: string
  readonly message: string
  readonly at: string
  readonly data?: Readonly<Record<string, string | number | boolean | null>> | null
}

export interface HubProcessOptions {
  readonly logLevel?: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace'
  readonly extraArgs?: readonly string[]
  /** The address the API and the embedded broker listen on (default 127.0.0.1). */
  readonly host?: string
}

export class HubProcess {
  private child: ChildProcess | null = null
  private exitInfo: ExitInfo | null = null
  private starts = 0
  private secrets: { adminToken: string; publicKey: string } | null = null
  readonly dataDir: string
  readonly logFile: string
  readonly apiUrl: string
  readonly brokerUrl: string

  constructor(
    readonly dir: string,
    readonly apiPort: number,
    readonly mqttPort: number,
    private readonly options: HubProcessOptions = {},
  ) {
    this.dataDir = path.join(dir, 'data')
    this.logFile = path.join(dir, 'hub.log')
    const host = options.host ?? '127.0.0.1'
    this.apiUrl = `http://${host}:${apiPort}`
    this.brokerUrl = `mqtt://${host}:${mqttPort}`
  }

  get pid(): number | undefined {
    return this.child?.pid
  }

  get alive(): boolean {
    return this.child !== null && this.exitInfo === null
  }

  get adminToken(): string {
    if (!this.secrets) throw new Error('the hub has not started yet')
    return this.secrets.adminToken
  }

  get publicKey(): string {
    if (!this.secrets) throw new Error('the hub has not started yet')
    return this.secrets.publicKey
  }

  args(): string[] {
    return [
      CLI,
      'hub',
      'serve',
      '--data-dir',
      this.dataDir,
      '--listen',
      `${this.options.host ?? '127.0.0.1'}:${this.apiPort}`,
      '--mqtt-listen',
      `${this.options.host ?? '127.0.0.1'}:${this.mqttPort}`,
      '--log-level',
      this.options.logLevel ?? 'info',
      ...(this.options.extraArgs ?? []),
    ]
  }

  /** Starts the process on the same ports and data directory; resolves once /healthz answers. */
  async start(): Promise<void> {
    if (this.alive) throw new Error(`the hub is already running (pid ${this.pid})`)
    this.starts++
    const child = spawnCli(this.logFile, this.args(), this.starts)
    this.child = child
    this.exitInfo = null
    child.once('exit', (code, signal) => {
      if (this.child === child) this.exitInfo = { code, signal }
    })
    // Fail at once if it cannot spawn or dies while we wait, not at the timeout.
    const died = new Promise<never>((_, reject) => {
      child.once('error', reject)
      child.once('exit', (code, signal) => reject(new Error(`hub exited during start-up (${JSON.stringify({ code, signal })})`)))
    })
    died.catch(() => undefined)
    const stopPolling = new AbortController()
    const mark = `--- start #${this.starts}:`
    const healthy = waitFor(
      async () => {
        // This process said so (not some other one on the port), and its API answers.
        const log = this.log()
        if (!log.slice(log.indexOf(mark)).includes('"msg":"hub running"')) return false
        const response = await fetch(`${this.apiUrl}/healthz`, { signal: AbortSignal.timeout(2_000) })
        return response.ok
      },
      { what: `the hub to answer ${this.apiUrl}/healthz`, timeoutMs: 30_000, intervalMs: 50, signal: stopPolling.signal },
    )
    healthy.catch(() => undefined)
    try {
      await Promise.race([healthy, died])
    } catch (error) {
      if (this.alive && child.pid) process.kill(child.pid, 'SIGKILL')
      throw new Error(`${(error as Error).message}\n--- hub log ---\n${this.tail(40)}`)
    } finally {
      stopPolling.abort()
    }
    this.secrets = {
      adminToken: readFileSync(path.join(this.dataDir, 'admin-token'), 'utf8').trim(),
      publicKey: readFileSync(path.join(this.dataDir, 'hub-public-key.txt'), 'utf8').trim(),
    }
  }

  /** Sends a signal by PID (default SIGKILL: a crash) and waits for the exit. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<ExitInfo> {
    const child = this.child
    if (!child?.pid || !this.alive) return this.exitInfo ?? { code: null, signal: null }
    const exited = new Promise<ExitInfo>((resolve) => child.once('exit', (code, sig) => resolve({ code, signal: sig })))
    process.kill(child.pid, signal)
    const info = await Promise.race([exited, new Promise<null>((resolve) => setTimeout(() => resolve(null), 15_000).unref())])
    if (info) return info
    process.kill(child.pid, 'SIGKILL')
    await exited
    throw new Error(`the hub (pid ${child.pid}) did not exit within 15 s of ${signal}; killed it`)
  }

  /** Kills (default SIGKILL) and starts again on the same ports and data directory. */
  async restart(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    await this.kill(signal)
    await this.start()
  }

  /** One API call; a string body goes as YAML, anything else as JSON. Never throws on an HTTP status. */
  async api<T = any>(method: string, urlPath: string, body?: unknown, options: ApiOptions = {}): Promise<ApiResponse<T>> {
    const token = options.token === undefined ? this.adminToken : options.token
    const headers: Record<string, string> = {}
    if (token !== null) headers.authorization = `Bearer ${token}`
    let payload: string | undefined
    if (body !== undefined) {
      payload = typeof body === 'string' ? body : JSON.stringify(body)
      headers['content-type'] = options.contentType ?? (typeof body === 'string' ? 'application/yaml' : 'application/json')
    }
    const response = await fetch(`${this.apiUrl}${urlPath}`, {
      method,
      headers,
      ...(payload !== undefined ? { body: payload } : {}),
      signal: AbortSignal.timeout(30_000),
    })
    const text = await response.text()
    let parsed: unknown = text
    try {
      parsed = JSON.parse(text)
    } catch {
      // text (metrics) stays text
    }
    return { status: response.status, body: parsed as T, text }
  }

  /** An API call that must succeed (2xx); resolves to the body. */
  async ok<T = any>(method: string, urlPath: string, body?: unknown): Promise<T> {
    const response = await this.api<T>(method, urlPath, body)
    if (response.status < 200 || response.status > 299) throw new Error(`${method} ${urlPath} answered ${response.status}: ${response.text.slice(0, 2000)}`)
    return response.body
  }

  async createJoinToken(options: JoinTokenOptions = {}): Promise<string> {
    const created = await this.ok<{ token: string }>('POST', '/api/v1/tokens', { ...options })
    return created.token
  }

  /** Applies YAML manifests; resolves to the API's results. */
  async apply(yaml: string): Promise<any> {
    return this.ok('POST', '/api/v1/manifests', yaml)
  }

  deployment(name: string): Promise<any> {
    return this.ok('GET', `/api/v1/deployments/${encodeURIComponent(name)}`)
  }

  node(id: string): Promise<any> {
    return this.ok('GET', `/api/v1/nodes/${encodeURIComponent(id)}`)
  }

  async nodes(): Promise<any[]> {
    return (await this.ok<{ items: any[] }>('GET', '/api/v1/nodes')).items
  }

  /** Every stored event (optionally of one node), oldest first, paging through `since`. */
  async events(nodeId?: string): Promise<HubEvent[]> {
    const all: HubEvent[] = []
    let since = 0
    for (;;) {
      const query = new URLSearchParams({ since: String(since), limit: '1000', ...(nodeId ? { node: nodeId } : {}) })
      const page = (await this.ok<{ items: HubEvent[] }>('GET', `/api/v1/events?${query.toString()}`)).items
      all.push(...page)
      const last = page.at(-1)
      if (page.length < 1000 || !last) return all
      since = last.id
    }
  }

  /** The Prometheus text of /metrics. */
  async metricsText(): Promise<string> {
    const response = await this.api<string>('GET', '/metrics', undefined, { token: null })
    if (response.status !== 200) throw new Error(`/metrics answered ${response.status}`)
    return response.text
  }

  /** One sample of /metrics, e.g. metric('shoal_messages_rejected_total', { channel: 'outbox', reason: 'oversize' }); 0 when absent. */
  async metric(name: string, labels: Readonly<Record<string, string>> = {}): Promise<number> {
    return metricValue(await this.metricsText(), name, labels)
  }

  log(): string {
    try {
      return readFileSync(this.logFile, 'utf8')
    } catch {
      return ''
    }
  }

  /** Parsed pino lines of the whole log whose msg matches. */
  logLines(msg: string | RegExp): Array<Record<string, unknown>> {
    const out: Array<Record<string, unknown>> = []
    for (const line of this.log().split('\n')) {
      if (!line.startsWith('{')) continue
      try {
        const entry = JSON.parse(line) as Record<string, unknown>
        const text = String(entry.msg ?? '')
        if (typeof msg === 'string' ? text === msg : msg.test(text)) out.push(entry)
      } catch {
        // a line cut by a kill
      }
    }
    return out
  }

  tail(lines = 60): string {
    return this.log().split('\n').slice(-lines).join('\n')
  }
}

/** The value of one sample in Prometheus text; labels must match exactly (any order); 0 when absent. */
export function metricValue(text: string, name: string, labels: Readonly<Record<string, string>> = {}): number {
  const wanted = Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .sort()
    .join(',')
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (!match || match[1] !== name) continue
    const have = (match[2] ?? '')
      .split(/,(?=[a-zA-Z_]+=")/)
      .filter(Boolean)
      .sort()
      .join(',')
    if (have === wanted) return Number(match[3])
  }
  return 0
}

/**
 * Starts a hub for a test on two free loopback ports, in a fresh directory. Teardown, pass or
 * fail: SIGKILL by PID if it still runs, print its log on failure, remove the directory.
 */
export async function startHubProcess(t: AgentTestLike, options: HubProcessOptions = {}): Promise<HubProcess> {
  const base = process.env.SHOAL_TMP || os.tmpdir()
  mkdirSync(base, { recursive: true })
  const dir = mkdtempSync(path.join(base, 'hub-'))
  const hub = new HubProcess(dir, await freePort(), await freePort(), options)
  t.teardown(async () => {
    if (hub.alive) await hub.kill('SIGKILL').catch(() => undefined)
    if (t.passing && !t.passing()) t.comment?.(`hub log (${hub.logFile}), last lines:\n${hub.tail(150)}`)
    const keep = process.env.SHOAL_KEEP_AGENT_LOGS
    if (keep) {
      try {
        writeFileSync(path.join(keep, `hub-${hub.apiPort}.log`), hub.log())
      } catch {
        // best effort
      }
    }
    rmSync(dir, { recursive: true, force: true })
  })
  await hub.start()
  return hub
}

export interface HubAgentOptions {
  /** The node name it enrolls with (becomes its node id when free). */
  readonly name: string
  readonly labels?: Readonly<Record<string, string>>
  readonly profile?: string
  /** A join token; default a fresh single-use one. */
  readonly token?: string
  readonly resyncIntervalMs?: number
  readonly logLevel?: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace'
  /** Where its data directory goes (a subdirectory per agent); default a fresh temp dir. */
  readonly dir?: string
  /** A network namespace (made by the test) to run the agent in; the hub must listen on an address it reaches. */
  readonly netns?: string
  /** More `shoal agent run` flags (node policy, device patterns). */
  readonly extraArgs?: readonly string[]
  /** How long to wait for the agent to enroll and run (default 30 s). */
  readonly startTimeoutMs?: number
}

/**
 * A real agent process that enrolls with the hub over HTTP with a join token and then talks to
 * its embedded broker. Teardown (from agent-process.ts): SIGKILL by PID, remove its containers.
 */
export async function startHubAgent(t: AgentTestLike, hub: HubProcess, options: HubAgentOptions): Promise<AgentProcess> {
  const token = options.token ?? (await hub.createJoinToken({ maxUses: 1, ttl: '10m' }))
  const base = options.dir ?? process.env.SHOAL_TMP ?? os.tmpdir()
  const dir = mkdtempSync(path.join(base, `agent-${options.name}-`))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const dataDir = path.join(dir, 'data')
  // The hub may give the node another id than its name (a name already taken): its containers
  // carry that id. Registered before the agent's own teardown, so it runs after the agent is dead.
  t.teardown(async () => {
    const id = readIdentityFile(dataDir)
    if (id && id.nodeId !== options.name) await removeContainersByLabel(`io.shoal.node=${id.nodeId}`)
  })
  const extraArgs = ['--token', token]
  const labels = Object.entries(options.labels ?? {})
  if (labels.length > 0) extraArgs.push('--labels', labels.map(([k, v]) => `${k}=${v}`).join(','))
  if (options.profile) extraArgs.push('--profile', options.profile)
  extraArgs.push(...(options.extraArgs ?? []))
  return startAgentProcess(t, {
    nodeId: options.name,
    dataDir,
    hubUrl: hub.apiUrl,
    resyncIntervalMs: options.resyncIntervalMs ?? 2_000,
    logLevel: options.logLevel ?? 'debug',
    extraArgs,
    ...(options.netns ? { netns: options.netns } : {}),
    ...(options.startTimeoutMs ? { startTimeoutMs: options.startTimeoutMs } : {}),
  })
}

/** The broker identity an enrolled agent keeps in its data directory (identity.json). */
export interface AgentIdentity {
  readonly nodeId: string
  readonly hubPublicKey: string
  readonly brokerUrl: string
  readonly username: string
  readonly password: string
  readonly enrolledAt: string
}

export function readAgentIdentity(agent: AgentProcess): AgentIdentity {
  return JSON.parse(readFileSync(path.join(agent.dataDir, 'identity.json'), 'utf8')) as AgentIdentity
}

function readIdentityFile(dataDir: string): AgentIdentity | null {
  try {
    return JSON.parse(readFileSync(path.join(dataDir, 'identity.json'), 'utf8')) as AgentIdentity
  } catch {
    return null
  }
}

// ---- Manifests the hub tests share ----

/** A Deployment manifest as YAML, for POST /api/v1/manifests. */
export function deploymentYaml(name: string, spec: Readonly<Record<string, unknown>>, labels?: Readonly<Record<string, string>>): string {
  return stringifyYaml({ apiVersion: 'shoal/v1', kind: 'Deployment', metadata: { name, ...(labels ? { labels } : {}) }, spec })
}

/** Several manifests as one multi-document YAML body. */
export function manifestsYaml(...documents: readonly string[]): string {
  return documents.map((d) => d.trimEnd()).join('\n---\n') + '\n'
}

/**
 * A sleeper on every node labelled fleet=<fleet>, replaced all at once (maxUnavailable 100%, no
 * minReadySeconds); `round` goes into its env, so each round is a new revision.
 */
export function everyNodeSleeperYaml(name: string, fleet: string, image: string, round: number): string {
  return deploymentYaml(name, {
    mode: 'every-node',
    selector: { matchLabels: { fleet } },
    strategy: { maxUnavailable: '100%', minReadySeconds: 0 },
    template: sleepTemplate(image, { env: { ROUND: String(round) } }),
  })
}

/** A container that sleeps (and stops at once on SIGTERM). */
export function sleepTemplate(image: string, extra: Readonly<Record<string, unknown>> = {}): Record<string, unknown> {
  return { image, command: ['sh', '-c', "trap 'exit 0' TERM; sleep 3600 & wait"], restartPolicy: 'always', network: 'host', ...extra }
}

/** A busybox web server on 127.0.0.1:port (host network) serving `text`. */
export function httpdTemplate(image: string, port: number, text: string): Record<string, unknown> {
  return {
    image,
    command: ['sh', '-c', `mkdir -p /www && echo ${text} > /www/index.html && trap 'exit 0' TERM; httpd -f -p 127.0.0.1:${port} -h /www & wait`],
    restartPolicy: 'always',
    network: 'host',
  }
}

/** Containers of one deployment on these nodes, running or not, straight from the engine. */
export async function deploymentContainers(deployment: string, nodeIds: readonly string[]): Promise<Array<{ id: string; node: string; state: string }>> {
  const found = await dockerClient().listContainers({ all: true, filters: { label: [`io.shoal.deployment=${deployment}`] } })
  return found
    .map((c) => ({ id: c.Id, node: c.Labels['io.shoal.node'] ?? '', state: c.State }))
    .filter((c) => nodeIds.includes(c.node))
    .sort((a, b) => a.node.localeCompare(b.node))
}

// ---- A raw MQTT client, to act as (or against) a node on the embedded broker ----

export interface RawMqttOptions {
  readonly clientId: string
  readonly username?: string
  readonly password?: string
}

/** A received message, in arrival order. */
export interface RawMessage {
  readonly topic: string
  readonly payload: Buffer
  readonly retain: boolean
}

export interface RawMqttClient {
  readonly client: MqttClient
  readonly messages: RawMessage[]
  /** Resolves when the broker (or anyone) closes the connection. */
  readonly closed: Promise<void>
  end(): Promise<void>
}

/**
 * Connects an MQTT 3.1.1 client that never reconnects; resolves once the broker accepts it,
 * rejects with the broker's refusal (mqtt.js' error, `code` = CONNACK return code). Ended at
 * teardown.
 */
export async function connectRawMqtt(t: AgentTestLike, url: string, options: RawMqttOptions): Promise<RawMqttClient> {
  const client = mqtt.connect(url, {
    clientId: options.clientId,
    ...(options.username !== undefined ? { username: options.username } : {}),
    ...(options.password !== undefined ? { password: options.password } : {}),
    protocolVersion: 4,
    clean: true,
    reconnectPeriod: 0,
    connectTimeout: 10_000,
  })
  t.teardown(() => new Promise<void>((resolve) => client.end(true, {}, () => resolve())))
  const messages: RawMessage[] = []
  client.on('message', (topic, payload, packet) => messages.push({ topic, payload, retain: packet.retain }))
  const closed = new Promise<void>((resolve) => client.once('close', () => resolve()))
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no CONNACK from ${url} within 15 s`)), 15_000)
    client.once('connect', () => {
      clearTimeout(timer)
      resolve()
    })
    client.once('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
    client.once('close', () => {
      clearTimeout(timer)
      reject(new Error('the broker closed the connection before CONNACK'))
    })
  })
  client.on('error', () => undefined) // later errors show as `closed`
  return { client, messages, closed, end: () => new Promise<void>((resolve) => client.end(false, {}, () => resolve())) }
}

/**
 * Subscribes and resolves to the granted QoS per topic, from the SUBACK itself (128 = refused;
 * mqtt.js 5 reports any refusal as an error, with the SUBACK packet beside it).
 */
export function subscribeRaw(raw: RawMqttClient, topics: readonly string[]): Promise<Array<{ topic: string; qos: number }>> {
  return new Promise((resolve, reject) =>
    raw.client.subscribe([...topics], { qos: 1 }, (error, _subs, packet) => {
      const granted = (packet as { granted?: number[] } | undefined)?.granted
      if (!granted || granted.length !== topics.length) {
        reject(error ?? new Error(`SUBACK without one code per topic: ${JSON.stringify(packet)}`))
        return
      }
      resolve(topics.map((topic, i) => ({ topic, qos: granted[i] ?? -1 })))
    }),
  )
}

/** Publishes (QoS 1 unless told) and resolves on PUBACK, or when the connection closes instead. */
export function publishRaw(
  raw: RawMqttClient,
  topic: string,
  payload: Buffer | string,
  options: { qos?: 0 | 1; retain?: boolean } = {},
): Promise<'acked' | 'closed'> {
  return Promise.race([
    new Promise<'acked' | 'closed'>((resolve, reject) =>
      raw.client.publish(topic, payload, { qos: options.qos ?? 1, retain: options.retain ?? false }, (error) =>
        !error ? resolve('acked') : raw.client.connected ? reject(error) : resolve('closed'),
      ),
    ),
    raw.closed.then(() => 'closed' as const),
  ])
}

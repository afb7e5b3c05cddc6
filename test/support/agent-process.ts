// The built agent (`dist/cli/main.js agent run`) as a separate, real process: the way it
// runs on a device, so SIGKILL, restarts and a data directory that outlives the process are
// real. Output goes to a log file in the test's temp dir, printed when the test fails.
// Every container the agent creates carries this run's io.shoal.test-run label, and all of
// the node's containers are removed when the test ends (after the agent is killed, so it
// cannot recreate them), pass or fail.
import { execFile, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { copyFileSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'
import { CLI, ROOT, spawnCli } from './cli-process.js'
import { dockerClient, removeContainersByLabel } from './docker.js'
import { TEST_RUN_LABEL, testRunId } from './env.js'
import type { WorkloadInput } from './hub-double.js'
import type { TestLike } from './types.js'
import { waitFor } from './wait.js'
import type { AgentMemoryReading } from '../../agent/memory/agent-process-file.js'

const execFileAsync = promisify(execFile)

/** The repository root, from this file's place in test/support. */
export { CLI }

/** A tap test, or anything that can register cleanup (and, when it can, report failure). */
export interface AgentTestLike extends TestLike {
  passing?(): boolean
  comment?(...args: unknown[]): void
}

export interface AgentProcessOptions {
  readonly nodeId: string
  readonly dataDir: string
  /** Broker URL (mqtt://, nats://); null runs the agent with no hub at all. */
  readonly hubUrl: string | null
  /** Base64 SPKI hub key to pin. */
  readonly hubKey?: string
  readonly resyncIntervalMs?: number
  readonly logLevel?: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace'
  readonly extraArgs?: readonly string[]
  /** Extra environment for this process only (e.g. libfaketime, to put its clock in the past). */
  readonly env?: Readonly<Record<string, string>>
  /** A network namespace (made by the test) to run the agent in. */
  readonly netns?: string
  /** Flags for node itself, before the CLI (e.g. the lean V8 flags of docs/agent.md, "Memory"). */
  readonly nodeFlags?: readonly string[]
  /** How long start() waits for "agent running" (default 30 s; longer for an enrollment told to wait). */
  readonly startTimeoutMs?: number
}

/** What `shoal agent status -o json` prints. */
export interface AgentStatusReport {
  readonly nodeId: string | null
  readonly hubKeyPinned: boolean
  readonly generation: number | null
  readonly workloads: ReadonlyArray<{
    readonly name: string
    readonly state: string
    readonly health: string
    readonly restarts: number
    readonly exitCode: number | null
    readonly containerId: string | null
    readonly lastError: string | null
  }>
  readonly outbox: { readonly records: number; readonly bytes: number; readonly droppedEvents: number }
  /** The running agent's memory from /proc (null when no agent process runs on the directory). */
  readonly memory: AgentMemoryReading | null
  /** The static directory's cron jobs, as the runner last left them. */
  readonly cronJobs: ReadonlyArray<{
    readonly cronJob: string
    readonly handledThrough: string
    readonly nextFireAt: string | null
    readonly activeRuns: number
    readonly lastRun: { readonly workload: string; readonly outcome: string; readonly exitCode: number | null; readonly reason: string | null } | null
  }>
}

export interface ExitInfo {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
}

/** A unique node id for one test: `t-<word>-<random>`, valid in topics, subjects and container names. */
export function uniqueNodeId(word = 'a'): string {
  return `t-${word}-${randomBytes(4).toString('hex')}`
}

export class AgentProcess {
  private child: ChildProcess | null = null
  private exitInfo: ExitInfo | null = null
  private starts = 0
  private current: AgentProcessOptions
  /** Beside the data directory (so make that a subdirectory of the test's temp dir). */
  readonly logFile: string

  constructor(options: AgentProcessOptions) {
    this.current = options
    this.logFile = path.join(path.dirname(path.resolve(options.dataDir)), `agent-${options.nodeId}.log`)
  }

  get options(): AgentProcessOptions {
    return this.current
  }

  get nodeId(): string {
    return this.options.nodeId
  }

  get dataDir(): string {
    return this.options.dataDir
  }

  get pid(): number | undefined {
    return this.child?.pid
  }

  get alive(): boolean {
    return this.child !== null && this.exitInfo === null
  }

  /** How the last process ended (null while it runs, or before any has ended). */
  get exited(): ExitInfo | null {
    return this.exitInfo
  }

  /** The arguments of `agent run`, with this run's container label always added. */
  args(): string[] {
    const o = this.options
    const args = [...(o.nodeFlags ?? []), CLI, 'agent', 'run', '--data-dir', o.dataDir, '--name', o.nodeId]
    if (o.hubUrl !== null) args.push('--hub', o.hubUrl)
    if (o.hubKey) args.push('--hub-key', o.hubKey)
    args.push('--container-labels', `${TEST_RUN_LABEL}=${testRunId()}`)
    args.push('--resync-interval', String(o.resyncIntervalMs ?? 2_000))
    args.push('--log-level', o.logLevel ?? 'debug')
    args.push(...(o.extraArgs ?? []))
    return args
  }

  /** Starts a process (again, after a stop or kill) on the same data directory; resolves once it runs. */
  async start(overrides: Partial<Pick<AgentProcessOptions, 'hubUrl' | 'hubKey' | 'extraArgs' | 'env'>> = {}): Promise<void> {
    if (this.alive) throw new Error(`agent ${this.nodeId} is already running (pid ${this.pid})`)
    this.current = { ...this.current, ...overrides }
    this.starts++
    const child = spawnCli(this.logFile, this.args(), this.starts, this.current.env, this.current.netns)
    this.child = child
    this.exitInfo = null
    let spawnError: Error | undefined
    child.once('error', (error) => (spawnError = error))
    child.once('exit', (code, signal) => {
      if (this.child === child) this.exitInfo = { code, signal }
    })
    const mark = this.starts
    await waitFor(
      () => {
        if (spawnError) throw spawnError
        if (this.exitInfo) throw new Error(`agent exited during start-up (${JSON.stringify(this.exitInfo)}):\n${this.tail(40)}`)
        return this.logSince(mark).includes('"msg":"agent running"')
      },
      { what: `agent ${this.nodeId} to say it is running`, timeoutMs: this.current.startTimeoutMs ?? 30_000, intervalMs: 50 },
    )
  }

  /** Sends a signal by PID (default SIGKILL: a crash, or power loss for the process) and waits for the exit. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<ExitInfo> {
    const child = this.child
    if (!child?.pid || !this.alive) return this.exitInfo ?? { code: null, signal: null }
    const exited = new Promise<ExitInfo>((resolve) => child.once('exit', (code, sig) => resolve({ code, signal: sig })))
    process.kill(child.pid, signal)
    const info = await Promise.race([exited, new Promise<null>((resolve) => setTimeout(() => resolve(null), 15_000).unref())])
    if (info) return info
    process.kill(child.pid, 'SIGKILL')
    await exited
    throw new Error(`agent ${this.nodeId} (pid ${child.pid}) did not exit within 15 s of ${signal}; killed it`)
  }

  /** Graceful stop (SIGTERM), as systemd does; resolves with how it exited. */
  stop(): Promise<ExitInfo> {
    return this.kill('SIGTERM')
  }

  /** `shoal agent status -o json` on this data directory: the local store alone. */
  async status(): Promise<AgentStatusReport> {
    const { stdout } = await execFileAsync(process.execPath, [CLI, 'agent', 'status', '--data-dir', this.dataDir, '-o', 'json'], { cwd: ROOT, timeout: 20_000 })
    return JSON.parse(stdout) as AgentStatusReport
  }

  /** `shoal agent status` as an operator reads it (the table form). */
  async statusText(): Promise<string> {
    const { stdout } = await execFileAsync(process.execPath, [CLI, 'agent', 'status', '--data-dir', this.dataDir], { cwd: ROOT, timeout: 20_000 })
    return stdout
  }

  log(): string {
    try {
      return readFileSync(this.logFile, 'utf8')
    } catch {
      return ''
    }
  }

  /** The log written by the n-th start (1-based) and later. */
  logSince(start: number): string {
    const text = this.log()
    const at = text.indexOf(`--- start #${start}:`)
    return at === -1 ? '' : text.slice(at)
  }

  /** Log lines (parsed pino JSON) of the current start that match `msg`. */
  logLines(msg: string | RegExp, since = this.starts): Array<Record<string, unknown>> {
    const out: Array<Record<string, unknown>> = []
    for (const line of this.logSince(since).split('\n')) {
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

  /** Completed reconcile passes of the current process (from its debug log). */
  passCount(): number {
    return this.logLines('reconcile pass done').length
  }

  /** Waits until at least `count` more reconcile passes have completed than `from`. */
  async waitForPasses(from: number, count: number, timeoutMs = 30_000): Promise<void> {
    await waitFor(() => this.passCount() >= from + count, { what: `${count} reconcile passes of agent ${this.nodeId}`, timeoutMs, intervalMs: 50 })
  }

  tail(lines = 60): string {
    return this.log().split('\n').slice(-lines).join('\n')
  }
}

/**
 * Starts an agent process for a test. Teardown, pass or fail: SIGKILL it by PID if it still
 * runs, then remove every container labelled for its node; on failure, print its log.
 */
export async function startAgentProcess(t: AgentTestLike, options: AgentProcessOptions): Promise<AgentProcess> {
  const agent = new AgentProcess(options)
  t.teardown(async () => {
    if (agent.alive) await agent.kill('SIGKILL').catch(() => undefined)
    await removeContainersByLabel(`io.shoal.node=${options.nodeId}`)
    if (t.passing && !t.passing()) t.comment?.(`agent ${options.nodeId} log (${agent.logFile}), last lines:\n${agent.tail(120)}`)
    // For debugging a passing run too: SHOAL_KEEP_AGENT_LOGS=/some/dir keeps every agent's log.
    const keep = process.env.SHOAL_KEEP_AGENT_LOGS
    if (keep) copyFileSync(agent.logFile, path.join(keep, path.basename(agent.logFile)))
  })
  await agent.start()
  return agent
}

// ---- Workloads and containers the agent tests share ----

export interface HttpdOptions {
  readonly env?: Readonly<Record<string, string>>
  /**
   * true (default): a shell that exits on SIGTERM runs httpd, so `docker stop` is quick.
   * false: httpd is PID 1 and ignores SIGTERM, so stopping it waits for the agent's stop
   * timeout (slow recreates, to kill the agent in the middle of one).
   */
  readonly fastStop?: boolean
  readonly restartPolicy?: 'always' | 'on-failure' | 'never'
  readonly image?: string
  readonly revision?: number
}

/** A busybox web server on 127.0.0.1:port (host network) that serves `hello-<name>`. */
export function httpdWorkload(name: string, port: number, image: string, options: HttpdOptions = {}): WorkloadInput {
  const content = `echo hello-${name} > /www/index.html`
  const serve = `httpd -f -p 127.0.0.1:${port} -h /www`
  const script =
    options.fastStop === false ? `mkdir -p /www && ${content} && exec ${serve}` : `mkdir -p /www && ${content} && trap 'exit 0' TERM; ${serve} & wait`
  return {
    name,
    deployment: name,
    revision: options.revision ?? 1,
    template: {
      image: options.image ?? image,
      command: ['sh', '-c', script],
      ...(options.env ? { env: { ...options.env } } : {}),
      restartPolicy: options.restartPolicy ?? 'always',
      network: 'host',
    },
  }
}

/** GET http://127.0.0.1:port/ as text; throws when nothing answers. */
export async function fetchText(port: number): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(3_000) })
  if (!response.ok) throw new Error(`HTTP ${response.status} from 127.0.0.1:${port}`)
  return (await response.text()).trim()
}

export interface NodeContainer {
  readonly id: string
  readonly name: string
  readonly workload: string
  readonly configHash: string
  readonly state: string
  readonly labels: Readonly<Record<string, string>>
}

/** Every container labelled for the node, running or not, straight from the engine. */
export async function nodeContainers(nodeId: string): Promise<NodeContainer[]> {
  const found = await dockerClient().listContainers({ all: true, filters: { label: [`io.shoal.node=${nodeId}`] } })
  return found.map((c) => ({
    id: c.Id,
    name: (c.Names[0] ?? '').replace(/^\//, ''),
    workload: c.Labels['io.shoal.workload'] ?? '',
    configHash: c.Labels['io.shoal.config-hash'] ?? '',
    state: c.State,
    labels: c.Labels,
  }))
}

/** The node's containers by workload name; throws (so waitFor retries) if any workload has more than one. */
export async function containersByWorkload(nodeId: string): Promise<Map<string, NodeContainer>> {
  const map = new Map<string, NodeContainer>()
  for (const c of await nodeContainers(nodeId)) {
    if (map.has(c.workload)) throw new Error(`two containers for workload ${c.workload} of node ${nodeId}`)
    map.set(c.workload, c)
  }
  return map
}

/**
 * Waits until the node runs exactly the named workloads, one running container each, nothing
 * else; resolves to their containers.
 */
export async function waitForRunning(nodeId: string, workloads: readonly string[], timeoutMs = 60_000): Promise<Map<string, NodeContainer>> {
  let last = ''
  return waitFor(
    async () => {
      const all = await nodeContainers(nodeId)
      last = all.map((c) => `${c.workload}:${c.state}:${c.id.slice(0, 12)}`).join(', ') || 'none'
      if (all.length !== workloads.length) return undefined
      const map = new Map(all.map((c) => [c.workload, c]))
      if (map.size !== all.length) return undefined
      return workloads.every((w) => map.get(w)?.state === 'running') ? map : undefined
    },
    { what: `node ${nodeId} to run exactly [${workloads.join(', ')}] (containers: ${last})`, timeoutMs, intervalMs: 100 },
  ).catch((error: Error) => {
    throw new Error(`${error.message}; last seen: ${last}`)
  })
}

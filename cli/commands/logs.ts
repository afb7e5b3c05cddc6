import { Command, Option } from 'commander'
import { Duration, IsoTime, MAX_FOLLOW_SECONDS, Name, durationMs } from '../../protocol/index.js'
import { HubAuthError, HubRequestError, HubUnreachableError, describeFetchFailure, type ErrorDetail } from '../api-client.js'
import { addConnectionOptions, resolveConnection, type Connection, type ConnectionOptions } from '../contexts.js'
import { httpRequest, type HttpAnswer } from '../http-request.js'
import { CliError, ExitCode, type CliIo } from '../io.js'
import { interruptSignal } from '../watch.js'

interface LogsOptions extends ConnectionOptions {
  node?: string
  container?: string
  tail?: string
  since?: string
  follow?: boolean
  followFor: string
  timestamps?: boolean
  prefix?: boolean
  output: 'text' | 'json'
}

export interface LogsDeps {
  readonly env: NodeJS.ProcessEnv
  /** Ends the command early (a test's stand-in for Ctrl-C); default SIGINT/SIGTERM. */
  readonly signal?: AbortSignal
}

const defaultDeps: LogsDeps = { env: process.env }

/** How long the hub may take to answer at all (it answers once an agent does, or with an error). */
const ANSWER_TIMEOUT_MS = 30_000

/** What `shoal logs` reads: a deployment's copies, or a job's (`job/NAME`). */
export interface LogSubject {
  readonly kind: 'deployment' | 'job'
  readonly name: string
}

/** `NAME` or `deployment/NAME` is a deployment; `job/NAME` a job. */
export function logSubjectOf(text: string): LogSubject {
  const slash = text.indexOf('/')
  if (slash === -1) return { kind: 'deployment', name: text }
  const kind = text.slice(0, slash).toLowerCase()
  const name = text.slice(slash + 1)
  if ((kind === 'job' || kind === 'jobs') && name !== '') return { kind: 'job', name }
  if ((kind === 'deployment' || kind === 'deploy') && name !== '') return { kind: 'deployment', name }
  throw new CliError(`expected a deployment name, deployment/NAME or job/NAME, got ${JSON.stringify(text)}`, ExitCode.usage)
}

/** `shoal logs DEPLOYMENT` or `shoal logs job/NAME`: container logs, read from the nodes through the hub. */
export function logsCommand(io: CliIo, deps: LogsDeps = defaultDeps): Command {
  return addConnectionOptions(
    new Command('logs')
      .description("print a deployment's or a job's container logs, read on demand from the nodes it runs on")
      .argument('<name>', 'a deployment name (or deployment/NAME), or job/NAME')
      .option('--node <name>', 'only the workload on this node (default: every node, lines prefixed with the node)')
      .option('-c, --container <name>', 'a container of a several-container copy (default: its first, not counting init containers)')
      .option('--tail <n>', 'the last N lines (0–10000; default 1000 unless --since is given)')
      .option('--since <when>', 'lines since a duration ago (10m, 1h30m) or an RFC 3339 time (2025-03-01T12:00:00Z)')
      .option('-f, --follow', 'keep printing new lines until Ctrl-C or --follow-for runs out')
      .option('--follow-for <duration>', `stop following after this long (at most ${MAX_FOLLOW_SECONDS / 60}m)`, '10m')
      .option('--timestamps', 'show the time Docker recorded for each line')
      .option('--prefix', 'prefix every line with its node, even for one node')
      .addOption(new Option('-o, --output <format>', "text, or json: the hub's NDJSON records as they come").choices(['text', 'json']).default('text')),
  )
    .addHelpText(
      'after',
      `
The container's stdout goes to stdout and its stderr to stderr, as with docker logs.
A node that is offline is reported at once ("node pi-17 is offline since ..."); exit
code 1 when any node's log could not be read.

For a job, each line is prefixed with its node and copy ([pi-17 job-export-0-2]). A finished
copy's container is removed from its node, so its output is the last 20 lines its node
reported when it exited, kept on the hub; a running copy's is read from its node.

Examples:
  $ shoal logs ticker-ingest --tail 50
  $ shoal logs ticker-ingest --node pi-17 --since 10m
  $ shoal logs ticker-ingest -f --follow-for 2m --timestamps
  $ shoal logs shop -c migrate       (an init container of a several-container copy)
  $ shoal logs job/nightly-export    (every copy of a job, finished or running)`,
    )
    .action(async (nameText: string, options: LogsOptions) => {
      const subject = logSubjectOf(nameText)
      const query = toQuery(options)
      const connection = resolveConnection(options, deps.env)
      const interrupt = deps.signal ? null : interruptSignal()
      try {
        const signal = deps.signal ?? (interrupt as { signal: AbortSignal }).signal
        await streamLogs(io, connection, subject, query, { ...options, ...(subject.kind === 'job' ? { prefix: true, workloads: true } : {}), signal })
      } finally {
        interrupt?.dispose()
      }
    })
}

/** The API query for the options; usage mistakes end with exit code 2. */
export function toQuery(options: Pick<LogsOptions, 'node' | 'container' | 'tail' | 'since' | 'follow' | 'followFor'>): URLSearchParams {
  const query = new URLSearchParams()
  if (options.node) query.set('node', options.node)
  if (options.container) {
    if (!Name.safeParse(options.container).success)
      throw new CliError(
        `--container must be a container's name (lower-case letters, digits and "-"), got ${JSON.stringify(options.container)}`,
        ExitCode.usage,
      )
    query.set('container', options.container)
  }
  if (options.tail !== undefined) {
    const tail = Number(options.tail)
    if (!/^\d+$/.test(options.tail) || tail > 10_000)
      throw new CliError(`--tail must be a whole number from 0 to 10000, got ${JSON.stringify(options.tail)}`, ExitCode.usage)
    query.set('tail', String(tail))
  }
  if (options.since !== undefined) {
    if (!Duration.safeParse(options.since).success && !IsoTime.safeParse(options.since).success) {
      throw new CliError(
        `--since must be a duration such as 10m or an RFC 3339 time such as 2025-03-01T12:00:00Z, got ${JSON.stringify(options.since)}`,
        ExitCode.usage,
      )
    }
    query.set('since', options.since)
  }
  if (options.follow) {
    if (!Duration.safeParse(options.followFor).success)
      throw new CliError(`--follow-for must be a duration such as 30s or 5m, got ${JSON.stringify(options.followFor)}`, ExitCode.usage)
    const seconds = Math.ceil(durationMs(options.followFor) / 1000)
    if (seconds < 1 || seconds > MAX_FOLLOW_SECONDS)
      throw new CliError(`--follow-for must be between 1s and ${MAX_FOLLOW_SECONDS / 60}m, got ${options.followFor}`, ExitCode.usage)
    query.set('follow', 'true')
    query.set('followSeconds', String(seconds))
  }
  return query
}

interface StreamOptions {
  readonly timestamps?: boolean
  readonly prefix?: boolean
  /** Prefix with the workload besides the node (a job's copies: several may run on one node). */
  readonly workloads?: boolean
  readonly output: 'text' | 'json'
  readonly signal: AbortSignal
}

async function streamLogs(
  io: CliIo,
  connection: Pick<Connection, 'hub' | 'token' | 'source'>,
  subject: LogSubject,
  query: URLSearchParams,
  options: StreamOptions,
): Promise<void> {
  const url = `${connection.hub}/api/v1/${subject.kind === 'job' ? 'jobs' : 'deployments'}/${encodeURIComponent(subject.name)}/logs?${query.toString()}`
  const request = new AbortController()
  const stop = (): void => request.abort()
  options.signal.addEventListener('abort', stop, { once: true })
  const answerTimer = setTimeout(() => request.abort(new DOMException('no answer', 'TimeoutError')), ANSWER_TIMEOUT_MS)
  try {
    let response: HttpAnswer
    try {
      response = await httpRequest(new URL(url), {
        method: 'GET',
        headers: { authorization: `Bearer ${connection.token}`, accept: 'application/x-ndjson' },
        signal: request.signal,
      })
    } catch (error) {
      if (options.signal.aborted) return
      if (request.signal.aborted) throw new HubUnreachableError(connection.hub, `no answer within ${ANSWER_TIMEOUT_MS / 1000}s`, connection.source)
      throw new HubUnreachableError(connection.hub, describeFetchFailure(error), connection.source)
    } finally {
      clearTimeout(answerTimer)
    }
    if (!response.ok) throw await errorFor(connection.hub, response)
    const printer = new LogPrinter(io, options)
    try {
      for await (const line of ndjsonLines(response.body)) printer.take(line)
    } catch (error) {
      if (options.signal.aborted) return
      throw new HubUnreachableError(connection.hub, `the log stream broke (${describeFetchFailure(error)})`, connection.source)
    }
    printer.finish()
  } finally {
    options.signal.removeEventListener('abort', stop)
  }
}

async function errorFor(hub: string, response: HttpAnswer): Promise<CliError> {
  if (response.status === 401) return new HubAuthError(hub)
  const text = await response.text().catch(() => '')
  let body: { error?: { code?: string; message?: string; details?: ErrorDetail[] } } = {}
  try {
    body = JSON.parse(text) as typeof body
  } catch {
    // not the hub's JSON error
  }
  const error = body.error
  if (!error?.message)
    return new HubRequestError(
      response.status,
      'not-a-hub',
      `${hub} answered HTTP ${response.status} ${response.statusText} without a hub error; is this the hub API URL?`,
      [],
    )
  return new HubRequestError(response.status, error.code ?? 'error', error.message, Array.isArray(error.details) ? error.details : [])
}

/** The non-blank lines of an NDJSON body (blank lines are the hub's keep-alives). */
export async function* ndjsonLines(body: AsyncIterable<Uint8Array> | null): AsyncGenerator<string> {
  if (!body) return
  const decoder = new TextDecoder()
  let pending = ''
  for await (const bytes of body) {
    pending += decoder.decode(bytes, { stream: true })
    let newline: number
    while ((newline = pending.indexOf('\n')) !== -1) {
      const line = pending.slice(0, newline)
      pending = pending.slice(newline + 1)
      if (line.trim() !== '') yield line
    }
  }
  pending += decoder.decode()
  if (pending.trim() !== '') yield pending
}

/** One record of the hub's log stream (see hub/api/logs-route.ts). */
export type LogRecord =
  | { type: 'start'; targets: Array<{ node: string; workload: string }> }
  | { type: 'line'; node: string; workload: string; stream: 'stdout' | 'stderr'; text: string; at?: string }
  | { type: 'gap'; node: string; workload: string; missing: number }
  | { type: 'error'; node: string; workload: string; code: string; message: string }
  | { type: 'end' }

/** Turns records into terminal output; remembers failures for the exit code. */
export class LogPrinter {
  private prefixNodes: boolean
  private ended = false
  private readonly failures: string[] = []

  constructor(
    private readonly io: CliIo,
    private readonly options: Pick<StreamOptions, 'timestamps' | 'prefix' | 'output' | 'workloads'>,
  ) {
    this.prefixNodes = options.prefix ?? false
  }

  take(text: string): void {
    let record: LogRecord
    try {
      record = JSON.parse(text) as LogRecord
    } catch {
      throw new CliError(`the hub sent a log record that is not JSON: ${text.slice(0, 200)}`)
    }
    if (this.options.output === 'json') this.io.out(`${text}\n`)
    switch (record.type) {
      case 'start':
        if (record.targets.length > 1) this.prefixNodes = true
        break
      case 'line':
        if (this.options.output === 'text') {
          const line = `${this.prefixOf(record.node, record.workload)}${this.options.timestamps && record.at ? `${record.at} ` : ''}${record.text}\n`
          if (record.stream === 'stderr') this.io.err(line)
          else this.io.out(line)
        }
        break
      case 'gap':
        if (this.options.output === 'text') this.io.err(`${this.prefixOf(record.node)}(${record.missing} chunk(s) of this log were lost in transit)\n`)
        break
      case 'error':
        this.failures.push(record.message)
        if (this.options.output === 'text') this.io.err(`error: ${record.message}\n`)
        break
      case 'end':
        this.ended = true
        break
      default:
        // A record type from a newer hub: ignored.
        break
    }
  }

  /** After the body ended: fail when a node failed or the stream was cut short. */
  finish(): void {
    if (!this.ended) throw new CliError('the hub closed the log stream before its end; run the command again')
    if (this.failures.length === 0) return
    // In text mode each failure was printed when it came; JSON output leaves stderr to this.
    if (this.options.output === 'json') throw new CliError(this.failures.join('; '))
    throw new CliError(
      this.failures.length === 1
        ? "a node's log could not be read to its end (see above)"
        : `the logs of ${this.failures.length} nodes could not be read (see above)`,
    )
  }

  private prefixOf(node: string, workload?: string): string {
    if (this.options.workloads && workload !== undefined) return `[${node} ${workload}] `
    return this.prefixNodes ? `[${node}] ` : ''
  }
}

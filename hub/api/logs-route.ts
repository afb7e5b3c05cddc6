import { once } from 'node:events'
import type { ServerResponse } from 'node:http'
import { API_ROUTES, type LogStreamRecord } from '../../protocol/api/index.js'
import type { Clock } from '../../common/clock.js'
import { LogRelayError, type LogRelay, type LogRelayErrorCode } from '../logs/log-relay.js'
import type { HubStore } from '../store/hub-store.js'
import { resolveLogTargets, type LogTarget } from '../logs/log-targets.js'
import type { JobService } from '../jobs/job-service.js'
import { ApiError } from './http-errors.js'
import { parseLogQuery, type DeploymentLogQuery } from './log-query.js'
import { answer } from './service-errors.js'
import type { RequestContext, Router } from './router.js'

/**
 * `GET /api/v1/deployments/:name/logs?node=&tail=&since=&follow=&followSeconds=`
 *
 * Answers NDJSON (`application/x-ndjson`), one record per line:
 *   {"type":"start","targets":[{"node":"pi-1","workload":"web"}]}
 *   {"type":"line","node":"pi-1","workload":"web","stream":"stdout","text":"...","at":"2025-..."}
 *   {"type":"gap","node":"pi-1","workload":"web","missing":2}
 *   {"type":"error","node":"pi-2","workload":"web","code":"node-offline","message":"..."}
 *   {"type":"end"}
 * Blank lines are keep-alives. With several nodes (no `node=`), their lines are merged as they
 * arrive. The status is sent once an agent answers; when every node fails before that, the
 * answer is a JSON error instead (404 no such container, 503 node offline, 504 no answer...).
 * When the client goes away, every agent is told to stop.
 */
export interface LogRouteServices {
  readonly store: HubStore
  readonly clock: Clock
  readonly logRelay?: LogRelay
  readonly jobs?: Pick<JobService, 'logSources'>
}

const KEEPALIVE_MS = 15_000

const STATUS: Record<LogRelayErrorCode, number> = {
  'unknown-node': 404,
  'node-offline': 503,
  'node-timeout': 504,
  'not-found': 404,
  busy: 429,
  failed: 502,
  unreachable: 503,
  'slow-client': 500,
  'hub-stopping': 503,
}

export function registerLogRoutes(router: Router, services: LogRouteServices): void {
  router.route(API_ROUTES.deploymentLogs, (context) => deploymentLogs(context, services))
  router.route(API_ROUTES.jobLogs, (context) => jobLogs(context, services))
}

/**
 * `GET /api/v1/jobs/:name/logs`: the same records. A finished copy's container is gone from its
 * node, so its last lines come from the hub's record of it (what its node reported when it
 * exited, `stdout: ` or `stderr: ` before each); a running copy's are relayed from its node.
 */
async function jobLogs(context: RequestContext, services: LogRouteServices): Promise<void> {
  const { clock, logRelay, jobs } = services
  if (!jobs) throw new ApiError(501, 'not-implemented', 'this hub does not keep job output')
  const query = parseLogQuery(context.url.searchParams, clock.now())
  const sources = await answer(() => jobs.logSources(context.params.name ?? '', query.node))
  const kept: LogStreamRecord[] = sources.kept.flatMap(({ nodeId, workload, lines }) =>
    lines.slice(query.tail === undefined ? 0 : Math.max(0, lines.length - query.tail)).map((line) => keptLine(nodeId, workload, line)),
  )
  if (sources.running.length === 0 || !logRelay) {
    const response = new LogResponse(context.res, [])
    response.written(
      kept,
      sources.kept.map((k) => ({ node: k.nodeId, workload: k.workload })),
    )
    return
  }
  await new LogResponse(context.res, sources.running, kept).run(logRelay, query)
}

/** A kept line as the agent wrote it: `stdout: text`. */
function keptLine(node: string, workload: string, line: string): LogStreamRecord {
  const match = /^(stdout|stderr): /.exec(line)
  return { type: 'line', node, workload, stream: (match?.[1] as 'stdout' | 'stderr' | undefined) ?? 'stdout', text: match ? line.slice(match[0].length) : line }
}

async function deploymentLogs(context: RequestContext, services: LogRouteServices): Promise<void> {
  const { store, clock, logRelay } = services
  if (!logRelay) throw new ApiError(501, 'not-implemented', 'this hub does not relay logs')
  const query = parseLogQuery(context.url.searchParams, clock.now())
  const targets = await answer(() => resolveLogTargets(store, context.params.name ?? '', query.node))
  await new LogResponse(context.res, targets).run(logRelay, query)
}

/** One streamed answer: holds records until an agent answers, then writes them as they come. */
class LogResponse {
  private headersSent = false
  private readonly held: string[] = []
  private readonly gone = new AbortController()

  constructor(
    private readonly res: ServerResponse,
    private readonly targets: readonly LogTarget[],
    /** Lines the hub holds itself (a finished job copy's), sent right after start. */
    private readonly kept: readonly LogStreamRecord[] = [],
  ) {}

  /** An answer of held records alone: start, the records, end. */
  written(records: readonly LogStreamRecord[], targets: readonly { node: string; workload: string }[]): void {
    this.record({ type: 'start', targets: [...targets] })
    for (const record of records) this.record(record)
    this.record({ type: 'end' })
    this.open()
    this.res.end()
  }

  async run(relay: LogRelay, query: DeploymentLogQuery): Promise<void> {
    const { res } = this
    const onClose = (): void => {
      if (!res.writableFinished) this.gone.abort()
    }
    res.on('close', onClose)
    const keepalive = setInterval(() => {
      if (this.headersSent && !res.writableEnded) res.write('\n')
    }, KEEPALIVE_MS)
    keepalive.unref()
    try {
      const keptTargets = [
        ...new Map(
          this.kept.flatMap((r) => (r.type === 'line' ? [[`${r.node}/${r.workload}`, { node: r.node, workload: r.workload }] as const] : [])),
        ).values(),
      ]
      this.record({ type: 'start', targets: [...keptTargets, ...this.targets.map((t) => ({ node: t.nodeId, workload: t.workload }))] })
      for (const record of this.kept) this.record(record)
      const failures = await Promise.all(this.targets.map((target) => this.relayOne(relay, target, query)))
      if (this.gone.signal.aborted) return
      const errors = failures.filter((f): f is LogRelayError => f !== null)
      if (!this.headersSent && errors.length === this.targets.length) {
        // Nobody answered: a plain error answer says it best.
        const first = errors[0] as LogRelayError
        const status = errors.every((e) => e.code === first.code) ? STATUS[first.code] : 502
        throw new ApiError(status, errors.length === 1 ? first.code : 'logs-failed', errors.map((e) => e.message).join('; '))
      }
      this.record({ type: 'end' })
      this.open()
      res.end()
    } finally {
      clearInterval(keepalive)
      res.off('close', onClose)
      if (this.gone.signal.aborted && !res.writableEnded) res.end()
    }
  }

  /** Relays one node's stream into the response; resolves to its failure, if any. */
  private async relayOne(relay: LogRelay, target: LogTarget, query: DeploymentLogQuery): Promise<LogRelayError | null> {
    const where = { node: target.nodeId, workload: target.workload }
    try {
      const logQuery = {
        follow: query.follow,
        followSeconds: query.followSeconds,
        ...(query.container !== null ? { container: query.container } : {}),
        ...(query.tail !== undefined ? { tail: query.tail } : {}),
        ...(query.since !== undefined ? { since: query.since } : {}),
      }
      for await (const event of relay.request(target.nodeId, target.workload, logQuery, this.gone.signal)) {
        switch (event.type) {
          case 'open':
            this.open()
            break
          case 'line':
            this.record({ type: 'line', ...where, stream: event.stream, text: event.text, ...(event.at !== undefined ? { at: event.at } : {}) })
            break
          case 'gap':
            this.record({ type: 'gap', ...where, missing: event.missing })
            break
          default: {
            const unreachable: never = event
            throw new Error(`unknown relay event ${JSON.stringify(unreachable)}`)
          }
        }
        await this.drained()
      }
      return null
    } catch (caught) {
      // Anything else is a bug, but it must not leave the other nodes' streams running unread.
      const error =
        caught instanceof LogRelayError ? caught : new LogRelayError('failed', target.nodeId, `relaying the log failed: ${(caught as Error).message}`)
      this.record({ type: 'error', ...where, code: error.code, message: error.message })
      return error
    }
  }

  private record(record: LogStreamRecord): void {
    const line = `${JSON.stringify(record)}\n`
    if (this.headersSent) this.res.write(line)
    else this.held.push(line)
  }

  private open(): void {
    if (this.headersSent || this.gone.signal.aborted) return
    this.headersSent = true
    this.res.writeHead(200, { 'content-type': 'application/x-ndjson; charset=utf-8', 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' })
    for (const line of this.held.splice(0)) this.res.write(line)
  }

  /** Waits while the client's socket is full, so a slow reader slows the relay (which bounds what it holds). */
  private async drained(): Promise<void> {
    if (!this.headersSent || !this.res.writableNeedDrain || this.gone.signal.aborted) return
    await once(this.res, 'drain', { signal: this.gone.signal }).catch(() => undefined)
  }
}

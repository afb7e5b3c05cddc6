import type { Logger } from 'pino'
import { LogRequest, MAX_BYTES, ProtocolError, decodeMessage, encodeMessage, type LogChunk, type Workload } from '../protocol/index.js'
import { LogBatcher, type ChunkLine, type LogBatchLimits } from './log-batcher.js'
import { logWorkload } from './reconcile/copy-members.js'
import type { ContainerRuntime, ObservedContainer } from './runtime/runtime.js'

/**
 * Serves the hub's log requests: finds the workload's container, reads its log from the
 * runtime (tail, since, follow for at most `followSeconds`) and answers with ordered chunks
 * (seq 0, 1, ...) on the `logs-chunk` channel, the last one with `end: true` and, when it
 * failed, `error` and `errorCode`. A few requests at a time; the rest are refused at once.
 * A cancel stops a request with no further chunk.
 */
export interface LogServerOptions {
  readonly nodeId: string
  readonly runtime: ContainerRuntime
  /** The agent's own records, used when the engine cannot be listed. */
  readonly workloads: () => ReadonlyArray<{ readonly name: string; readonly containerId: string | null }>
  /** The copies the node runs now, to find a container of a several-container copy (absent: by name alone). */
  readonly desired?: () => readonly Workload[]
  /** Sends one encoded LogChunk; rejects when the hub link is down. */
  readonly publish: (payload: Buffer) => Promise<void>
  readonly logger: Logger
  /** Requests served at once (default 4); more are answered with a `busy` error. */
  readonly maxConcurrent?: number
  /** While following, lines wait at most this long before they are sent (default 250 ms). */
  readonly flushIntervalMs?: number
  /** While following a quiet log, an empty chunk this often tells the hub the stream is alive (default 4 s). */
  readonly keepaliveMs?: number
  readonly batch?: Partial<LogBatchLimits>
}

export const DEFAULT_MAX_CONCURRENT_LOG_REQUESTS = 4
/** Request ids remembered after they end, so a redelivered request is not served twice. */
const REMEMBERED_REQUESTS = 256
/** How long stop() waits for streams to send their last chunk. */
const STOP_WAIT_MS = 2_000

type EndReason = 'done' | 'cancelled' | 'follow-limit' | 'stopping' | 'link-down' | 'error'
type Refusal = NonNullable<LogChunk['errorCode']>

/** The container to read for a workload: a running one first, else the most recently started. */
export function pickContainer(containers: readonly ObservedContainer[], workload: string): ObservedContainer | null {
  const candidates = containers.filter((c) => c.workload === workload)
  const started = (c: ObservedContainer): string => c.startedAt ?? c.finishedAt ?? ''
  const ranked = [...candidates].sort((a, b) => Number(b.state === 'running') - Number(a.state === 'running') || started(b).localeCompare(started(a)))
  return ranked[0] ?? null
}

export class LogServer {
  private readonly active = new Map<string, AbortController>()
  private readonly running = new Set<Promise<void>>()
  private readonly seen = new Set<string>()
  private readonly log: Logger
  private stopping = false

  constructor(private readonly options: LogServerOptions) {
    this.log = options.logger.child({ component: 'logs' })
  }

  /** Requests being served right now. */
  get activeCount(): number {
    return this.active.size
  }

  /** One message from the `logs-request` channel. Never throws. */
  receive(payload: Buffer): void {
    let request: LogRequest
    try {
      request = decodeMessage(LogRequest, payload, { maxBytes: MAX_BYTES['logs-request'], what: 'log request' })
    } catch (error) {
      const reason = error instanceof ProtocolError ? error.code : 'internal'
      this.log.warn({ reason, detail: (error as Error).message.slice(0, 300) }, 'ignoring a malformed log request')
      return
    }
    if (request.nodeId !== this.options.nodeId) {
      this.log.warn({ addressedTo: request.nodeId }, 'ignoring a log request addressed to another node')
      return
    }
    if (request.cancel) {
      this.cancel(request.requestId)
      return
    }
    if (this.active.has(request.requestId) || this.seen.has(request.requestId)) {
      this.log.debug({ requestId: request.requestId }, 'ignoring a log request delivered again')
      return
    }
    this.remember(request.requestId)
    if (this.stopping) {
      void this.refuse(request, 'failed', `the agent on node ${this.options.nodeId} is stopping; try again when it is back`)
      return
    }
    const limit = this.options.maxConcurrent ?? DEFAULT_MAX_CONCURRENT_LOG_REQUESTS
    if (this.active.size >= limit) {
      void this.refuse(request, 'busy', `node ${this.options.nodeId} already serves ${this.active.size} log requests (its limit); try again when one ends`)
      return
    }
    const controller = new AbortController()
    this.active.set(request.requestId, controller)
    const served = this.serve(request, controller.signal).finally(() => {
      this.active.delete(request.requestId)
      this.running.delete(served)
    })
    this.running.add(served)
  }

  /** Ends every stream (each sends its end chunk while the link still works) and waits a little for them. */
  async stop(): Promise<void> {
    this.stopping = true
    for (const controller of this.active.values()) controller.abort('stopping')
    const all = Promise.allSettled([...this.running])
    await Promise.race([all, new Promise((resolve) => setTimeout(resolve, STOP_WAIT_MS).unref())])
  }

  private cancel(requestId: string): void {
    const controller = this.active.get(requestId)
    // Remembered either way: a cancel that overtook its request keeps that request from starting.
    this.remember(requestId)
    if (!controller) {
      this.log.debug({ requestId }, 'cancel for a log request not being served')
      return
    }
    controller.abort('cancelled')
  }

  private remember(requestId: string): void {
    this.seen.delete(requestId)
    this.seen.add(requestId)
    if (this.seen.size > REMEMBERED_REQUESTS) {
      const oldest = this.seen.values().next().value
      if (oldest !== undefined) this.seen.delete(oldest)
    }
  }

  private async refuse(request: LogRequest, code: Refusal, message: string): Promise<void> {
    this.log.info({ requestId: request.requestId, workload: request.workload, code }, `log request refused: ${message}`)
    await new ChunkSender(request, this.options).send([], { end: true, error: message, errorCode: code }).catch(() => undefined)
  }

  private async serve(request: LogRequest, cancelled: AbortSignal): Promise<void> {
    const { runtime, nodeId } = this.options
    const started = performance.now()
    const sender = new ChunkSender(request, this.options)
    const batcher = new LogBatcher(this.options.batch)
    // One signal for the reader: the hub's cancel, the agent stopping, the follow bound, a dead link.
    const reader = new AbortController()
    const stopReading = (reason: EndReason): void => {
      if (!reader.signal.aborted) reader.abort(reason)
    }
    const onCancel = (): void => stopReading(cancelled.reason === 'stopping' ? 'stopping' : 'cancelled')
    cancelled.addEventListener('abort', onCancel, { once: true })
    sender.onFailure = () => stopReading('link-down')
    const timers: NodeJS.Timeout[] = []
    let lines = 0
    let failure: { message: string; code: Refusal } | null = null

    try {
      const subject = logWorkload(this.options.desired?.() ?? [], request.workload, request.container)
      const containerId = 'error' in subject ? null : await this.findContainer(subject.workload)
      if ('error' in subject) {
        failure = { code: 'not-found', message: `${subject.error} (node ${nodeId})` }
      } else if (containerId === null) {
        failure = { code: 'not-found', message: `no container for workload ${request.workload} on node ${nodeId} (is the deployment placed here and started?)` }
      } else if (!reader.signal.aborted) {
        if (request.follow) {
          timers.push(setTimeout(() => stopReading('follow-limit'), request.followSeconds * 1000))
          const keepaliveMs = this.options.keepaliveMs ?? 4_000
          timers.push(
            setInterval(() => {
              // The first chunk goes out at once (the hub waits for an answer); then lines as they
              // come, and an empty keep-alive when the log is quiet.
              if (batcher.size > 0 || !sender.sentAny || sender.idleMs() >= keepaliveMs) void sender.send(batcher.take()).catch(() => undefined)
            }, this.options.flushIntervalMs ?? 250),
          )
        }
        const since = request.since === undefined ? undefined : new Date(request.since)
        const options = {
          follow: request.follow,
          timestamps: true,
          signal: reader.signal,
          ...(request.tail !== undefined ? { tail: request.tail } : {}),
          ...(since !== undefined ? { since } : {}),
        }
        for await (const line of runtime.logs(containerId, options)) {
          if (reader.signal.aborted) break
          lines++
          for (const batch of batcher.add(line)) await sender.send(batch)
        }
      }
    } catch (error) {
      if (!reader.signal.aborted)
        failure = { code: 'failed', message: `reading the log of ${request.workload} failed: ${(error as Error).message}`.slice(0, 2000) }
    } finally {
      for (const timer of timers) clearTimeout(timer)
      cancelled.removeEventListener('abort', onCancel)
    }

    const reason: EndReason = reader.signal.aborted ? (reader.signal.reason as EndReason) : failure ? 'error' : 'done'
    if (reason !== 'cancelled' && reason !== 'link-down') {
      const last = batcher.take()
      const ending =
        failure !== null
          ? { end: true, error: failure.message, errorCode: failure.code }
          : reason === 'stopping'
            ? { end: true, error: `the agent on node ${nodeId} is stopping`, errorCode: 'failed' as const }
            : { end: true }
      await sender.send(last, ending).catch(() => undefined)
    }
    const summary = {
      requestId: request.requestId,
      workload: request.workload,
      follow: request.follow,
      lines,
      chunks: sender.sent,
      reason,
      ms: Math.round(performance.now() - started),
    }
    if (failure) this.log.warn({ ...summary, error: failure.message }, 'log request failed')
    else this.log.info(summary, 'log request ended')
  }

  private async findContainer(workload: string): Promise<string | null> {
    try {
      const found = pickContainer(await this.options.runtime.list(this.options.nodeId), workload)
      if (found) return found.id
    } catch (error) {
      this.log.warn({ err: error, workload }, 'cannot list containers; using the stored container id')
    }
    return this.options.workloads().find((w) => w.name === workload)?.containerId ?? null
  }
}

/** Numbers chunks and sends them one after another, whoever calls: the reading loop or the flush timer. */
// Intervals on the monotonic clock: a wall-clock step must not stall or hurry keepalive chunks.
class ChunkSender {
  private seq = 0
  private queue: Promise<void> = Promise.resolve()
  private lastSentAt = performance.now()
  private failed = false
  sent = 0
  onFailure: () => void = () => undefined

  constructor(
    private readonly request: LogRequest,
    private readonly options: Pick<LogServerOptions, 'nodeId' | 'publish'>,
  ) {}

  get sentAny(): boolean {
    return this.seq > 0
  }

  idleMs(): number {
    return performance.now() - this.lastSentAt
  }

  send(lines: ChunkLine[], ending: Pick<LogChunk, 'end' | 'error' | 'errorCode'> = { end: false }): Promise<void> {
    if (this.failed) return Promise.reject(new Error('the log stream already failed'))
    // The seq is taken now, in call order; the queue keeps the sends in that order too.
    const chunk: LogChunk = { requestId: this.request.requestId, nodeId: this.options.nodeId, seq: this.seq++, lines, ...ending }
    this.lastSentAt = performance.now()
    const next = this.queue.then(async () => {
      if (this.failed) throw new Error('the log stream already failed')
      try {
        await this.options.publish(encodeMessage(chunk))
        this.sent++
        this.lastSentAt = performance.now()
      } catch (error) {
        this.failed = true
        this.onFailure()
        throw error
      }
    })
    this.queue = next.catch(() => undefined)
    return next
  }
}

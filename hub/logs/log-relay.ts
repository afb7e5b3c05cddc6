import { randomUUID } from 'node:crypto'
import type { Logger } from 'pino'
import { LogChunk, MAX_BYTES, ProtocolError, decodeMessage, encodeMessage, type LogRequest } from '../../protocol/index.js'
import { ChunkSequencer } from './log-sequencer.js'
import type { Metrics } from '../metrics.js'

/**
 * The hub's half of logs on demand: asks one node's agent for a workload's log over the
 * broker and hands the answer on as an ordered stream of events. Chunks come back on the
 * `logs-chunk` channel (receive()), are matched to their request by id and put in seq order.
 * A node the hub knows is offline is answered at once; a node that does not answer in time,
 * or stops answering mid-stream, ends the stream with an error. Whoever stops reading early
 * (a consumer that breaks out, an aborted signal) makes the relay tell the agent to stop.
 */
export interface RelayNode {
  readonly online: boolean
  readonly offlineSince: string | null
}

export interface LogRelayOptions {
  readonly publish: (nodeId: string, payload: Buffer) => Promise<void>
  /** The hub's view of a node; null when it is not enrolled. */
  readonly node: (nodeId: string) => RelayNode | null
  readonly logger: Logger
  readonly metrics?: Metrics
  /** No chunk for this long (the first, or the next) ends the stream (default 10 s; agents send keep-alives every 4 s while following). */
  readonly answerTimeoutMs?: number
  /** A missing chunk is given up on after this long (default 2 s), with a `gap` event. */
  readonly gapTimeoutMs?: number
  /** Chunks held behind a gap at most (default 64). */
  readonly maxHeldChunks?: number
  /** Lines received but not yet read by a slow client, at most (default 50,000); more ends the stream. */
  readonly maxQueuedLines?: number
}

export interface LogQuery {
  /** Which container of a several-container copy (the agent's default: its first). */
  readonly container?: string
  readonly tail?: number
  /** RFC 3339. */
  readonly since?: string
  readonly follow: boolean
  /** Bound of a follow, 1–600 (the protocol's default when absent). */
  readonly followSeconds?: number
}

export type RelayLine = { readonly stream: 'stdout' | 'stderr'; readonly text: string; readonly at?: string }

export type RelayEvent =
  /** The agent answered: its stream has begun. */
  | { readonly type: 'open' }
  | ({ readonly type: 'line' } & RelayLine)
  /** Chunks lost on the way (at-most-once delivery); the lines in them are gone. */
  | { readonly type: 'gap'; readonly missing: number }

export type LogRelayErrorCode =
  | 'unknown-node'
  | 'node-offline'
  | 'node-timeout'
  | 'not-found'
  | 'busy'
  | 'failed'
  | 'unreachable'
  | 'slow-client'
  | 'hub-stopping'

export class LogRelayError extends Error {
  constructor(
    readonly code: LogRelayErrorCode,
    readonly nodeId: string,
    message: string,
  ) {
    super(message)
    this.name = 'LogRelayError'
  }
}

export const DEFAULT_ANSWER_TIMEOUT_MS = 10_000
/** Request ids the relay already asked an agent to stop (bounded). */
const REMEMBERED_ORPHANS = 256

export class LogRelay {
  private readonly streams = new Map<string, RelayStream>()
  private readonly orphans = new Set<string>()
  private readonly log: Logger
  private closed = false

  constructor(private readonly options: LogRelayOptions) {
    this.log = options.logger.child({ component: 'log-relay' })
    options.metrics?.describe('shoal_log_requests_total', 'log requests relayed to agents, by outcome')
    options.metrics?.describe('shoal_log_chunks_total', 'log chunks received from agents, by outcome')
  }

  /** Streams being relayed right now. */
  get activeCount(): number {
    return this.streams.size
  }

  /**
   * The log of `workload` on `nodeId`. Throws LogRelayError (from the first next()) when the node
   * is unknown or offline, does not answer, or its agent refuses; yields `open` once the agent
   * answered, then lines (and gaps) in order, and returns at the end of the log (or of the
   * follow bound). Stops early, and tells the agent to stop, when `signal` aborts.
   */
  async *request(nodeId: string, workload: string, query: LogQuery, signal?: AbortSignal): AsyncGenerator<RelayEvent, void, undefined> {
    const { metrics } = this.options
    if (this.closed) throw new LogRelayError('hub-stopping', nodeId, 'the hub is stopping')
    const node = this.options.node(nodeId)
    if (!node) throw new LogRelayError('unknown-node', nodeId, `node ${nodeId} is not enrolled with this hub`)
    if (!node.online) {
      metrics?.inc('shoal_log_requests_total', { outcome: 'node-offline' })
      throw new LogRelayError('node-offline', nodeId, offlineMessage(nodeId, node.offlineSince))
    }
    if (signal?.aborted) return
    const requestId = randomUUID()
    const request: LogRequest = {
      requestId,
      nodeId,
      workload,
      follow: query.follow,
      followSeconds: query.followSeconds ?? 60,
      ...(query.container !== undefined ? { container: query.container } : {}),
      ...(query.tail !== undefined ? { tail: query.tail } : {}),
      ...(query.since !== undefined ? { since: query.since } : {}),
    }
    const stream = new RelayStream(nodeId, {
      answerTimeoutMs: this.options.answerTimeoutMs ?? DEFAULT_ANSWER_TIMEOUT_MS,
      gapTimeoutMs: this.options.gapTimeoutMs ?? 2_000,
      maxHeldChunks: this.options.maxHeldChunks ?? 64,
      maxQueuedLines: this.options.maxQueuedLines ?? 50_000,
      // When the agent falls silent, say why if the hub knows: its node went offline.
      silent: (waitedMs) => {
        const now = this.lookUp(nodeId)
        if (now && !now.online) return new LogRelayError('node-offline', nodeId, offlineMessage(nodeId, now.offlineSince))
        return new LogRelayError('node-timeout', nodeId, `node ${nodeId} did not answer within ${formatSeconds(waitedMs)}`)
      },
    })
    this.streams.set(requestId, stream)
    let finished = false
    let outcome = 'cancelled'
    this.log.debug({ requestId, nodeId, workload, follow: query.follow }, 'log request sent')
    try {
      try {
        await this.options.publish(nodeId, encodeMessage(request))
      } catch (error) {
        throw new LogRelayError('unreachable', nodeId, `cannot send the log request to node ${nodeId}: ${(error as Error).message}`)
      }
      stream.start()
      for (;;) {
        const next = await stream.next(signal)
        if (next === 'end') {
          finished = true
          outcome = 'completed'
          return
        }
        if (next === 'aborted') return
        yield next
      }
    } catch (error) {
      if (error instanceof LogRelayError) {
        outcome = error.code
        // The agent ended it itself (a refusal or failure), or never got it: nothing to cancel.
        finished = stream.ended || error.code === 'unreachable'
      }
      throw error
    } finally {
      stream.dispose()
      this.streams.delete(requestId)
      metrics?.inc('shoal_log_requests_total', { outcome })
      if (!finished) this.cancel(nodeId, requestId, workload)
    }
  }

  /** One message from the `logs-chunk` channel, already attributed to `nodeId` by the broker. Never throws. */
  receive(nodeId: string, payload: Buffer): void {
    const { metrics } = this.options
    let chunk: LogChunk
    try {
      chunk = decodeMessage(LogChunk, payload, { maxBytes: MAX_BYTES['logs-chunk'], what: 'log chunk' })
    } catch (error) {
      metrics?.inc('shoal_log_chunks_total', { outcome: 'invalid' })
      this.log.warn(
        { nodeId, reason: error instanceof ProtocolError ? error.code : 'internal', detail: (error as Error).message.slice(0, 300) },
        'dropped a malformed log chunk',
      )
      return
    }
    const stream = this.streams.get(chunk.requestId)
    if (!stream || stream.nodeId !== nodeId || chunk.nodeId !== nodeId) {
      metrics?.inc('shoal_log_chunks_total', { outcome: 'orphan' })
      // Nobody reads this (the client left, the hub restarted): tell the agent once to stop.
      if (!stream && !chunk.end && chunk.nodeId === nodeId && !this.orphans.has(chunk.requestId)) this.cancel(nodeId, chunk.requestId, null)
      return
    }
    metrics?.inc('shoal_log_chunks_total', { outcome: stream.accept(chunk) })
  }

  /** Ends every stream with an error (the hub is stopping). */
  close(): void {
    this.closed = true
    for (const stream of this.streams.values()) stream.fail(new LogRelayError('hub-stopping', stream.nodeId, 'the hub is stopping'))
  }

  /** The hub's record of a node, or null if it cannot be read (the store is closing): never throws from a timer. */
  private lookUp(nodeId: string): RelayNode | null {
    try {
      return this.options.node(nodeId)
    } catch (error) {
      this.log.debug({ err: error, nodeId }, 'cannot read the node record')
      return null
    }
  }

  /** A cancel is matched by request id alone; the workload is only there to satisfy the schema. */
  private cancel(nodeId: string, requestId: string, workload: string | null): void {
    // Remembered, so chunks still on their way do not make the relay cancel again.
    this.orphans.add(requestId)
    if (this.orphans.size > REMEMBERED_ORPHANS) this.orphans.delete(this.orphans.values().next().value as string)
    const cancel: LogRequest = { requestId, nodeId, workload: workload ?? 'unknown', follow: false, followSeconds: 1, cancel: true }
    this.options.publish(nodeId, encodeMessage(cancel)).then(
      () => this.log.debug({ requestId, nodeId }, 'log request cancelled'),
      (error: unknown) => this.log.debug({ err: error, requestId, nodeId }, 'could not send a log cancel; the agent stops at its follow bound'),
    )
  }
}

export function offlineMessage(nodeId: string, since: string | null): string {
  return `node ${nodeId} is offline since ${since ?? 'an unknown time'}; its logs can be read once it reconnects`
}

function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${(ms / 1000).toFixed(1)}s`
}

interface StreamLimits {
  readonly answerTimeoutMs: number
  readonly gapTimeoutMs: number
  readonly maxHeldChunks: number
  readonly maxQueuedLines: number
  readonly silent: (waitedMs: number) => LogRelayError
}

/** One request's chunks: ordered, turned into events, waited on by the reading generator. */
class RelayStream {
  private readonly sequencer: ChunkSequencer<LogChunk>
  private readonly events: RelayEvent[] = []
  private head = 0
  private failure: LogRelayError | null = null
  private done = false
  private opened = false
  private wake: (() => void) | null = null
  private silenceTimer: NodeJS.Timeout | null = null
  private gapTimer: NodeJS.Timeout | null = null

  constructor(
    readonly nodeId: string,
    private readonly limits: StreamLimits,
  ) {
    this.sequencer = new ChunkSequencer<LogChunk>(limits.maxHeldChunks)
  }

  /** The agent sent its end chunk (with or without an error). */
  get ended(): boolean {
    return this.sequencer.finished
  }

  /** The request is on its way: the agent must answer within the timeout. */
  start(): void {
    this.armSilence()
  }

  accept(chunk: LogChunk): 'delivered' | 'held' | 'duplicate' | 'after-end' {
    if (this.failure || this.done) return 'after-end'
    const result = this.sequencer.push(chunk)
    if (result.outcome === 'duplicate' || result.outcome === 'after-end') return result.outcome
    this.armSilence()
    if (result.skipped > 0) this.push({ type: 'gap', missing: result.skipped })
    for (const ready of result.ready) this.deliver(ready)
    this.armGap()
    this.notify()
    return result.outcome
  }

  fail(error: LogRelayError): void {
    if (this.failure || this.done) return
    this.failure = error
    this.clearTimers()
    this.notify()
  }

  /** The next event; 'end' after the last one; 'aborted' when the signal fired. Throws the stream's failure. */
  async next(signal?: AbortSignal): Promise<RelayEvent | 'end' | 'aborted'> {
    for (;;) {
      if (signal?.aborted) return 'aborted'
      if (this.head < this.events.length) {
        const event = this.events[this.head] as RelayEvent
        this.events[this.head++] = undefined as unknown as RelayEvent
        if (this.head > 1024 && this.head * 2 > this.events.length) {
          this.events.splice(0, this.head)
          this.head = 0
        }
        return event
      }
      if (this.failure) throw this.failure
      if (this.done) return 'end'
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          signal?.removeEventListener('abort', wake)
          this.wake = null
          resolve()
        }
        this.wake = wake
        signal?.addEventListener('abort', wake, { once: true })
      })
    }
  }

  dispose(): void {
    this.clearTimers()
    this.done = true
  }

  private deliver(chunk: LogChunk): void {
    const failed = chunk.end && chunk.error !== undefined
    // A refusal with nothing to show is an error answer, not a stream that began.
    if (!this.opened && !(failed && chunk.lines.length === 0)) {
      this.opened = true
      this.push({ type: 'open' })
    }
    for (const line of chunk.lines)
      this.push(
        line.at === undefined ? { type: 'line', stream: line.stream, text: line.text } : { type: 'line', stream: line.stream, text: line.text, at: line.at },
      )
    if (this.events.length - this.head > this.limits.maxQueuedLines) {
      this.fail(
        new LogRelayError(
          'slow-client',
          this.nodeId,
          `the client reads the log of node ${this.nodeId} too slowly; stopped after ${this.limits.maxQueuedLines} unread lines`,
        ),
      )
      return
    }
    if (failed) {
      this.fail(new LogRelayError(chunk.errorCode ?? 'failed', this.nodeId, chunk.error ?? 'failed'))
      return
    }
    if (chunk.end) {
      this.done = true
      this.clearTimers()
    }
  }

  private push(event: RelayEvent): void {
    this.events.push(event)
  }

  private notify(): void {
    this.wake?.()
  }

  private armSilence(): void {
    if (this.silenceTimer) clearTimeout(this.silenceTimer)
    if (this.failure || this.done) return
    this.silenceTimer = setTimeout(() => this.fail(this.limits.silent(this.limits.answerTimeoutMs)), this.limits.answerTimeoutMs)
  }

  private armGap(): void {
    if (this.sequencer.holding === 0 || this.failure || this.done) {
      if (this.gapTimer) clearTimeout(this.gapTimer)
      this.gapTimer = null
      return
    }
    if (this.gapTimer) return
    this.gapTimer = setTimeout(() => {
      this.gapTimer = null
      const { skipped, ready } = this.sequencer.skipGap()
      if (skipped > 0) this.push({ type: 'gap', missing: skipped })
      for (const chunk of ready) this.deliver(chunk)
      this.armGap()
      this.notify()
    }, this.limits.gapTimeoutMs)
  }

  private clearTimers(): void {
    if (this.silenceTimer) clearTimeout(this.silenceTimer)
    if (this.gapTimer) clearTimeout(this.gapTimer)
    this.silenceTimer = null
    this.gapTimer = null
  }
}

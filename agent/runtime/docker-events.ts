import { StringDecoder } from 'node:string_decoder'
import type { Logger } from 'pino'
import type { HealthState } from '../../protocol/index.js'
import { LABEL, type RuntimeEvent, type RuntimeEventAction } from './runtime.js'

/** One message of Docker's `GET /events`, reduced to the fields we read. */
export interface DockerEventMessage {
  readonly Type?: string
  readonly Action?: string
  readonly Actor?: { readonly ID?: string; readonly Attributes?: Readonly<Record<string, string>> }
  readonly id?: string
  readonly time?: number
  readonly timeNano?: number
}

/** The actions we ask the engine for; `health_status` matches "health_status: healthy" and the like. */
export const EVENT_ACTIONS: readonly string[] = ['create', 'start', 'die', 'stop', 'destroy', 'oom', 'restart', 'health_status']

const PLAIN_ACTIONS: ReadonlySet<string> = new Set<RuntimeEventAction>(['create', 'start', 'die', 'stop', 'destroy', 'oom', 'restart'])
const HEALTH: ReadonlySet<string> = new Set<HealthState>(['none', 'starting', 'healthy', 'unhealthy'])

/** The engine's event as a RuntimeEvent, or null for what the agent does not care about (exec_*, attach, kill...). */
export function toRuntimeEvent(message: DockerEventMessage): RuntimeEvent | null {
  if (message.Type !== undefined && message.Type !== 'container') return null
  const action = message.Action ?? ''
  const containerId = message.Actor?.ID ?? message.id
  if (!containerId) return null
  const attributes = message.Actor?.Attributes ?? {}
  const base = {
    containerId,
    workload: attributes[LABEL.workload] ?? null,
    at: eventTime(message),
  }
  if (action.startsWith('health_status')) {
    const health = action.slice('health_status'.length).replace(/^:\s*/, '').trim()
    if (!HEALTH.has(health)) return null
    return { ...base, action: 'health_status', health: health as HealthState }
  }
  if (!PLAIN_ACTIONS.has(action)) return null
  if (action === 'die') {
    const exitCode = Number.parseInt(attributes.exitCode ?? '', 10)
    return Number.isNaN(exitCode) ? { ...base, action: 'die' } : { ...base, action: 'die', exitCode }
  }
  return { ...base, action: action as RuntimeEventAction }
}

function eventTime(message: DockerEventMessage): Date {
  if (typeof message.timeNano === 'number') return new Date(Math.floor(message.timeNano / 1e6))
  if (typeof message.time === 'number') return new Date(message.time * 1000)
  return new Date(0)
}

/** Splits a byte stream of newline-delimited JSON into values; chunks may cut a line (or a UTF-8 character) anywhere. */
export class NdjsonSplitter {
  private readonly decoder = new StringDecoder('utf8')
  private pending = ''

  /** Complete lines parsed; a line that is not JSON is handed to `onInvalid` and skipped. */
  push(chunk: Uint8Array | string, onInvalid: (line: string, error: Error) => void): unknown[] {
    this.pending += typeof chunk === 'string' ? chunk : this.decoder.write(Buffer.from(chunk))
    const values: unknown[] = []
    let newline: number
    while ((newline = this.pending.indexOf('\n')) !== -1) {
      const line = this.pending.slice(0, newline).trim()
      this.pending = this.pending.slice(newline + 1)
      if (line === '') continue
      try {
        values.push(JSON.parse(line))
      } catch (error) {
        onInvalid(line, error as Error)
      }
    }
    return values
  }
}

export interface FollowEventsOptions {
  /** Open the engine's event stream from `since` (unix seconds), or from now. */
  readonly open: (since: number | undefined) => Promise<AsyncIterable<Uint8Array | string> & { destroy?: () => void }>
  readonly signal: AbortSignal
  readonly logger: Logger
  /** Reconnect delays: from minDelayMs doubling to maxDelayMs, with jitter. */
  readonly minDelayMs?: number
  readonly maxDelayMs?: number
  readonly random?: () => number
  /** How a delay is waited for (abortableSleep); tests pass one that records the delays. */
  readonly sleep?: (ms: number, signal: AbortSignal) => Promise<void>
}

/**
 * The engine's container events until the signal aborts. The stream ends when the engine
 * restarts; we reconnect with a bounded, jittered backoff and `since` = the last event's second,
 * dropping the events we already yielded. Events the engine dropped while it was down are
 * gone: consumers re-list (the reconciler is level-triggered).
 */
export async function* followEvents(options: FollowEventsOptions): AsyncGenerator<RuntimeEvent> {
  const { open, signal, logger } = options
  const minDelay = options.minDelayMs ?? 250
  const maxDelay = options.maxDelayMs ?? 10_000
  const random = options.random ?? Math.random
  const sleep = options.sleep ?? abortableSleep
  let since: number | undefined
  // Events at the last second we saw: `since` is whole seconds, so those come again.
  let lastSecond = -1
  let seenInLastSecond = new Set<string>()
  let failures = 0

  while (!signal.aborted) {
    let stream: Awaited<ReturnType<FollowEventsOptions['open']>> | undefined
    // Ends a quiet stream at once on abort, whether or not `open` wired the signal to it.
    const onAbort = (): void => stream?.destroy?.()
    signal.addEventListener('abort', onAbort, { once: true })
    try {
      stream = await open(since)
      if (signal.aborted) return
      if (failures > 0) logger.info({ failures }, 'docker event stream reconnected')
      failures = 0
      const splitter = new NdjsonSplitter()
      for await (const chunk of stream) {
        const messages = splitter.push(chunk, (line, error) =>
          logger.warn({ line: line.slice(0, 200), err: error.message }, 'skipping a docker event that is not JSON'),
        )
        for (const raw of messages) {
          const message = raw as DockerEventMessage
          const second = typeof message.time === 'number' ? message.time : undefined
          const key = `${message.timeNano ?? ''}/${message.Actor?.ID ?? message.id ?? ''}/${message.Action ?? ''}`
          if (second !== undefined) {
            // The engine replays only from `since` on, so only that second can repeat. An older
            // event is new: the clock went back (edge devices without an RTC), not a replay.
            if (second === lastSecond && seenInLastSecond.has(key)) continue
            if (second !== lastSecond) {
              lastSecond = second
              seenInLastSecond = new Set()
            }
            seenInLastSecond.add(key)
            since = second
          }
          const event = toRuntimeEvent(message)
          if (event) yield event
        }
      }
      if (signal.aborted) return
      logger.warn({ since }, 'docker event stream ended (engine restart?); reconnecting')
    } catch (error) {
      if (signal.aborted) return
      failures++
      logger.warn({ err: (error as Error).message, failures }, 'docker event stream failed; reconnecting')
    } finally {
      signal.removeEventListener('abort', onAbort)
      stream?.destroy?.()
    }
    const ceiling = Math.min(maxDelay, minDelay * 2 ** Math.min(failures, 16))
    await sleep(Math.round(ceiling / 2 + (random() * ceiling) / 2), signal)
  }
}

/** Resolves after `ms`, or at once when the signal aborts. */
export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve()
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer)
      signal.removeEventListener('abort', done)
      resolve()
    }
    const timer = setTimeout(done, ms)
    signal.addEventListener('abort', done, { once: true })
  })
}

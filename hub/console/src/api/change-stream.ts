import { ApiError, type ApiClient } from './client'
import { SseParser } from './sse-parser'
import type { Change } from './types'

export type StreamState = 'connecting' | 'live' | 'reconnecting'

export interface ChangeStreamOptions {
  readonly client: ApiClient
  readonly onChange: (change: Change) => void
  readonly onState: (state: StreamState) => void
  /** The hub sends a comment every 15 s; silence for this long means a dead link. */
  readonly stallMs?: number
}

const FIRST_RETRY_MS = 500
const MAX_RETRY_MS = 10_000

/**
 * Follows the hub's change stream for as long as the console is open: reads it with fetch (so
 * the bearer token goes in a header), reconnects with jittered backoff, and after every
 * (re)connect emits `resync`, because changes made while disconnected were never sent:
 * pages refetch what they show, level-triggered, rather than trusting they saw every change.
 * Returns a function that closes it.
 */
export function openChangeStream(options: ChangeStreamOptions): () => void {
  const stallMs = options.stallMs ?? 45_000
  let closed = false
  let current: AbortController | null = null
  let retryTimer: ReturnType<typeof setTimeout> | null = null
  let attempt = 0

  const connect = async (): Promise<void> => {
    const controller = new AbortController()
    current = controller
    options.onState(attempt === 0 ? 'connecting' : 'reconnecting')
    let stall: ReturnType<typeof setTimeout> | null = null
    const armStall = (): void => {
      if (stall) clearTimeout(stall)
      stall = setTimeout(() => controller.abort(), stallMs)
    }
    try {
      const response = await options.client.stream(controller.signal)
      const reader = response.body?.getReader()
      if (!reader) throw new Error('the change stream has no body')
      attempt = 0
      options.onState('live')
      options.onChange({ type: 'resync' })
      armStall()
      const parser = new SseParser()
      const decoder = new TextDecoder()
      for (;;) {
        const { done, value } = await reader.read()
        if (done) break
        armStall()
        for (const message of parser.push(decoder.decode(value, { stream: true }))) {
          const change = parseChange(message.data)
          if (change) options.onChange(change)
        }
      }
    } catch (error) {
      // 401 already signed the console out (the client did); nothing to retry then.
      if (error instanceof ApiError && error.status === 401) closed = true
    } finally {
      if (stall) clearTimeout(stall)
    }
    if (closed) return
    attempt++
    const delay = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** (attempt - 1))
    options.onState('reconnecting')
    retryTimer = setTimeout(() => void connect(), delay / 2 + Math.random() * (delay / 2))
  }

  void connect()
  return () => {
    closed = true
    if (retryTimer) clearTimeout(retryTimer)
    current?.abort()
  }
}

function parseChange(data: string): Change | null {
  try {
    const value = JSON.parse(data) as { type?: unknown }
    if (['node', 'deployment', 'job', 'cronjob', 'event', 'alert'].includes(value.type as string)) return value as Change
  } catch {
    // a line the console does not understand: ignore it, the next resync heals
  }
  return null
}

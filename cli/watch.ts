import type { HubClient } from './api-client.js'
import type { CliIo } from './io.js'

export interface WatchOptions {
  /** Ends the watch (Ctrl-C); the watch then resolves normally. */
  readonly signal: AbortSignal
  /** Coalesce bursts of changes (heartbeats of many nodes) into one refresh. */
  readonly debounceMs?: number
  /** Refresh this often even without changes: ages move on, and a missed message heals. */
  readonly periodMs?: number
  /** First wait before reconnecting a broken stream; doubles up to maxBackoffMs. */
  readonly backoffMs?: number
  readonly maxBackoffMs?: number
}

/**
 * Level-triggered watching: `refresh` reads the whole current state and prints what changed.
 * It runs once at the start, after changes on the hub's event stream (debounced), on a
 * period, and after a reconnect, never two at a time. Resolves when the signal aborts.
 */
export async function watchHub(client: HubClient, io: CliIo, refresh: () => Promise<void>, options: WatchOptions): Promise<void> {
  const { signal } = options
  const debounceMs = options.debounceMs ?? 300
  // One warning per distinct problem: a hub that stays down is not reported every period.
  let lastWarning: string | null = null
  const warn = (message: string): void => {
    if (message === lastWarning) return
    lastWarning = message
    io.err(`warning: ${message}\n`)
  }
  let running: Promise<void> = Promise.resolve()
  let queued = false
  let timer: NodeJS.Timeout | null = null
  const run = (): Promise<void> => {
    if (queued) return running
    queued = true
    running = running.then(async () => {
      queued = false
      if (signal.aborted) return
      try {
        await refresh()
        lastWarning = null
      } catch (error) {
        warn((error as Error).message)
      }
    })
    return running
  }
  const soon = (): void => {
    if (timer) return
    timer = setTimeout(() => {
      timer = null
      void run()
    }, debounceMs)
  }
  const period = setInterval(soon, options.periodMs ?? 5_000)
  try {
    await run()
    let backoff = options.backoffMs ?? 1_000
    while (!signal.aborted) {
      try {
        for await (const _message of client.stream(signal)) {
          backoff = options.backoffMs ?? 1_000
          soon()
        }
        if (signal.aborted) break
        warn('the hub closed the event stream; reconnecting')
      } catch (error) {
        if (signal.aborted) break
        warn(`${(error as Error).message}; retrying`)
      }
      await sleep(backoff, signal)
      backoff = Math.min(backoff * 2, options.maxBackoffMs ?? 30_000)
      soon()
    }
  } finally {
    clearInterval(period)
    if (timer) clearTimeout(timer)
    await running
  }
}

/** An AbortSignal that fires on Ctrl-C (SIGINT) or SIGTERM; dispose removes the handlers. */
export function interruptSignal(): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController()
  const stop = (): void => controller.abort()
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
  return {
    signal: controller.signal,
    dispose: () => {
      process.off('SIGINT', stop)
      process.off('SIGTERM', stop)
    },
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms)
    signal.addEventListener('abort', done, { once: true })
    function done(): void {
      clearTimeout(timer)
      signal.removeEventListener('abort', done)
      resolve()
    }
  })
}

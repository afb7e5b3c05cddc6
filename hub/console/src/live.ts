import { createContext } from 'preact'
import { useContext, useEffect, useRef, useState } from 'preact/hooks'
import type { ApiClient } from './api/client'
import type { StreamState } from './api/change-stream'
import type { Change } from './api/types'

/** What every signed-in page gets: the API client and the hub's change stream. */
export interface Live {
  readonly client: ApiClient
  readonly stream: StreamState
  subscribe(listener: (change: Change) => void): () => void
}

export const LiveContext = createContext<Live | null>(null)

export function useLive(): Live {
  const live = useContext(LiveContext)
  if (!live) throw new Error('useLive outside a signed-in page')
  return live
}

/** A fan-out of changes to the pages that listen; one per signed-in session, made in app.tsx. */
export class ChangeBus {
  private readonly listeners = new Set<(change: Change) => void>()

  publish(change: Change): void {
    for (const listener of this.listeners) listener(change)
  }

  subscribe(listener: (change: Change) => void): () => void {
    this.listeners.add(listener)
    return () => void this.listeners.delete(listener)
  }
}

export interface Resource<T> {
  readonly data: T | null
  readonly error: Error | null
  readonly loading: boolean
  reload(): void
}

export interface ResourceOptions<T> {
  /** Which changes make this resource stale; `resync` always does. */
  readonly when: (change: Change) => boolean
  /** Refetch at most this often, however many changes arrive (heartbeats of 1,000 nodes). */
  readonly minIntervalMs?: number | ((data: T | null) => number)
  /**
   * When `key` changes (a list's filter), keep showing the previous key's data until the new
   * arrives, instead of nothing: the rows do not vanish and come back (no layout shift). Only
   * for the same kind of data under another filter, never for another object.
   */
  readonly keepPrevious?: boolean
}

/**
 * Data from the hub that stays current: fetched when the page opens (or `key` changes), then
 * again when a matching change arrives, throttled with a trailing fetch so the last change is
 * never missed. Keeps the previous data on screen while it refetches (with `keepPrevious`,
 * also while a new key's first fetch runs), and the previous data with the error when a refetch
 * fails.
 */
export function useResource<T>(key: string, fetcher: () => Promise<T>, options: ResourceOptions<T>): Resource<T> {
  const live = useLive()
  const [state, setState] = useState<{ key: string; data: T | null; error: Error | null; loading: boolean }>({ key, data: null, error: null, loading: true })
  const fetcherRef = useRef(fetcher)
  fetcherRef.current = fetcher
  const optionsRef = useRef(options)
  optionsRef.current = options
  const reloadRef = useRef<() => void>(() => undefined)
  const dataRef = useRef<T | null>(null)
  dataRef.current = state.key === key ? state.data : null

  useEffect(() => {
    let disposed = false
    let inFlight = false
    let again = false
    let timer: ReturnType<typeof setTimeout> | null = null
    let lastStart = 0
    setState((s) => (s.key === key ? { ...s, loading: true } : { key, data: optionsRef.current.keepPrevious ? s.data : null, error: null, loading: true }))

    const run = async (): Promise<void> => {
      timer = null
      inFlight = true
      lastStart = Date.now()
      try {
        const data = await fetcherRef.current()
        if (!disposed) setState({ key, data, error: null, loading: false })
      } catch (error) {
        if (!disposed) setState((s) => ({ ...s, key, error: error instanceof Error ? error : new Error(String(error)), loading: false }))
      } finally {
        inFlight = false
      }
      if (again && !disposed) {
        again = false
        schedule()
      }
    }
    const interval = (): number => {
      const min = optionsRef.current.minIntervalMs ?? 1000
      return typeof min === 'function' ? min(dataRef.current) : min
    }
    const schedule = (immediate = false): void => {
      if (disposed) return
      if (inFlight) {
        again = true
        return
      }
      if (timer !== null) return
      timer = setTimeout(() => void run(), immediate ? 0 : Math.max(0, lastStart + interval() - Date.now()))
    }
    reloadRef.current = () => schedule(true)
    void run()
    const unsubscribe = live.subscribe((change) => {
      if (change.type === 'resync' || optionsRef.current.when(change)) schedule()
    })
    return () => {
      disposed = true
      if (timer !== null) clearTimeout(timer)
      unsubscribe()
    }
  }, [key, live.client, live.subscribe])

  // Between a key change and the effect above, the state still holds the previous key's.
  const current = state.key === key ? state : { data: options.keepPrevious ? state.data : null, error: null, loading: true }
  return { data: current.data, error: current.error, loading: current.loading, reload: () => reloadRef.current() }
}

/** The current time, updated every `everyMs`: for "last seen 12s ago" that keeps counting. */
export function useNow(everyMs = 1000): number {
  const [now, setNow] = useState(() => Date.now())
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), everyMs)
    return () => clearInterval(timer)
  }, [everyMs])
  return now
}

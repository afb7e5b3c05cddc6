export interface WaitOptions {
  /** What is being waited for, named in the timeout error. */
  what: string
  timeoutMs?: number
  intervalMs?: number
  /** Stop polling early (the promise then rejects with the abort reason). */
  signal?: AbortSignal
}

export const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const timer = setTimeout(done, ms)
    signal?.addEventListener('abort', done, { once: true })
    function done(): void {
      clearTimeout(timer)
      signal?.removeEventListener('abort', done)
      resolve()
    }
  })

/**
 * Poll `fn` until it returns a truthy value (which is returned) or the time
 * is up. A throw counts as "not yet"; the last error is kept for the message.
 */
export async function waitFor<T>(fn: () => T | Promise<T>, { what, timeoutMs = 10_000, intervalMs = 100, signal }: WaitOptions): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  for (;;) {
    signal?.throwIfAborted()
    try {
      const value = await fn()
      if (value) return value as NonNullable<T>
      last = undefined
    } catch (err) {
      last = err
    }
    if (Date.now() >= deadline) break
    await sleep(Math.min(intervalMs, Math.max(0, deadline - Date.now())), signal)
  }
  const why = last instanceof Error ? `: last error: ${last.message}` : last === undefined ? '' : `: ${String(last)}`
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${why}`)
}

/** The longest Retry-After an agent honours; a hub asking for more is waited on this long, then asked again. */
export const MAX_RETRY_AFTER_MS = 600_000

/**
 * A Retry-After header (RFC 9110: delay-seconds or an HTTP date) as milliseconds to wait from
 * `now`; null when absent or unreadable, so the caller falls back on its own backoff. Pure.
 */
export function parseRetryAfterMs(header: string | undefined, now: number): number | null {
  if (header === undefined) return null
  const text = header.trim()
  if (/^\d+$/.test(text)) return Math.min(Number(text) * 1000, MAX_RETRY_AFTER_MS)
  const at = Date.parse(text)
  if (!/[a-z]/i.test(text) || Number.isNaN(at)) return null
  return Math.min(Math.max(0, at - now), MAX_RETRY_AFTER_MS)
}

/**
 * The wait before asking again: never sooner than the hub said, plus a random share of up to
 * half of it (and a second), so nodes told the same time do not all come back at once. Pure.
 */
export function jitteredRetryAfterMs(retryAfterMs: number, random: () => number = Math.random): number {
  return retryAfterMs + Math.floor(random() * (retryAfterMs / 2 + 1000))
}

import { Duration, IsoTime, MAX_FOLLOW_SECONDS, Name, durationMs } from '../../protocol/index.js'
import { badRequest } from './http-errors.js'

/**
 * The query of `GET /api/v1/deployments/:name/logs`, checked, and which (node, workload)
 * pairs it reads. Pure: the route does the I/O.
 */
export interface DeploymentLogQuery {
  readonly node: string | null
  /** A container of a several-container copy; null: its first (or its only). */
  readonly container: string | null
  readonly tail?: number
  /** RFC 3339, already resolved from a duration. */
  readonly since?: string
  readonly follow: boolean
  readonly followSeconds: number
}

/** Without tail or since, the last this many lines: a log read over a metered link stays small. */
export const DEFAULT_TAIL = 1000
export const MAX_TAIL = 10_000

export function parseLogQuery(params: URLSearchParams, now: number): DeploymentLogQuery {
  const node = params.get('node') || null
  const container = params.get('container') || null
  if (container !== null && !Name.safeParse(container).success)
    throw badRequest(`container must be a container's name (lower-case letters, digits and "-"), got ${JSON.stringify(container)}`)
  const follow = parseBoolean(params.get('follow'), 'follow')
  const tailText = params.get('tail')
  let tail: number | undefined
  if (tailText !== null && tailText !== '') {
    tail = Number(tailText)
    if (!/^\d+$/.test(tailText) || !Number.isSafeInteger(tail) || tail > MAX_TAIL)
      throw badRequest(`tail must be a whole number of lines from 0 to ${MAX_TAIL}, got ${JSON.stringify(tailText)}`)
  }
  const sinceText = params.get('since')
  const since = sinceText === null || sinceText === '' ? undefined : parseSince(sinceText, now)
  const followText = params.get('followSeconds')
  let followSeconds = MAX_FOLLOW_SECONDS
  if (followText !== null && followText !== '') {
    followSeconds = Number(followText)
    if (!/^\d+$/.test(followText) || followSeconds < 1 || followSeconds > MAX_FOLLOW_SECONDS) {
      throw badRequest(`followSeconds must be between 1 and ${MAX_FOLLOW_SECONDS}, got ${JSON.stringify(followText)}`)
    }
  }
  if (tail === undefined && since === undefined) tail = DEFAULT_TAIL
  return { node, container, follow, followSeconds, ...(tail !== undefined ? { tail } : {}), ...(since !== undefined ? { since } : {}) }
}

/** RFC 3339, or a duration back from now ("10m", "1h30m"). */
export function parseSince(text: string, now: number): string {
  if (Duration.safeParse(text).success) return new Date(now - durationMs(text)).toISOString()
  if (IsoTime.safeParse(text).success) return text
  throw badRequest(`since must be a duration such as 10m or 2h, or an RFC 3339 time such as 2025-03-01T12:00:00Z, got ${JSON.stringify(text)}`)
}

function parseBoolean(text: string | null, name: string): boolean {
  if (text === null || text === '' || text === 'false' || text === '0') return false
  if (text === 'true' || text === '1') return true
  throw badRequest(`${name} must be true or false, got ${JSON.stringify(text)}`)
}

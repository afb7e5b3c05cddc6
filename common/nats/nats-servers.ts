/**
 * A NATS cluster is reached through a list of its servers: `nats://a:4222,nats://b:4222` (one
 * string, as the nats CLI takes it) or the same URLs one by one (a repeated flag). One server is a
 * list of one. Credentials may sit in the URLs; they must be the same wherever they appear, since
 * one client logs in with one user whichever server it reaches.
 */
export interface NatsServerList {
  /** `host:port` each, in the order given (nats.js randomizes its dialing order itself). */
  readonly servers: readonly string[]
  readonly user?: string
  readonly pass?: string
}

export class NatsServerListError extends Error {
  readonly code = 'nats-server-list'
  constructor(
    readonly text: string,
    message: string,
  ) {
    super(`${JSON.stringify(text)}: ${message}`)
    this.name = 'NatsServerListError'
  }
}

const DEFAULT_PORT = '4222'

/** Splits every entry on commas and drops blanks: `['a,b', 'c']` → `['a', 'b', 'c']`. Pure. */
export function splitNatsUrls(entries: string | readonly string[]): string[] {
  return (typeof entries === 'string' ? [entries] : entries)
    .flatMap((entry) => entry.split(','))
    .map((part) => part.trim())
    .filter((part) => part !== '')
}

/** Parses one URL or a list of them; throws NatsServerListError naming the bad entry. Pure. */
export function parseNatsServerList(entries: string | readonly string[]): NatsServerList {
  const text = typeof entries === 'string' ? entries : entries.join(',')
  const urls = splitNatsUrls(entries)
  if (urls.length === 0) throw new NatsServerListError(text, 'names no NATS server (expected nats://host:port, or several separated by commas)')
  const servers: string[] = []
  let user: string | undefined
  let pass: string | undefined
  for (const entry of urls) {
    let url: URL
    try {
      url = new URL(entry)
    } catch {
      throw new NatsServerListError(text, `${JSON.stringify(entry)} is not a URL (expected nats://host:port)`)
    }
    if (url.protocol !== 'nats:' && url.protocol !== 'tls:') throw new NatsServerListError(text, `${JSON.stringify(entry)}: expected nats:// or tls://`)
    if (url.hostname === '') throw new NatsServerListError(text, `${JSON.stringify(entry)} names no host`)
    const entryUser = url.username ? decodeURIComponent(url.username) : undefined
    const entryPass = url.password ? decodeURIComponent(url.password) : undefined
    if (entryUser !== undefined || entryPass !== undefined) {
      if ((user !== undefined || pass !== undefined) && (entryUser !== user || entryPass !== pass))
        throw new NatsServerListError(text, 'the URLs carry different credentials; one client logs in as one user on every server')
      user = entryUser
      pass = entryPass
    }
    const server = `${url.hostname}:${url.port || DEFAULT_PORT}`
    if (!servers.includes(server)) servers.push(server)
  }
  return { servers, ...(user !== undefined ? { user } : {}), ...(pass !== undefined ? { pass } : {}) }
}

/** `nats://a:4222,nats://b:4222`, with the credentials in each URL when given. Pure. */
export function formatNatsServerList(list: NatsServerList): string {
  const credentials = list.user !== undefined ? `${encodeURIComponent(list.user)}${list.pass !== undefined ? `:${encodeURIComponent(list.pass)}` : ''}@` : ''
  return list.servers.map((server) => `nats://${credentials}${server}`).join(',')
}

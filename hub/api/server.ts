import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { timingSafeEqual } from 'node:crypto'
import type { Socket } from 'node:net'
import type { Logger } from 'pino'
import { ApiError, Created, storageFailure } from './http-errors.js'
import type { RequestContext, Router } from './router.js'

export interface ApiServerOptions {
  readonly router: Router
  readonly adminToken: string
  readonly logger: Logger
  readonly maxBodyBytes: number
  /** Serves anything the router does not (the console's static files). */
  readonly fallback?: (req: IncomingMessage, res: ServerResponse) => boolean
  /** Defaults: DEFAULT_CONNECTION_LIMITS. */
  readonly limits?: Partial<ConnectionLimits>
}

/**
 * What one client may hold of the API server. Node's defaults let a client that sends its
 * headers one byte at a time keep a socket for a minute (checked only every 30 s), and any
 * number of them.
 */
export interface ConnectionLimits {
  /** To receive a request's headers; a slower client gets 408 and is disconnected. */
  readonly headersTimeoutMs: number
  /**
   * To receive a whole request, body included. Only the request: an answer may stream for as
   * long as it likes (the change stream, log follows).
   */
  readonly requestTimeoutMs: number
  /** An idle keep-alive connection is closed after this. */
  readonly keepAliveTimeoutMs: number
  /** How often the two request timeouts are checked. */
  readonly checkIntervalMs: number
  /** Connections one remote address may have open at once; one more is answered 503 and closed. */
  readonly maxConnectionsPerClient: number
}

export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 60_000,
  keepAliveTimeoutMs: 5_000,
  checkIntervalMs: 1_000,
  maxConnectionsPerClient: 32,
}

/** A refused connection gets this long to read its 503 before it is cut. */
const REFUSED_LINGER_MS = 2_000

/** Whether an offered token is the admin token, in constant time (the API's and the session socket's one check). */
export function adminTokenCheck(adminToken: string): (offered: string) => boolean {
  const expected = Buffer.from(adminToken)
  return (offered) => {
    const bytes = Buffer.from(offered)
    return bytes.length === expected.length && timingSafeEqual(bytes, expected)
  }
}

/** The token of an `Authorization: Bearer` header, or null. */
export function bearerTokenOf(req: IncomingMessage): string | null {
  const match = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')
  return match?.[1]?.trim() ?? null
}

/**
 * node:http with a small router: JSON in and out, bearer-token auth, and errors answered as
 * `{ error: { code, message, details } }` — never a stack trace.
 */
export function createApiServer(options: ApiServerOptions): Server {
  const logger = options.logger.child({ component: 'api' })
  const tokenMatches = adminTokenCheck(options.adminToken)
  const authorized = (req: IncomingMessage): boolean => tokenMatches(bearerTokenOf(req) ?? '')
  const limits = { ...DEFAULT_CONNECTION_LIMITS, ...options.limits }
  /** Connections over the per-client limit: answered 503 already, their requests ignored. */
  const refused = new WeakSet<Socket>()
  const server = createServer(
    { headersTimeout: limits.headersTimeoutMs, requestTimeout: limits.requestTimeoutMs, connectionsCheckingInterval: limits.checkIntervalMs },
    (req, res) => {
      if (refused.has(req.socket)) return // answered 503 already; closing
      void handle(req, res).catch((error: unknown) => {
        logger.error({ err: error }, 'unhandled API error')
        if (!res.headersSent) sendJson(res, 500, { error: { code: 'internal', message: 'internal error; see the hub log' } })
        else res.end()
      })
    },
  )
  server.keepAliveTimeout = limits.keepAliveTimeoutMs
  limitConnectionsPerClient(server, limits.maxConnectionsPerClient, refused, logger)
  return server

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://hub.invalid')
    const method = req.method ?? 'GET'
    const matched = options.router.match(method, url.pathname)
    if (matched === null && options.fallback?.(req, res)) return
    // Authentication comes first: without the token, what is not a public route answers 401
    // whether it exists or not, so the API cannot be mapped (or its parsers reached) anonymously.
    const isPublic = matched !== null && 'route' in matched && matched.route.public
    if (!isPublic && !authorized(req)) {
      res.setHeader('www-authenticate', 'Bearer')
      sendJson(res, 401, {
        error: {
          code: 'unauthorized',
          message: 'missing or wrong bearer token; use the admin token from the hub data directory (shoal login URL --token ...)',
        },
      })
      return
    }
    if (matched === null) {
      sendJson(res, 404, { error: { code: 'not-found', message: `no such endpoint: ${method} ${url.pathname}` } })
      return
    }
    if ('allowed' in matched) {
      res.setHeader('allow', matched.allowed.join(', '))
      sendJson(res, 405, { error: { code: 'method-not-allowed', message: `${method} is not allowed on ${url.pathname}; use ${matched.allowed.join(' or ')}` } })
      return
    }
    if ('malformed' in matched) {
      sendJson(res, 400, { error: { code: 'bad-request', message: `the ${matched.malformed} in ${url.pathname} has a malformed percent-escape` } })
      return
    }
    const context: RequestContext = {
      req,
      res,
      url,
      params: matched.params,
      actor: matched.route.public ? 'anonymous' : 'admin',
      body: () => readBody(req, options.maxBodyBytes),
    }
    try {
      const result = await matched.route.handler(context)
      if (res.writableEnded || res.headersSent) return
      if (typeof result === 'string') {
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' })
        res.end(result)
        return
      }
      if (result instanceof Created) sendJson(res, 201, result.body)
      else sendJson(res, 200, result ?? {})
    } catch (error) {
      const storage = storageFailure(error)
      if (storage) logger.error({ err: error, method, path: url.pathname }, storage.message)
      const answer = error instanceof ApiError ? error : storage
      if (answer) {
        sendJson(res, answer.status, { error: { code: answer.code, message: answer.message, ...(answer.details ? { details: answer.details } : {}) } })
        return
      }
      throw error
    }
  }
}

/**
 * Counts open connections per remote address. One over the limit is answered at once with a
 * 503 (which the agent's enrollment retries, where a 4xx would be final), `retry-after` and
 * `connection: close`, before its request is read, and cut shortly after, so a client cannot
 * pile up sockets however it behaves. Refused sockets go into `refused`.
 */
function limitConnectionsPerClient(server: Server, max: number, refused: WeakSet<Socket>, logger: Logger): void {
  const open = new Map<string, number>()
  const warned = new Map<string, number>()
  server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress
    if (address === undefined) return // already gone
    const count = open.get(address) ?? 0
    if (count < max) {
      open.set(address, count + 1)
      socket.once('close', () => {
        const left = (open.get(address) ?? 1) - 1
        if (left > 0) open.set(address, left)
        else open.delete(address)
      })
      return
    }
    refused.add(socket)
    const body = JSON.stringify({
      error: {
        code: 'too-many-connections',
        message: `${address} already has ${max} connections open to this hub, the most one client may; close some, or retry shortly`,
      },
    })
    socket.end(
      `HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nretry-after: 1\r\nconnection: close\r\n\r\n${body}`,
    )
    const cut = setTimeout(() => socket.destroy(), REFUSED_LINGER_MS)
    cut.unref()
    socket.once('close', () => clearTimeout(cut))
    socket.on('error', () => undefined) // a reset from the client is expected here
    // Once a minute per address at most, so a flood cannot flood the log too.
    const now = Date.now()
    if (now - (warned.get(address) ?? 0) >= 60_000) {
      warned.set(address, now)
      if (warned.size > 1024) warned.clear()
      logger.warn({ client: address, limit: max }, 'refused a connection: too many open from this client')
    }
  })
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) })
  res.end(text)
}

/** Past this much of a refused body the connection is cut rather than drained. */
const DRAIN_LIMIT_FACTOR = 16

/**
 * Reads a body up to maxBytes. A larger one is read to its end and dropped before the 413 is
 * sent: answering early and closing makes the client's pending write fail (EPIPE) before it
 * ever reads the answer. Only an absurd upload (16x the limit) has its connection cut.
 */
function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (chunk: Buffer) => {
      size += chunk.byteLength
      if (size > maxBytes) {
        chunks.length = 0
        if (size > maxBytes * DRAIN_LIMIT_FACTOR) {
          reject(new ApiError(413, 'too-large', `request body exceeds ${maxBytes} bytes`))
          req.destroy()
        }
        return
      }
      chunks.push(chunk)
    })
    req.on('end', () => {
      if (size > maxBytes) reject(new ApiError(413, 'too-large', `request body exceeds ${maxBytes} bytes`))
      else resolve(Buffer.concat(chunks))
    })
    req.on('error', reject)
  })
}

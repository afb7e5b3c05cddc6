import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { timingSafeEqual } from 'node:crypto'
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
}

/**
 * node:http with a small router: JSON in and out, bearer-token auth, and errors answered as
 * `{ error: { code, message, details } }` — never a stack trace.
 */
export function createApiServer(options: ApiServerOptions): Server {
  const logger = options.logger.child({ component: 'api' })
  const expected = Buffer.from(options.adminToken)
  const authorized = (req: IncomingMessage): boolean => {
    const header = req.headers.authorization ?? ''
    const match = /^Bearer\s+(.+)$/i.exec(header)
    const offered = Buffer.from(match?.[1]?.trim() ?? '')
    return offered.length === expected.length && timingSafeEqual(offered, expected)
  }
  return createServer((req, res) => {
    void handle(req, res).catch((error: unknown) => {
      logger.error({ err: error }, 'unhandled API error')
      if (!res.headersSent) sendJson(res, 500, { error: { code: 'internal', message: 'internal error; see the hub log' } })
      else res.end()
    })
  })

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
      sendJson(res, 401, { error: { code: 'unauthorized', message: 'missing or wrong bearer token; use the admin token from the hub data directory (shoal login URL --token ...)' } })
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

import type { IncomingMessage, Server } from 'node:http'
import type { Duplex } from 'node:stream'
import type { Logger } from 'pino'
import { WebSocket, WebSocketServer, type RawData } from 'ws'
import { decodeClientMessage, encodeServerData } from '../../protocol/api/session-messages.js'
import { SESSION_ATTACH_PATH, SESSION_BEARER_PREFIX, SESSION_SUBPROTOCOL, SessionRequest, type SessionEndMessage } from '../../protocol/api/sessions.js'
import { SESSION_INITIAL_WINDOW_BYTES } from '../../protocol/session.js'
import type { RelaySession, SessionClient } from './relay-session.js'
import type { SessionRelay } from './session-relay.js'

export interface SessionSocketOptions {
  readonly relay: Pick<SessionRelay, 'open'>
  /** The API's token check: the name of who the token belongs to, or null. */
  readonly authenticate: (token: string) => string | null
  readonly logger: Logger
  /** The first message (the request) must come within this long (default 10 s). */
  readonly requestTimeoutMs?: number
}

/** The largest message the hub reads from an operator: one stdin write is cut into frames after it. */
const MAX_CLIENT_MESSAGE_BYTES = SESSION_INITIAL_WINDOW_BYTES
/** How long a closing socket may take for the closing handshake at hub stop. */
const CLOSE_GRACE_MS = 1_000

/** A browser's token, offered as a subprotocol (it cannot set headers on a WebSocket). */
export function tokenOfSubprotocols(header: string | undefined): string | null {
  for (const offered of (header ?? '').split(',').map((p) => p.trim())) {
    if (!offered.startsWith(SESSION_BEARER_PREFIX)) continue
    const token = Buffer.from(offered.slice(SESSION_BEARER_PREFIX.length), 'base64url').toString('utf8')
    if (token) return token
  }
  return null
}

/**
 * The operator's session WebSocket at SESSION_ATTACH_PATH on the API's HTTP server: the token of
 * the API's write routes (an `Authorization: Bearer` header, or a browser's subprotocol), the
 * SessionRequest as the first message, then the relay. Closing it ends every socket.
 */
export class SessionSockets {
  private readonly wss: WebSocketServer
  private readonly log: Logger

  constructor(private readonly options: SessionSocketOptions) {
    this.log = options.logger.child({ component: 'session-socket' })
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: MAX_CLIENT_MESSAGE_BYTES,
      perMessageDeflate: false,
      handleProtocols: (protocols) => (protocols.has(SESSION_SUBPROTOCOL) ? SESSION_SUBPROTOCOL : false),
    })
  }

  /** Takes the upgrades of `server` (only ours: any other path is answered 404). */
  attach(server: Server): void {
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.upgrade(req, socket, head))
  }

  /** Ends every socket; the relay has told each its session's end already. */
  async close(): Promise<void> {
    const clients = [...this.wss.clients]
    for (const ws of clients) if (ws.readyState === WebSocket.OPEN) ws.close(1001, 'the hub is stopping')
    await Promise.all(
      clients.map(
        (ws) =>
          new Promise<void>((resolve) => {
            if (ws.readyState === WebSocket.CLOSED) return resolve()
            const timer = setTimeout(() => {
              ws.terminate()
              resolve()
            }, CLOSE_GRACE_MS)
            ws.once('close', () => {
              clearTimeout(timer)
              resolve()
            })
          }),
      ),
    )
    await new Promise<void>((resolve) => this.wss.close(() => resolve()))
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://hub.invalid')
    if (url.pathname !== SESSION_ATTACH_PATH) return refuseUpgrade(socket, 404, 'Not Found', `no WebSocket endpoint at ${url.pathname}`)
    const match = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')
    const token = match?.[1]?.trim() ?? tokenOfSubprotocols(req.headers['sec-websocket-protocol'])
    const user = token ? this.options.authenticate(token) : null
    if (!user) return refuseUpgrade(socket, 401, 'Unauthorized', 'missing or wrong bearer token')
    this.wss.handleUpgrade(req, socket, head, (ws) => this.serve(ws, user))
  }

  private serve(ws: WebSocket, user: string): void {
    let session: RelaySession | null = null
    let ended = false
    const end = (message: SessionEndMessage): void => {
      if (ended) return
      ended = true
      if (ws.readyState !== WebSocket.OPEN) return
      ws.send(JSON.stringify(message), () => ws.close(1000))
    }
    const client: SessionClient = {
      opened: (message) => ws.readyState === WebSocket.OPEN && ws.send(JSON.stringify(message)),
      data: (stream, bytes, flushed) => {
        if (ws.readyState !== WebSocket.OPEN) return
        ws.send(encodeServerData(stream, bytes), (error) => {
          if (!error) flushed()
        })
      },
      end,
      pause: () => ws.pause(),
      resume: () => ws.resume(),
    }
    const timer = setTimeout(
      () => end({ type: 'end', exitCode: null, error: { code: 'bad-request', message: 'no session request within 10 s' } }),
      this.options.requestTimeoutMs ?? 10_000,
    )
    ws.on('message', (data: RawData, isBinary: boolean) => {
      const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer)
      if (ended) return
      if (session === null) {
        clearTimeout(timer)
        const request = isBinary ? null : parseRequest(bytes)
        if (!request || 'problem' in request) {
          end({
            type: 'end',
            exitCode: null,
            error: { code: 'bad-request', message: request?.problem ?? 'the first message must be a session request (JSON text)' },
          })
          return
        }
        session = this.options.relay.open(request.ok, user, client)
        if (session === null) ended = true
        return
      }
      if (!isBinary) {
        session.abort('bad-request', 'after the request, a session takes binary messages only')
        return
      }
      try {
        session.fromClient(decodeClientMessage(bytes))
      } catch (error) {
        session.abort('bad-request', (error as Error).message)
      }
    })
    ws.on('close', () => {
      clearTimeout(timer)
      ended = true
      session?.clientGone()
    })
    ws.on('error', (error) => this.log.debug({ err: error }, 'session socket error'))
  }
}

function parseRequest(bytes: Buffer): { ok: SessionRequest } | { problem: string } {
  let value: unknown
  try {
    value = JSON.parse(bytes.toString('utf8'))
  } catch {
    return { problem: 'the session request is not JSON' }
  }
  const parsed = SessionRequest.safeParse(value)
  if (!parsed.success)
    return { problem: `invalid session request: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}` }
  return { ok: parsed.data }
}

function refuseUpgrade(socket: Duplex, status: number, reason: string, message: string): void {
  const body = JSON.stringify({ error: { code: status === 401 ? 'unauthorized' : 'not-found', message } })
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${status === 401 ? 'WWW-Authenticate: Bearer\r\n' : ''}\r\n${body}`,
  )
}

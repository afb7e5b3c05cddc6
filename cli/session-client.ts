import { WebSocket, type RawData } from 'ws'
import { decodeServerData, encodeClientMessage, type ClientMessage } from '../protocol/api/session-messages.js'
import { SESSION_ATTACH_PATH, SessionServerMessage, type SessionEndMessage, type SessionOpenedMessage, type SessionRequest } from '../protocol/api/sessions.js'
import type { TerminalSize } from '../protocol/session.js'
import { HubAuthError, HubUnreachableError } from './api-client.js'
import type { Connection } from './contexts.js'
import { CliError, ExitCode } from './io.js'

/** What the operator's side of a session does with what comes back. */
export interface SessionOutput {
  /** Bytes of stdout or stderr; return false to say the reader is full (the socket stops reading until `resume`). */
  data(stream: 'stdout' | 'stderr', bytes: Buffer): boolean
}

/** A refusal or a failure before the session ran: the hub's or the node's code and message. */
export class SessionRefusedError extends CliError {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message, ExitCode.failed)
    this.name = 'SessionRefusedError'
  }
}

/** How much the CLI lets queue on its socket before it stops reading its own input. */
const MAX_UNSENT_BYTES = 1024 * 1024
const WRITE_PIECE_BYTES = 64 * 1024
/** The hub must answer the request (opened, or why not) within this long: its own timeout is 10 s per step. */
const OPEN_TIMEOUT_MS = 60_000

/** The WebSocket URL of the hub's session endpoint. Pure. */
export function sessionUrlOf(hub: string): string {
  const url = new URL(SESSION_ATTACH_PATH, hub.endsWith('/') ? hub : `${hub}/`)
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:'
  return url.toString()
}

/** The end of a session, as the CLI's exit code: the remote command's, 0 for a clean end, 1 for an error. Pure. */
export function exitCodeOfEnd(end: SessionEndMessage): number {
  if (end.error) return 1
  return end.exitCode ?? 0
}

/**
 * One session from the CLI: a WebSocket to the hub carrying the request, then binary messages
 * both ways. `open` resolves once the node runs it (or throws SessionRefusedError); `ended`
 * resolves with the hub's end message (or an end made up here if the socket breaks).
 */
export class CliSession {
  readonly ended: Promise<SessionEndMessage>
  private unsent = 0
  private readonly drainWaiters: (() => void)[] = []
  private finished = false

  private constructor(
    private readonly ws: WebSocket,
    readonly opened: SessionOpenedMessage,
    ended: Promise<SessionEndMessage>,
  ) {
    this.ended = ended
    void ended.then(() => {
      this.finished = true
      for (const wake of this.drainWaiters.splice(0)) wake()
    })
  }

  static open(connection: Pick<Connection, 'hub' | 'token' | 'source'>, request: SessionRequest, output: SessionOutput): Promise<CliSession> {
    const ws = new WebSocket(sessionUrlOf(connection.hub), { headers: { authorization: `Bearer ${connection.token}` }, perMessageDeflate: false })
    return new Promise<CliSession>((resolve, reject) => {
      let session: CliSession | null = null
      let settleEnd: (end: SessionEndMessage) => void = () => undefined
      const ended = new Promise<SessionEndMessage>((resolveEnd) => {
        settleEnd = resolveEnd
      })
      const timer = setTimeout(() => {
        reject(new HubUnreachableError(connection.hub, `the session did not open within ${OPEN_TIMEOUT_MS / 1000}s`, connection.source))
        ws.terminate()
      }, OPEN_TIMEOUT_MS)
      let end: SessionEndMessage | null = null
      ws.on('unexpected-response', (_req, res) => {
        clearTimeout(timer)
        reject(res.statusCode === 401 ? new HubAuthError(connection.hub) : new CliError(`the hub refused the session socket: HTTP ${res.statusCode}`))
        res.resume()
        ws.terminate()
      })
      ws.on('open', () => ws.send(JSON.stringify(request)))
      ws.on('message', (data: RawData, isBinary: boolean) => {
        const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer)
        if (isBinary) {
          const { stream, bytes: payload } = decodeServerData(bytes)
          if (!output.data(stream, payload)) ws.pause()
          return
        }
        const message = SessionServerMessage.safeParse(JSON.parse(bytes.toString('utf8')))
        if (!message.success) return
        if (message.data.type === 'opened') {
          clearTimeout(timer)
          session = new CliSession(ws, message.data, ended)
          resolve(session)
          return
        }
        end = message.data
        if (session === null) {
          clearTimeout(timer)
          const error = message.data.error
          reject(new SessionRefusedError(error?.code ?? 'failed', error ? `${error.message} (${error.code})` : 'the session ended before it opened'))
        }
        settleEnd(message.data)
      })
      ws.on('error', (error) => {
        if (session === null) {
          clearTimeout(timer)
          reject(new HubUnreachableError(connection.hub, error.message, connection.source))
        }
      })
      ws.on('close', () => {
        clearTimeout(timer)
        if (session === null) reject(new HubUnreachableError(connection.hub, 'the hub closed the session socket', connection.source))
        settleEnd(end ?? { type: 'end', exitCode: null, error: { code: 'closed', message: 'the connection to the hub was lost' } })
      })
    })
  }

  /** Reads the socket again after `data` said the reader was full. */
  resume(): void {
    this.ws.resume()
  }

  /** Sends bytes of input; resolves when more may be sent (the socket's queue is short enough). */
  async write(bytes: Buffer): Promise<void> {
    // One message per 64 KiB: the hub reads messages of at most 512 KiB.
    for (let at = 0; at < bytes.length; at += WRITE_PIECE_BYTES) this.send({ type: 'stdin', bytes: bytes.subarray(at, at + WRITE_PIECE_BYTES) })
    while (this.unsent > MAX_UNSENT_BYTES && !this.finished) await new Promise<void>((wake) => this.drainWaiters.push(wake))
  }

  eof(): void {
    this.send({ type: 'eof' })
  }

  resize(size: TerminalSize): void {
    this.send({ type: 'resize', size })
  }

  /** Ends the session from this side (the node is told to stop). */
  close(): void {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close(1000)
  }

  private send(message: ClientMessage): void {
    if (this.finished || this.ws.readyState !== WebSocket.OPEN) return
    const bytes = encodeClientMessage(message)
    this.unsent += bytes.length
    this.ws.send(bytes, () => {
      this.unsent -= bytes.length
      if (this.unsent <= MAX_UNSENT_BYTES) for (const wake of this.drainWaiters.splice(0)) wake()
    })
  }
}

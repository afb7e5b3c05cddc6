import {
  SessionProtocolError,
  eofFrame,
  readServerData,
  readServerMessage,
  resizeFrame,
  sessionSubprotocols,
  stdinFrame,
  type ServerData,
  type SessionOutcome,
} from './session-frames'
import type { SessionOpenedMessage, SessionRequest, TerminalSize } from './types'

/** Input is sent in pieces no larger than this: well under the hub's 64 KiB data frame, so a large paste is never refused. */
const INPUT_PIECE_BYTES = 16 * 1024

export interface SessionListener {
  opened(message: SessionOpenedMessage): void
  data(data: ServerData): void
  /** Called once: the hub's end, or the console's own reason when the socket closed without one. */
  ended(outcome: SessionOutcome): void
}

type Phase = 'connecting' | 'requested' | 'open' | 'ended'

/**
 * One remote session over its WebSocket (protocol/api/sessions.ts): sends the request once the
 * socket opens, then input, resizes and end-of-input while the session is open, and hands what
 * the hub sends to the listener. `dispose()` closes it and says nothing more to the listener (a
 * page that is going away).
 */
export class SessionSocket {
  private readonly socket: WebSocket
  private phase: Phase = 'connecting'
  private listener: SessionListener | null
  /** The latest size asked for before the session opened; sent once it does, if it differs from the request's. */
  private pendingSize: TerminalSize | null = null

  constructor(url: string, token: string, request: SessionRequest, listener: SessionListener) {
    this.listener = listener
    this.socket = new WebSocket(url, sessionSubprotocols(token))
    this.socket.binaryType = 'arraybuffer'
    this.socket.onopen = () => {
      this.phase = 'requested'
      this.socket.send(JSON.stringify(request))
    }
    this.socket.onmessage = (event: MessageEvent) => this.receive(event.data)
    // An error event is always followed by a close event, which says what happened.
    this.socket.onerror = () => undefined
    this.socket.onclose = (event: CloseEvent) => {
      const before = this.phase
      this.finish({ exitCode: null, error: { code: 'closed', message: closeMessage(before, event) } })
    }
  }

  get isOpen(): boolean {
    return this.phase === 'open'
  }

  /** Keystrokes or a paste; dropped unless the session is open (nothing on the other end reads it yet, or any more). */
  input(data: string | Uint8Array): void {
    if (this.phase !== 'open') return
    const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data
    for (let at = 0; at < bytes.length; at += INPUT_PIECE_BYTES) this.socket.send(stdinFrame(bytes.subarray(at, at + INPUT_PIECE_BYTES)))
  }

  resize(size: TerminalSize): void {
    if (this.phase === 'open') this.socket.send(resizeFrame(size))
    else if (this.phase !== 'ended') this.pendingSize = size
  }

  /** Closes the command's stdin; output still comes until the command ends. */
  endInput(): void {
    if (this.phase === 'open') this.socket.send(eofFrame())
  }

  /** Stops listening and closes the socket: the hub ends the session on its side. */
  dispose(): void {
    this.listener = null
    this.phase = 'ended'
    if (this.socket.readyState === WebSocket.CONNECTING || this.socket.readyState === WebSocket.OPEN) this.socket.close(1000, 'closed by the operator')
  }

  private receive(data: unknown): void {
    if (this.phase === 'ended') return
    try {
      if (typeof data === 'string') {
        const message = readServerMessage(data)
        if (message.type === 'end') {
          this.finish(message)
          return
        }
        this.phase = 'open'
        this.listener?.opened(message)
        if (this.pendingSize) this.socket.send(resizeFrame(this.pendingSize))
        this.pendingSize = null
        return
      }
      if (data instanceof ArrayBuffer) {
        this.listener?.data(readServerData(data))
        return
      }
      throw new SessionProtocolError('the hub sent a message that is neither text nor bytes')
    } catch (error) {
      if (!(error instanceof SessionProtocolError)) throw error
      this.finish({ exitCode: null, error: { code: 'protocol', message: error.message } })
      this.socket.close(1002, 'unreadable message')
    }
  }

  private finish(outcome: SessionOutcome): void {
    if (this.phase === 'ended') return
    this.phase = 'ended'
    const listener = this.listener
    this.listener = null
    listener?.ended(outcome)
    if (this.socket.readyState === WebSocket.OPEN) this.socket.close(1000)
  }
}

function closeMessage(phase: Phase, event: CloseEvent): string {
  const why = event.reason ? `: ${event.reason}` : ''
  // A browser is not told why a WebSocket handshake failed; these are the likely reasons.
  if (phase === 'connecting')
    return 'the hub refused the terminal’s connection (a token it no longer accepts, a hub without remote sessions, or a proxy that does not pass WebSockets)'
  if (phase === 'requested') return `the hub closed the connection before the session opened (code ${event.code}${why})`
  return `the connection to the hub closed before the session ended (code ${event.code}${why})`
}

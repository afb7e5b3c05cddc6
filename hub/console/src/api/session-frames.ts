// The operator's side of a remote session's WebSocket (protocol/api/sessions.ts), as pure
// functions: the binary frames sent and received, the hub's JSON messages, the bearer
// subprotocol. No I/O here; session-socket.ts does that. (Imports carry .js: the unit tests load
// this file under Node.)
//
// The console may take only types from protocol/ (nothing of it, nor zod, is bundled), so the
// constants are written again here and `satisfies typeof` makes the compiler hold them equal to
// the protocol's: a change there fails `tsc -p hub/console` until this follows.
import type {
  CLIENT_STREAMS as ProtocolClientStreams,
  SERVER_STREAMS as ProtocolServerStreams,
  SESSION_ATTACH_PATH as ProtocolAttachPath,
  SESSION_BEARER_PREFIX as ProtocolBearerPrefix,
  SESSION_SUBPROTOCOL as ProtocolSubprotocol,
} from '../../../../protocol/api/sessions.js'
import type { SessionOpenedMessage, TerminalSize } from './types.js'

export const SESSION_ATTACH_PATH: typeof ProtocolAttachPath = '/api/v1/sessions/attach'
export const SESSION_SUBPROTOCOL: typeof ProtocolSubprotocol = 'shoal.session.v1'
export const SESSION_BEARER_PREFIX: typeof ProtocolBearerPrefix = 'shoal.bearer.'
export const CLIENT_STREAMS = { stdin: 0, resize: 4, eof: 6 } as const satisfies typeof ProtocolClientStreams
export const SERVER_STREAMS = { stdout: 1, stderr: 2 } as const satisfies typeof ProtocolServerStreams

/**
 * How a session ended: the remote command's exit code, or why not. The hub's SessionEndMessage
 * is one; the console adds its own codes (`closed`: the socket closed without an end, `protocol`:
 * the hub sent what this console cannot read), so the code here is any string.
 */
export interface SessionOutcome {
  readonly exitCode: number | null
  readonly error: { readonly code: string; readonly message: string } | null
}

/** What the hub sends as text: the session opened, or its end (then the socket closes). */
export type ServerMessage = SessionOpenedMessage | ({ readonly type: 'end' } & SessionOutcome)

/** One binary message from the hub: which stream, and its bytes. */
export interface ServerData {
  readonly stream: 'stdout' | 'stderr'
  readonly bytes: Uint8Array
}

/** The hub sent something this console does not read: the session cannot go on safely. */
export class SessionProtocolError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'SessionProtocolError'
  }
}

/** The two subprotocols a browser offers: the session's, and the token (a browser cannot set headers on a WebSocket). */
export function sessionSubprotocols(token: string): [string, string] {
  return [SESSION_SUBPROTOCOL, `${SESSION_BEARER_PREFIX}${base64url(new TextEncoder().encode(token))}`]
}

/** ws: or wss: beside the page (or beside `base`, the hub's address when the console is served elsewhere). */
export function attachUrl(base: string, page: { readonly href: string }): string {
  const url = new URL(`${base}${SESSION_ATTACH_PATH}`, page.href)
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:'
  return url.toString()
}

/** base64url without padding: `=` may not appear in a subprotocol name. */
export function base64url(bytes: Uint8Array): string {
  let binary = ''
  for (const byte of bytes) binary += String.fromCharCode(byte)
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

/** A keystroke (or a paste) for the command's stdin. */
export function stdinFrame(input: string | Uint8Array): Uint8Array {
  const bytes = typeof input === 'string' ? new TextEncoder().encode(input) : input
  const out = new Uint8Array(1 + bytes.length)
  out[0] = CLIENT_STREAMS.stdin
  out.set(bytes, 1)
  return out
}

/** The terminal's new size: columns then rows, each a big-endian 16-bit number, as the hub↔node resize frame carries them. */
export function resizeFrame(size: TerminalSize): Uint8Array {
  const out = new Uint8Array(5)
  const view = new DataView(out.buffer)
  out[0] = CLIENT_STREAMS.resize
  view.setUint16(1, size.cols)
  view.setUint16(3, size.rows)
  return out
}

/** No more input: the command's stdin closes. */
export function eofFrame(): Uint8Array {
  return Uint8Array.of(CLIENT_STREAMS.eof)
}

const STREAM_NAMES: Readonly<Record<number, ServerData['stream']>> = { [SERVER_STREAMS.stdout]: 'stdout', [SERVER_STREAMS.stderr]: 'stderr' }

/** A binary message from the hub: the first byte names the stream. */
export function readServerData(data: ArrayBuffer | Uint8Array): ServerData {
  const bytes = data instanceof Uint8Array ? data : new Uint8Array(data)
  const first = bytes[0]
  if (first === undefined) throw new SessionProtocolError('the hub sent an empty binary message')
  const stream = STREAM_NAMES[first]
  if (!stream) throw new SessionProtocolError(`the hub sent bytes for stream ${first}, which is neither stdout (1) nor stderr (2)`)
  return { stream, bytes: bytes.subarray(1) }
}

/**
 * A text message from the hub, checked by hand against SessionServerMessage (zod stays out of
 * the bundle): enough that what the console reads is there and of the right kind.
 */
export function readServerMessage(text: string): ServerMessage {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw new SessionProtocolError(`the hub sent text that is not JSON: ${text.slice(0, 80)}`)
  }
  if (typeof value !== 'object' || value === null) throw new SessionProtocolError('the hub sent JSON that is not an object')
  const record = value as Record<string, unknown>
  const optionalText = (key: string): string | null => (typeof record[key] === 'string' ? (record[key] as string) : null)
  if (record.type === 'opened') {
    if (typeof record.sessionId !== 'string' || typeof record.node !== 'string')
      throw new SessionProtocolError('the hub’s opened message lacks its session id or node')
    return { type: 'opened', sessionId: record.sessionId, node: record.node, workload: optionalText('workload'), container: optionalText('container') }
  }
  if (record.type === 'end') {
    const exitCode = typeof record.exitCode === 'number' && Number.isInteger(record.exitCode) ? record.exitCode : null
    const error = typeof record.error === 'object' && record.error !== null ? (record.error as Record<string, unknown>) : null
    return {
      type: 'end',
      exitCode,
      error: error ? { code: String(error.code ?? 'unknown'), message: String(error.message ?? '') } : null,
    }
  }
  throw new SessionProtocolError(`the hub sent a message of type ${JSON.stringify(record.type)}, which this console does not know`)
}

/** How a session's end reads to a person: "exited with code 3", or the error's code and message. */
export function describeOutcome(end: SessionOutcome): string {
  if (end.error) return `${end.error.code}: ${end.error.message}`
  return end.exitCode === null ? 'ended' : `exited with code ${end.exitCode}`
}

import { z } from 'zod'
import { canonicalJson } from './canonical-json.js'
import { ProtocolError } from './errors.js'
import { Name, NodeId } from './primitives.js'
import { SESSION_HEADER_BYTES, SESSION_ID_BYTES, SESSION_MAX_DATA_BYTES, SESSION_MAX_FRAME_BYTES, SESSION_MAX_JSON_BYTES } from './session-limits.js'

/**
 * Remote sessions (exec, port-forward, copy) between the hub and one node, over the broker's
 * `session-in` (hub → node) and `session-out` (node → hub) channels (docs/remote-sessions.md).
 *
 * Every message is one binary frame: a 21-byte header (kind, session id, sequence number) and a
 * kind-specific body. Bulk bytes travel raw, not as base64 JSON. Each direction of a session
 * numbers its frames 0, 1, 2, ...; a receiver that sees a gap ends the session as `lost`, so a
 * broker that drops a message (QoS 0, core NATS) can never corrupt a stream silently.
 *
 * Opening takes two steps, so broker credentials alone can never open one and a recorded open
 * cannot be replayed: the hub says `hello`, the node answers with a fresh single-use `nonce`,
 * and the hub sends `open`, a JSON document signed with its key (as desired documents are) that
 * carries that nonce. The node's clock plays no part (boards' clocks are often wrong).
 */

/** Frame kinds; each travels in one direction only (TO_NODE_KINDS, FROM_NODE_KINDS). */
export const SESSION_FRAME_KINDS = {
  hello: 1,
  open: 2,
  data: 3,
  window: 4,
  resize: 5,
  eof: 6,
  close: 7,
  nonce: 8,
  opened: 9,
  end: 10,
} as const
export type SessionFrameKind = keyof typeof SESSION_FRAME_KINDS

export const TO_NODE_KINDS: readonly SessionFrameKind[] = ['hello', 'open', 'data', 'window', 'resize', 'eof', 'close']
export const FROM_NODE_KINDS: readonly SessionFrameKind[] = ['nonce', 'opened', 'data', 'window', 'end']

export const SESSION_NONCE_BYTES = 16
export { SESSION_HEADER_BYTES, SESSION_ID_BYTES, SESSION_MAX_DATA_BYTES, SESSION_MAX_FRAME_BYTES, SESSION_MAX_JSON_BYTES } from './session-limits.js'
/**
 * Credit-based flow control: each side may have this many data bytes in flight towards the other
 * before it hears a `window` frame granting more. A receiver grants credit only for bytes it has
 * passed on (written to the exec's stdin, the TCP socket or the client), so a slow reader stops
 * the sender instead of making the broker or either end buffer without bound.
 */
export const SESSION_INITIAL_WINDOW_BYTES = 512 * 1024
/** A node answers a `hello` with a nonce that is good for one `open` within this time (its monotonic clock). */
export const SESSION_NONCE_TTL_MS = 30_000
/** Defaults a node applies unless its firmware profile says otherwise. */
export const DEFAULT_MAX_SESSIONS_PER_NODE = 32
export const DEFAULT_SESSION_IDLE_SECONDS = 600

/** Data streams: 0 towards the node (stdin, the TCP client's bytes, a tar to unpack), 1 and 2 back from it. */
export const SESSION_STREAMS = { in: 0, out: 1, err: 2 } as const
export type SessionStream = (typeof SESSION_STREAMS)[keyof typeof SESSION_STREAMS]

export const SessionIdHex = z.string().regex(/^[0-9a-f]{32}$/, 'must be 32 lower-case hex digits')

/**
 * A path inside a container: absolute, no `.` or `..` segments, no NUL, so a copy can never be
 * steered outside the path the operator named.
 */
export const RemotePath = z
  .string()
  .max(4096)
  .refine((path) => path.startsWith('/'), 'must be an absolute path')
  .refine((path) => !path.includes('\0'), 'must not contain NUL')
  .refine((path) => !path.split('/').some((segment) => segment === '..' || segment === '.'), 'must not contain "." or ".." segments')

const Command = z
  .array(z.string().max(4096))
  .min(1, 'needs a command')
  .max(256)
  .refine((argv) => argv.reduce((sum, arg) => sum + arg.length, 0) <= 16 * 1024, 'is longer than 16 KiB in all')

export const TerminalSize = z.strictObject({ cols: z.number().int().min(1).max(1000), rows: z.number().int().min(1).max(1000) })
export type TerminalSize = z.infer<typeof TerminalSize>

export const ExecTarget = z.strictObject({
  kind: z.literal('exec'),
  /** The workload's name on the node (the deployment's, or name-N for a node's Nth replica). */
  workload: Name,
  /** Which container of a several-container copy (default: its first). */
  container: Name.optional(),
  command: Command,
  tty: z.boolean(),
  stdin: z.boolean(),
  size: TerminalSize.optional(),
})

export const PortForwardTarget = z.strictObject({
  kind: z.literal('port-forward'),
  /** Absent: the node's own loopback. Present: the workload's network (its host's loopback when it uses host networking). */
  workload: Name.optional(),
  container: Name.optional(),
  port: z.number().int().min(1).max(65535),
})

/** A tar of `path` (a file or a directory) out of the container, as the Engine API's archive endpoint makes it. */
export const CopyFromTarget = z.strictObject({ kind: z.literal('cp-from'), workload: Name, container: Name.optional(), path: RemotePath })
/** A tar the hub streams in, unpacked into the directory `path` (which must exist). */
export const CopyToTarget = z.strictObject({ kind: z.literal('cp-to'), workload: Name, container: Name.optional(), path: RemotePath })

export const SessionTarget = z.discriminatedUnion('kind', [ExecTarget, PortForwardTarget, CopyFromTarget, CopyToTarget])
export type SessionTarget = z.infer<typeof SessionTarget>
export type SessionKind = SessionTarget['kind']

/** The `open` body: signed by the hub over its canonical JSON (every field but `signature`). */
export const SessionOpen = z.strictObject({
  sessionId: SessionIdHex,
  nodeId: NodeId,
  /** The node's nonce from its answer to this session's `hello`, hex. */
  nonce: z.string().regex(/^[0-9a-f]{32}$/),
  /** Who asked (the API token's name), for the node's own log. */
  user: z.string().min(1).max(200),
  target: SessionTarget,
  keyId: z.string().max(64),
  signature: z.string().max(200),
})
export type SessionOpen = z.infer<typeof SessionOpen>
export type UnsignedSessionOpen = Omit<SessionOpen, 'keyId' | 'signature'>

/** The node's answer once the session runs: the exec started, the TCP connection is up, the archive is being read or written. */
export const SessionOpened = z.strictObject({
  /** The container's name (absent for port-forward to the node itself). */
  container: z.string().max(200).optional(),
})
export type SessionOpened = z.infer<typeof SessionOpened>

export const SessionErrorCode = z.enum([
  /** No such workload, container, path or command. */
  'not-found',
  /** The node's limit of concurrent sessions is reached. */
  'busy',
  /** The node's firmware profile turns remote sessions off. */
  'disabled',
  /** The open was not signed by the pinned hub key, or its nonce was not one this node issued. */
  'refused',
  /** A path or archive the node will not accept. */
  'invalid',
  /** Nothing listened on the port, or the connection failed. */
  'connect-failed',
  /** A frame went missing (a gap in the sequence numbers), so the stream cannot be trusted. */
  'lost',
  /** No data either way for the idle timeout. */
  'idle',
  /** The other end closed it (the operator, the hub, a restart). */
  'closed',
  /** The engine or the node failed; the message says how. */
  'failed',
])
export type SessionErrorCode = z.infer<typeof SessionErrorCode>

/** The last frame of a session from the node: an exit code (exec), 0 (a clean end otherwise), or an error. */
export const SessionEnd = z.strictObject({
  exitCode: z.number().int().min(-1).max(255).optional(),
  error: z.strictObject({ code: SessionErrorCode, message: z.string().max(2000) }).optional(),
})
export type SessionEnd = z.infer<typeof SessionEnd>

export type SessionFrame =
  | { readonly kind: 'hello'; readonly sessionId: string; readonly seq: number }
  /** The JSON as received: the node checks its signature before it validates it. */
  | { readonly kind: 'open'; readonly sessionId: string; readonly seq: number; readonly open: unknown }
  | { readonly kind: 'data'; readonly sessionId: string; readonly seq: number; readonly stream: SessionStream; readonly bytes: Buffer }
  | { readonly kind: 'window'; readonly sessionId: string; readonly seq: number; readonly bytes: number }
  | { readonly kind: 'resize'; readonly sessionId: string; readonly seq: number; readonly size: TerminalSize }
  | { readonly kind: 'eof'; readonly sessionId: string; readonly seq: number }
  | { readonly kind: 'close'; readonly sessionId: string; readonly seq: number; readonly reason: string }
  | { readonly kind: 'nonce'; readonly sessionId: string; readonly seq: number; readonly nonce: string }
  | { readonly kind: 'opened'; readonly sessionId: string; readonly seq: number; readonly opened: SessionOpened }
  | { readonly kind: 'end'; readonly sessionId: string; readonly seq: number; readonly end: SessionEnd }

const KIND_BY_CODE = new Map<number, SessionFrameKind>(Object.entries(SESSION_FRAME_KINDS).map(([kind, code]) => [code, kind as SessionFrameKind]))

function header(kind: SessionFrameKind, sessionId: string, seq: number, bodyBytes: number): Buffer {
  if (!SessionIdHex.safeParse(sessionId).success) throw new RangeError(`not a session id: ${JSON.stringify(sessionId)}`)
  if (!Number.isInteger(seq) || seq < 0 || seq > 0xffff_ffff) throw new RangeError(`sequence number out of range: ${seq}`)
  const frame = Buffer.allocUnsafe(SESSION_HEADER_BYTES + bodyBytes)
  frame[0] = SESSION_FRAME_KINDS[kind]
  frame.write(sessionId, 1, SESSION_ID_BYTES, 'hex')
  frame.writeUInt32BE(seq, 1 + SESSION_ID_BYTES)
  return frame
}

function jsonFrame(kind: SessionFrameKind, sessionId: string, seq: number, value: unknown): Buffer {
  const body = Buffer.from(kind === 'open' ? canonicalJson(value) : JSON.stringify(value))
  if (body.length > SESSION_MAX_JSON_BYTES) throw new RangeError(`${kind} body of ${body.length} bytes exceeds ${SESSION_MAX_JSON_BYTES}`)
  const frame = header(kind, sessionId, seq, body.length)
  body.copy(frame, SESSION_HEADER_BYTES)
  return frame
}

/** One frame's bytes. Throws RangeError for a caller's mistake (an oversized body, a bad id). */
export function encodeSessionFrame(frame: SessionFrame): Buffer {
  const { sessionId, seq } = frame
  switch (frame.kind) {
    case 'hello':
    case 'eof':
      return header(frame.kind, sessionId, seq, 0)
    case 'open':
      return jsonFrame('open', sessionId, seq, frame.open)
    case 'opened':
      return jsonFrame('opened', sessionId, seq, frame.opened)
    case 'end':
      return jsonFrame('end', sessionId, seq, frame.end)
    case 'close': {
      const reason = Buffer.from(frame.reason.slice(0, 2000))
      const out = header('close', sessionId, seq, reason.length)
      reason.copy(out, SESSION_HEADER_BYTES)
      return out
    }
    case 'data': {
      if (frame.bytes.length > SESSION_MAX_DATA_BYTES) throw new RangeError(`data frame of ${frame.bytes.length} bytes exceeds ${SESSION_MAX_DATA_BYTES}`)
      const out = header('data', sessionId, seq, 1 + frame.bytes.length)
      out[SESSION_HEADER_BYTES] = frame.stream
      frame.bytes.copy(out, SESSION_HEADER_BYTES + 1)
      return out
    }
    case 'window': {
      const out = header('window', sessionId, seq, 4)
      out.writeUInt32BE(frame.bytes, SESSION_HEADER_BYTES)
      return out
    }
    case 'resize': {
      const out = header('resize', sessionId, seq, 4)
      out.writeUInt16BE(frame.size.cols, SESSION_HEADER_BYTES)
      out.writeUInt16BE(frame.size.rows, SESSION_HEADER_BYTES + 2)
      return out
    }
    case 'nonce': {
      const out = header('nonce', sessionId, seq, SESSION_NONCE_BYTES)
      out.write(frame.nonce, SESSION_HEADER_BYTES, SESSION_NONCE_BYTES, 'hex')
      return out
    }
  }
}

function malformed(message: string): ProtocolError {
  return new ProtocolError('invalid', `session frame: ${message}`)
}

function parseJsonBody<S extends z.ZodType>(body: Buffer, schema: S | null, what: string): unknown {
  if (body.length > SESSION_MAX_JSON_BYTES) throw malformed(`${what} body of ${body.length} bytes exceeds ${SESSION_MAX_JSON_BYTES}`)
  let value: unknown
  try {
    value = JSON.parse(body.toString('utf8'))
  } catch (cause) {
    throw malformed(`${what} body is not JSON: ${(cause as Error).message}`)
  }
  if (!schema) return value
  const result = schema.safeParse(value)
  if (!result.success)
    throw malformed(`invalid ${what}: ${result.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`).join('; ')}`)
  return result.data
}

/**
 * Parses one frame arriving from `direction`'s sender: a kind that travels the other way, a
 * truncated header or a body of the wrong size is a typed ProtocolError, never a crash.
 */
export function decodeSessionFrame(payload: Buffer, direction: 'to-node' | 'from-node'): SessionFrame {
  if (payload.length < SESSION_HEADER_BYTES) throw malformed(`${payload.length} bytes is shorter than the ${SESSION_HEADER_BYTES}-byte header`)
  if (payload.length > SESSION_MAX_FRAME_BYTES) throw malformed(`${payload.length} bytes exceeds the limit of ${SESSION_MAX_FRAME_BYTES}`)
  const kind = KIND_BY_CODE.get(payload[0] as number)
  if (!kind) throw malformed(`unknown kind ${payload[0]}`)
  const allowed = direction === 'to-node' ? TO_NODE_KINDS : FROM_NODE_KINDS
  if (!allowed.includes(kind)) throw malformed(`a ${kind} frame cannot travel ${direction}`)
  const sessionId = payload.toString('hex', 1, 1 + SESSION_ID_BYTES)
  const seq = payload.readUInt32BE(1 + SESSION_ID_BYTES)
  const body = payload.subarray(SESSION_HEADER_BYTES)
  const exactly = (bytes: number): void => {
    if (body.length !== bytes) throw malformed(`a ${kind} frame's body is ${bytes} bytes, not ${body.length}`)
  }
  switch (kind) {
    case 'hello':
    case 'eof':
      exactly(0)
      return { kind, sessionId, seq }
    case 'open':
      return { kind, sessionId, seq, open: parseJsonBody(body, null, 'session open') }
    case 'opened':
      return { kind, sessionId, seq, opened: parseJsonBody(body, SessionOpened, 'session opened') as SessionOpened }
    case 'end':
      return { kind, sessionId, seq, end: parseJsonBody(body, SessionEnd, 'session end') as SessionEnd }
    case 'close':
      if (body.length > 8 * 1024) throw malformed(`a close reason of ${body.length} bytes is too long`)
      return { kind, sessionId, seq, reason: body.toString('utf8') }
    case 'data': {
      if (body.length < 1) throw malformed('a data frame has no stream byte')
      const stream = body[0] as number
      if (stream > 2) throw malformed(`unknown stream ${stream}`)
      if (body.length - 1 > SESSION_MAX_DATA_BYTES) throw malformed(`data of ${body.length - 1} bytes exceeds ${SESSION_MAX_DATA_BYTES}`)
      return { kind, sessionId, seq, stream: stream as SessionStream, bytes: body.subarray(1) }
    }
    case 'window':
      exactly(4)
      return { kind, sessionId, seq, bytes: body.readUInt32BE(0) }
    case 'resize': {
      exactly(4)
      const size = TerminalSize.safeParse({ cols: body.readUInt16BE(0), rows: body.readUInt16BE(2) })
      if (!size.success) throw malformed('terminal size out of range (1-1000 columns and rows)')
      return { kind, sessionId, seq, size: size.data }
    }
    case 'nonce':
      exactly(SESSION_NONCE_BYTES)
      return { kind, sessionId, seq, nonce: body.toString('hex') }
  }
  throw malformed(`unhandled kind ${kind}`)
}

/** Counts one direction's frames and says whether the next one is the one expected (no gap, no repeat). */
export class FrameSequence {
  private expected = 0

  /** True when `seq` is the next in order (and counts it); false means a frame was lost or repeated. */
  accept(seq: number): boolean {
    if (seq !== this.expected) return false
    this.expected += 1
    return true
  }
}

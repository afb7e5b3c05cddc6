import { z } from 'zod'
import { IsoTime, Name, NodeId } from '../primitives.js'
import { RemotePath, SessionErrorCode, SessionIdHex, TerminalSize } from '../session.js'
import { listOf } from './envelopes.js'

/**
 * The operator's side of a remote session (docs/remote-sessions.md): a WebSocket to the hub at
 * SESSION_ATTACH_PATH. The CLI authenticates with its `Authorization: Bearer` header; a browser,
 * which cannot set headers on a WebSocket, offers the subprotocols SESSION_SUBPROTOCOL and
 * `shoal.bearer.<base64url of the token>`, and the hub answers with SESSION_SUBPROTOCOL.
 *
 * 1. The client's first message is a SessionRequest (text, JSON).
 * 2. The hub answers SessionOpenedMessage (text) once the node runs it, or a SessionEndMessage.
 * 3. Then binary messages: the first byte is the stream (CLIENT_STREAMS towards the node,
 *    SERVER_STREAMS back), the rest its bytes. Resize and end-of-input are binary too.
 * 4. The hub's last message is a SessionEndMessage (text), then it closes the socket.
 */
export const SESSION_ATTACH_PATH = '/api/v1/sessions/attach'
export const SESSION_SUBPROTOCOL = 'shoal.session.v1'
export const SESSION_BEARER_PREFIX = 'shoal.bearer.'

/** First byte of a binary message from the client. */
export const CLIENT_STREAMS = { stdin: 0, resize: 4, eof: 6 } as const
/** First byte of a binary message from the hub: the node's stdout (or the tunnel's, or the tar's) and stderr. */
export const SERVER_STREAMS = { stdout: 1, stderr: 2 } as const

/** Which copy: a deployment (the only copy, or --node/--replica among several), or a node itself (port-forward only). */
const DeploymentTarget = {
  deployment: Name,
  /** Required when the deployment has copies on several nodes. */
  node: NodeId.optional(),
  /** Which of a node's copies (1-based), when it holds several. */
  replica: z.number().int().min(1).max(1000).optional(),
  /** Which container of a several-container copy (default: its first). */
  container: Name.optional(),
}

export const ExecRequest = z.strictObject({
  kind: z.literal('exec'),
  ...DeploymentTarget,
  command: z.array(z.string().max(4096)).min(1).max(256),
  tty: z.boolean().default(false),
  stdin: z.boolean().default(false),
  size: TerminalSize.optional(),
})

export const PortForwardRequest = z.strictObject({
  kind: z.literal('port-forward'),
  deployment: Name.optional(),
  node: NodeId.optional(),
  replica: z.number().int().min(1).max(1000).optional(),
  container: Name.optional(),
  port: z.number().int().min(1).max(65535),
})

export const CopyRequest = z.strictObject({
  kind: z.enum(['cp-from', 'cp-to']),
  ...DeploymentTarget,
  path: RemotePath,
})

export const SessionRequest = z.union([ExecRequest, PortForwardRequest, CopyRequest])
export type SessionRequest = z.infer<typeof SessionRequest>

export const SessionOpenedMessage = z.strictObject({
  type: z.literal('opened'),
  sessionId: SessionIdHex,
  node: NodeId,
  workload: Name.nullable(),
  container: z.string().nullable(),
})
export type SessionOpenedMessage = z.infer<typeof SessionOpenedMessage>

/** The session's end: the remote command's exit code, or why it ended (a refusal, a lost link). */
export const SessionEndMessage = z.strictObject({
  type: z.literal('end'),
  exitCode: z.number().int().nullable(),
  error: z
    .strictObject({
      /** The node's codes, and the hub's own: `unauthorized`, `bad-request`, `no-target` (which copy is ambiguous or absent), `offline`, `timeout`. */
      code: z.union([SessionErrorCode, z.enum(['unauthorized', 'bad-request', 'no-target', 'offline', 'timeout'])]),
      message: z.string(),
    })
    .nullable(),
})
export type SessionEndMessage = z.infer<typeof SessionEndMessage>

export const SessionServerMessage = z.discriminatedUnion('type', [SessionOpenedMessage, SessionEndMessage])
export type SessionServerMessage = z.infer<typeof SessionServerMessage>

/** One session in the hub's audit record. */
export const SessionView = z.strictObject({
  id: SessionIdHex,
  /** The API token's name. */
  user: z.string(),
  node: NodeId,
  kind: z.enum(['exec', 'port-forward', 'cp-from', 'cp-to']),
  workload: Name.nullable(),
  container: z.string().nullable(),
  /** The command (exec), ":port" (port-forward) or the path (cp), for people. */
  detail: z.string(),
  startedAt: IsoTime,
  endedAt: IsoTime.nullable(),
  exitCode: z.number().int().nullable(),
  /** The error's code and message, or null. */
  error: z.string().nullable(),
  /** Data bytes the operator sent to the node, and the node sent back. */
  bytesIn: z.number().int().nonnegative(),
  bytesOut: z.number().int().nonnegative(),
})
export type SessionView = z.infer<typeof SessionView>

export const SessionList = listOf(SessionView)
export type SessionList = z.infer<typeof SessionList>

export const SessionsQuery = z.object({
  node: z.string().optional().describe("only this node's sessions"),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
})

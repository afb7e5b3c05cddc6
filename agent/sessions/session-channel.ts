import type { Workload } from '../../protocol/index.js'
import type { SessionEnd, SessionErrorCode, SessionOpened, TerminalSize } from '../../protocol/session.js'
import type { DockerEngineClient } from '../runtime/docker-engine-client.js'
import type { ObservedContainer } from '../runtime/runtime.js'

/**
 * The running end of one session on the node (an exec, a TCP connection, an archive read or
 * write), as the session drives it: bytes in with a callback once written on, output handed up
 * as it comes, pause and resume for flow control, and one `done` with how it ended.
 */
export interface SessionChannel {
  /** Stream 0 bytes towards the command, the port or the archive; `written` once passed on (or dropped). */
  write(bytes: Buffer, written: () => void): void
  /** The hub's `eof`: no more input (stdin closes, the TCP write side half-closes, the upload ends). */
  endInput(): void
  resize(size: TerminalSize): void
  /** Stop and resume reading output (the session is out of credit). */
  pause(): void
  resume(): void
  /** Ends it now: sockets destroyed, nothing more is reported. Safe to call more than once. */
  destroy(): void
}

/** What a channel reports to its session. */
export interface ChannelEvents {
  output(stream: 1 | 2, bytes: Buffer): void
  /** It ended by itself (the command exited, the connection closed, the copy finished or failed); called once. */
  done(end: SessionEnd): void
}

/** A failure to open or run a session, with the code the hub and the operator see. */
export class SessionFailure extends Error {
  constructor(
    readonly code: SessionErrorCode,
    message: string,
  ) {
    super(message)
    this.name = 'SessionFailure'
  }
}

/** The engine calls sessions make. */
export type SessionEngine = Pick<DockerEngineClient, 'createExec' | 'attachExec' | 'resizeExec' | 'inspectExec' | 'getArchive' | 'putArchive'>

/** What opening a channel needs from the rest of the agent. */
export interface ChannelContext {
  readonly nodeId: string
  readonly engine: SessionEngine
  /** This node's containers now (the runtime's list). */
  readonly containers: () => Promise<readonly ObservedContainer[]>
  /** The copies the node runs now, to find a container of a several-container copy. */
  readonly desired: () => readonly Workload[]
}

export interface OpenedChannel {
  readonly channel: SessionChannel
  readonly opened: SessionOpened
}

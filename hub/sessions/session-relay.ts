import { randomBytes } from 'node:crypto'
import type { Logger } from 'pino'
import { isoNow, type Clock } from '../../common/clock.js'
import type { SessionRequest } from '../../protocol/api/sessions.js'
import { ProtocolError } from '../../protocol/errors.js'
import { decodeSessionFrame, encodeSessionFrame, type SessionFrame, type SessionOpen } from '../../protocol/session.js'
import { signObject, type PreparedSigningKey } from '../../protocol/signing.js'
import type { ChangeFeed } from '../ingest/change-feed.js'
import type { Metrics } from '../metrics.js'
import type { HubStore } from '../store/hub-store.js'
import { RelaySession, type SessionClient, type SessionSummary } from './relay-session.js'
import { resolveSessionTarget, sessionDetail } from './session-target.js'

export interface SessionRelayOptions {
  readonly store: HubStore
  readonly clock: Clock
  readonly logger: Logger
  readonly metrics: Metrics
  readonly feed: ChangeFeed
  readonly signingKey: PreparedSigningKey
  /** Publishes one frame on the node's session-in. */
  readonly publish: (nodeId: string, frame: Buffer) => Promise<void>
  /** How long a node has to answer hello and open (default 10 s). */
  readonly answerTimeoutMs?: number
}

export const DEFAULT_SESSION_ANSWER_TIMEOUT_MS = 10_000

/**
 * The hub's side of remote sessions: resolves an operator's request to one node and workload,
 * relays each session (RelaySession) between the operator's socket and the node's session topics,
 * records it (audit row, events, metrics), and ends every session when its node goes offline or
 * the hub stops. Frames from a node are matched to its own sessions only.
 */
export class SessionRelay {
  private readonly sessions = new Map<string, RelaySession>()
  private readonly log: Logger
  private closed = false

  constructor(private readonly options: SessionRelayOptions) {
    this.log = options.logger.child({ component: 'session-relay' })
    options.metrics.describe('shoal_sessions_total', 'remote sessions ended, by kind and outcome')
    options.metrics.describe('shoal_session_bytes_total', 'data bytes relayed in remote sessions: in (operator to node) and out')
    options.metrics.describe('shoal_session_frames_rejected_total', 'session frames from nodes dropped, by reason')
    options.metrics.describe('shoal_sessions_active', 'remote sessions the hub relays now (0 when idle: nothing left behind)')
    options.metrics.gauge('shoal_sessions_active', () => new Map([['', this.sessions.size]]))
  }

  get activeCount(): number {
    return this.sessions.size
  }

  /**
   * Sessions a previous run of the hub left open are closed as ended by the restart, in the audit
   * and on their nodes: behind an external broker a node's link outlived the hub, and its side
   * would otherwise run until its idle timeout. Call with the transport up; a node that does not
   * get the close (offline) ended its sessions when its link dropped.
   */
  closeInterrupted(): void {
    const closed = this.options.store.sessions.closeInterrupted(isoNow(this.options.clock), 'closed: the hub restarted during the session')
    if (closed.length === 0) return
    this.log.info({ sessions: closed.length }, 'closed the sessions a hub restart cut, in the audit and on their nodes')
    for (const { id, nodeId } of closed) {
      // The node takes a close whatever its sequence number: the count died with the previous hub.
      const frame = encodeSessionFrame({ kind: 'close', sessionId: id, seq: 0, reason: 'the hub restarted during the session' })
      this.options
        .publish(nodeId, frame)
        .catch((error: unknown) => this.log.debug({ err: error, nodeId, sessionId: id }, 'could not send a close for an interrupted session'))
    }
  }

  /**
   * Starts relaying `request` for `user` to `client`; a request that names no single copy, or a
   * node that is offline, is answered with an end at once. Returns the session, or null.
   */
  open(request: SessionRequest, user: string, client: SessionClient): RelaySession | null {
    const { store, clock } = this.options
    if (this.closed) {
      client.end({ type: 'end', exitCode: null, error: { code: 'closed', message: 'the hub is stopping' } })
      return null
    }
    const deployment = request.deployment
    const resolved = resolveSessionTarget(request, {
      copies:
        deployment === undefined ? null : store.deployments.get(deployment) ? store.deployments.placements().filter((p) => p.deployment === deployment) : null,
      nodeExists: (nodeId) => store.nodes.exists(nodeId),
    })
    if (!resolved.ok) {
      client.end({ type: 'end', exitCode: null, error: { code: resolved.code, message: resolved.message } })
      return null
    }
    const { nodeId, target } = resolved
    const node = store.nodes.get(nodeId)
    if (!node?.online) {
      client.end({
        type: 'end',
        exitCode: null,
        error: { code: 'offline', message: `node ${nodeId} is offline since ${node?.offlineSince ?? 'an unknown time'}; try again once it reconnects` },
      })
      return null
    }
    const sessionId = randomBytes(16).toString('hex')
    const startedAt = isoNow(clock)
    const workload = target.workload ?? null
    const detail = sessionDetail(target)
    store.sessions.start({ id: sessionId, user, node: nodeId, kind: target.kind, workload, container: target.container ?? null, detail, startedAt })
    this.event(nodeId, workload, 'SessionStarted', 'info', `${user} started ${target.kind} ${detail} on ${nodeId}${workload ? ` in ${workload}` : ''}`, {
      sessionId,
      kind: target.kind,
    })
    const session: RelaySession = new RelaySession({
      sessionId,
      nodeId,
      user,
      target,
      client,
      send: (frame) => this.options.publish(nodeId, encodeSessionFrame(frame)),
      sign: (unsigned) => signObject(unsigned, this.options.signingKey) as SessionOpen,
      answerTimeoutMs: this.options.answerTimeoutMs ?? DEFAULT_SESSION_ANSWER_TIMEOUT_MS,
      counted: (direction, bytes) => this.options.metrics.inc('shoal_session_bytes_total', { direction }, bytes),
      onOpened: (container) => this.safely('record the container', () => store.sessions.setContainer(sessionId, container)),
      onEnded: (summary) => this.ended(session, target.kind, workload, summary),
    })
    this.sessions.set(sessionId, session)
    this.log.info({ sessionId, nodeId, kind: target.kind, workload, user }, 'session starting')
    session.start()
    return session
  }

  /** One frame from a node's session-out. Never throws. */
  receive(nodeId: string, payload: Buffer): void {
    let frame: SessionFrame
    try {
      frame = decodeSessionFrame(payload, 'from-node')
    } catch (error) {
      this.options.metrics.inc('shoal_session_frames_rejected_total', { reason: 'invalid' })
      this.log.warn({ nodeId, detail: (error instanceof ProtocolError ? error.message : String(error)).slice(0, 300) }, 'dropped a malformed session frame')
      return
    }
    const session = this.sessions.get(frame.sessionId)
    if (!session || session.nodeId !== nodeId) {
      // Late frames of a session that ended, or another node's session id: nothing to relay.
      this.options.metrics.inc('shoal_session_frames_rejected_total', { reason: session ? 'wrong-node' : 'orphan' })
      return
    }
    session.fromNodeFrame(frame)
  }

  /** The node is offline: its sessions end now rather than at a timeout. */
  nodeOffline(nodeId: string, why = 'its connection closed'): void {
    for (const session of [...this.sessions.values()]) if (session.nodeId === nodeId) session.nodeOffline(why)
  }

  /** The hub's broker link dropped: frames either way may be lost, so every session ends now. */
  linkDown(why: string): void {
    for (const session of [...this.sessions.values()]) session.abort('offline', `${why}; the session ended`)
  }

  /** Ends every session (the hub is stopping); later requests are refused. */
  close(): void {
    this.closed = true
    for (const session of [...this.sessions.values()]) session.abort('closed', 'the hub is stopping; the session ended')
  }

  private ended(session: RelaySession, kind: string, workload: string | null, summary: SessionSummary): void {
    const { store, clock, metrics } = this.options
    this.sessions.delete(session.id)
    const error = summary.error ? `${summary.error.code}: ${summary.error.message}` : null
    const outcome = summary.error?.code ?? (summary.exitCode === null || summary.exitCode === 0 ? 'completed' : 'exit-nonzero')
    metrics.inc('shoal_sessions_total', { kind, outcome })
    const endedAt = isoNow(clock)
    this.safely('record the end', () =>
      store.sessions.finish(session.id, { endedAt, exitCode: summary.exitCode, error, bytesIn: summary.bytesIn, bytesOut: summary.bytesOut }),
    )
    const how = summary.error ? `ended: ${summary.error.message}` : summary.exitCode !== null ? `exited with code ${summary.exitCode}` : 'ended'
    this.event(session.nodeId, workload, 'SessionEnded', summary.error ? 'warning' : 'info', `${kind} session ${session.id.slice(0, 8)} ${how}`, {
      sessionId: session.id,
      kind,
      exitCode: summary.exitCode,
      bytesIn: summary.bytesIn,
      bytesOut: summary.bytesOut,
    })
    this.log.info({ sessionId: session.id, nodeId: session.nodeId, outcome, ...summary }, 'session ended')
  }

  private event(
    nodeId: string,
    workload: string | null,
    type: string,
    severity: 'info' | 'warning',
    message: string,
    data: Record<string, string | number | null>,
  ): void {
    const { store, clock, feed } = this.options
    this.safely('record an event', () => {
      const at = isoNow(clock)
      const id = store.status.appendEvent({ nodeId, type, severity, ...(workload ? { workload } : {}), message, at, data }, at)
      feed.publish({ type: 'event', id, nodeId, eventType: type, message, receivedAt: at })
    })
  }

  /** A store that is closing (the hub stopping) must not turn a session's end into a crash. */
  private safely(what: string, write: () => void): void {
    try {
      write()
    } catch (error) {
      this.log.warn({ err: error }, `could not ${what} of a session`)
    }
  }
}

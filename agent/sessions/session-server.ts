import type { Logger } from 'pino'
import { ProtocolError } from '../../protocol/errors.js'
import {
  SESSION_MAX_DATA_BYTES,
  SESSION_NONCE_TTL_MS,
  type SessionEnd,
  type SessionFrame,
  type SessionOpen,
  type SessionTarget,
  decodeSessionFrame,
  encodeSessionFrame,
} from '../../protocol/session.js'
import { openCopyFrom, openCopyTo } from './copy-channels.js'
import { openExec } from './exec-channel.js'
import { NonceBook } from './nonce-book.js'
import { checkOpen } from './open-check.js'
import { openPortForward } from './port-forward-channel.js'
import { Session } from './session.js'
import { type ChannelContext, type ChannelEvents, type OpenedChannel, SessionFailure } from './session-channel.js'
import type { SessionSettings } from './session-settings.js'
import { TokenBucket } from './token-bucket.js'

export interface SessionServerOptions extends ChannelContext {
  /** The hub key pinned at enrollment (null before). */
  readonly hubPublicKey: () => string | null
  /** Read at each open and for each new session, so a new profile applies to the next one. */
  readonly settings: () => SessionSettings
  /** Sends one encoded frame on session-out; rejects when the link is down. */
  readonly publish: (payload: Buffer) => Promise<void>
  readonly logger: Logger
  /** Monotonic milliseconds (nonce expiry, the bandwidth cap); default performance.now. */
  readonly now?: () => number
}

/** Nonces outstanding at most: far more than the hub ever has opens in flight to one node. */
const MAX_OUTSTANDING_NONCES = 256

type Opener = (target: never, context: ChannelContext, events: ChannelEvents) => Promise<OpenedChannel>
const OPENERS = {
  exec: openExec,
  'port-forward': openPortForward,
  'cp-from': openCopyFrom,
  'cp-to': openCopyTo,
} satisfies { readonly [K in SessionTarget['kind']]: Opener }

/**
 * The node's end of remote sessions (docs/remote-sessions.md): takes `session-in` frames,
 * answers `hello` with a nonce, checks each `open` (open-check.ts) and runs its target; every
 * refusal is an `end` with its code, and is logged. Sessions end on the hub's close, idle, a
 * lost frame, the link going down or the agent stopping; none outlives stop().
 */
export class SessionServer {
  private readonly sessions = new Map<string, Session>()
  private readonly nonces: NonceBook
  private readonly log: Logger
  private readonly now: () => number
  private bucket: TokenBucket | null = null
  private stopping = false

  constructor(private readonly options: SessionServerOptions) {
    this.log = options.logger.child({ component: 'sessions' })
    this.now = options.now ?? (() => performance.now())
    this.nonces = new NonceBook({ ttlMs: SESSION_NONCE_TTL_MS, maxEntries: MAX_OUTSTANDING_NONCES, now: this.now })
  }

  get activeCount(): number {
    return this.sessions.size
  }

  /** One message from the `session-in` channel. Never throws. */
  receive(payload: Buffer): void {
    let frame: SessionFrame
    try {
      frame = decodeSessionFrame(payload, 'to-node')
    } catch (error) {
      const reason = error instanceof ProtocolError ? error.code : 'internal'
      this.log.warn({ reason, detail: (error as Error).message.slice(0, 300) }, 'ignoring a malformed session frame')
      return
    }
    const session = this.sessions.get(frame.sessionId)
    switch (frame.kind) {
      case 'hello':
        if (session) {
          session.end({ error: { code: 'lost', message: 'the hub said hello again on an open session' } })
          return
        }
        if (frame.seq !== 0) {
          this.refuse(frame.sessionId, 0, 'lost', `the hello came as frame ${frame.seq}, not 0`)
          return
        }
        this.answerHello(frame.sessionId)
        return
      case 'open':
        if (session) {
          session.end({ error: { code: 'lost', message: 'the hub sent a second open on an open session' } })
          return
        }
        this.open(frame.sessionId, frame.seq, frame.open)
        return
      case 'nonce':
      case 'opened':
      case 'end':
        return
      default:
        if (session) session.receive(frame)
        else this.log.debug({ sessionId: frame.sessionId, kind: frame.kind }, 'frame for a session that is not open here; ignored')
    }
  }

  /** The hub link went down: every session ends without a word (nothing can reach the hub), and unused nonces are forgotten. */
  linkDown(): void {
    this.nonces.clear()
    for (const session of [...this.sessions.values()]) session.end({ error: { code: 'closed', message: 'the hub link went down' } }, true)
  }

  /** Ends every session, each with an `end` while the link still works. */
  async stop(): Promise<void> {
    this.stopping = true
    for (const session of [...this.sessions.values()])
      session.end({ error: { code: 'closed', message: `the agent on node ${this.options.nodeId} is stopping` } })
    this.nonces.clear()
  }

  private answerHello(sessionId: string): void {
    const nonce = this.nonces.issue(sessionId)
    this.publish({ kind: 'nonce', sessionId, seq: 0, nonce })
  }

  private open(sessionId: string, seq: number, body: unknown): void {
    // A hello was frame 0 and its nonce our frame 0; an open that is not frame 1 followed a lost frame.
    if (seq !== 1) {
      this.refuse(sessionId, 1, 'lost', `the open came as frame ${seq}, not 1 (a frame went missing)`)
      return
    }
    if (this.stopping) {
      this.refuse(sessionId, 1, 'closed', `the agent on node ${this.options.nodeId} is stopping`)
      return
    }
    const settings = this.options.settings()
    const check = checkOpen(sessionId, body, {
      nodeId: this.options.nodeId,
      hubPublicKey: this.options.hubPublicKey(),
      nonces: this.nonces,
      settings,
      active: this.sessions.size,
    })
    if (!check.ok) {
      this.refuse(sessionId, 1, check.code, check.message)
      return
    }
    this.start(check.open, settings)
  }

  private start(open: SessionOpen, settings: SessionSettings): void {
    const log = this.log.child({ sessionId: open.sessionId })
    const started = this.now()
    const session = new Session({
      open,
      publish: this.options.publish,
      idleMs: settings.idleMs,
      bucket: this.bucketFor(settings),
      now: this.now,
      logger: log,
      ended: (ended, end) => {
        this.sessions.delete(ended.id)
        log.info({ ...describeEnd(end), bytesIn: ended.bytesIn.count, bytesOut: ended.bytesOut.count, ms: Math.round(this.now() - started) }, 'session ended')
      },
    })
    this.sessions.set(open.sessionId, session)
    log.info({ user: open.user, target: describeTarget(open.target) }, 'session opening')
    const opener = OPENERS[open.target.kind] as unknown as (target: SessionTarget, context: ChannelContext, events: ChannelEvents) => Promise<OpenedChannel>
    opener(open.target, this.options, session.events).then(
      ({ channel, opened }) => session.attach(channel, opened),
      (error: unknown) => {
        const failure = error instanceof SessionFailure ? error : new SessionFailure('failed', `opening the session failed: ${(error as Error).message}`)
        log.warn({ code: failure.code }, `session refused: ${failure.message}`)
        session.end({ error: { code: failure.code, message: failure.message.slice(0, 2000) } })
      },
    )
  }

  /** One bucket for all sessions, made anew when the cap changes. */
  private bucketFor(settings: SessionSettings): TokenBucket | null {
    const rate = settings.maxBytesPerSecond
    if (rate === null) {
      this.bucket = null
      return null
    }
    if (this.bucket?.ratePerSecond !== rate) this.bucket = new TokenBucket(rate, Math.max(rate, SESSION_MAX_DATA_BYTES), this.now())
    return this.bucket
  }

  private refuse(sessionId: string, seq: number, code: NonNullable<SessionEnd['error']>['code'], message: string): void {
    this.log.warn({ sessionId, code }, `session refused: ${message}`)
    this.publish({ kind: 'end', sessionId, seq, end: { error: { code, message: message.slice(0, 2000) } } })
  }

  private publish(frame: SessionFrame): void {
    this.options.publish(encodeSessionFrame(frame)).catch((error: unknown) => this.log.debug({ err: error, kind: frame.kind }, 'session frame not sent'))
  }
}

function describeTarget(target: SessionTarget): Record<string, unknown> {
  switch (target.kind) {
    case 'exec':
      return { kind: target.kind, workload: target.workload, command: target.command.join(' ').slice(0, 200), tty: target.tty }
    case 'port-forward':
      return { kind: target.kind, workload: target.workload ?? null, port: target.port }
    case 'cp-from':
    case 'cp-to':
      return { kind: target.kind, workload: target.workload, path: target.path }
  }
}

function describeEnd(end: SessionEnd): Record<string, unknown> {
  return end.error ? { code: end.error.code, error: end.error.message } : { exitCode: end.exitCode }
}

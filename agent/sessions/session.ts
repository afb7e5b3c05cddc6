import type { Logger } from 'pino'
import {
  FrameSequence,
  SESSION_INITIAL_WINDOW_BYTES,
  SESSION_STREAMS,
  type SessionEnd,
  type SessionFrame,
  type SessionOpen,
  type SessionOpened,
  encodeSessionFrame,
} from '../../protocol/session.js'
import { ReceiveWindow, SendWindow } from '../../protocol/session-credit.js'
import { OutboundQueue } from './outbound-queue.js'
import type { ChannelEvents, SessionChannel } from './session-channel.js'
import type { TokenBucket } from './token-bucket.js'

/** Grants go back in batches of this much (or sooner, once everything received is written). */
export const GRANT_BATCH_BYTES = 128 * 1024

export interface SessionOptions {
  readonly open: SessionOpen
  /** Sends one encoded frame on session-out; rejects when the link is down. */
  readonly publish: (payload: Buffer) => Promise<void>
  readonly idleMs: number
  /** The node's cap on session bytes (shared by its sessions); null: none. */
  readonly bucket: TokenBucket | null
  /** Monotonic milliseconds, for the bucket. */
  readonly now: () => number
  readonly logger: Logger
  /** Called once, when it has ended (its end sent, or the link gone). */
  readonly ended: (session: Session, end: SessionEnd) => void
}

/** The frames an open session takes from the hub. */
export type FromHub = Extract<SessionFrame, { kind: 'data' | 'window' | 'resize' | 'eof' | 'close' }>

/**
 * One open session on the node: numbers its frames, keeps both credit windows, paces them by the
 * node's bandwidth cap, ends it when idle, and sends its `end` once the channel's output has gone
 * (or at once when it fails). Frames that arrive before the channel is up wait for it (they are
 * within the window, so bounded).
 */
export class Session {
  readonly id: string
  private readonly outSeq = { next: 1 }
  private readonly inSeq = new FrameSequence()
  private readonly sendWindow = new SendWindow(SESSION_INITIAL_WINDOW_BYTES)
  private readonly receiveWindow = new ReceiveWindow(SESSION_INITIAL_WINDOW_BYTES, GRANT_BATCH_BYTES)
  private readonly queue = new OutboundQueue()
  private channel: SessionChannel | null = null
  private readonly early: FromHub[] = []
  /** The channel's own end, sent once the queue is empty. */
  private pendingEnd: SessionEnd | null = null
  private over = false
  private paused = false
  private idleTimer: NodeJS.Timeout
  private paceTimer: NodeJS.Timeout | null = null
  readonly bytesIn = { count: 0 }
  readonly bytesOut = { count: 0 }
  private readonly log: Logger

  constructor(private readonly options: SessionOptions) {
    this.id = options.open.sessionId
    // hello (0) and open (1) came before.
    this.inSeq.accept(0)
    this.inSeq.accept(1)
    this.log = options.logger
    this.idleTimer = setTimeout(() => this.idle(), options.idleMs)
    this.idleTimer.unref()
  }

  get ended(): boolean {
    return this.over
  }

  /** Events for the channel being opened: output and its end come back here. */
  readonly events: ChannelEvents = {
    output: (stream, bytes) => {
      if (this.over) return
      this.queue.push(stream, bytes)
      this.flush()
    },
    done: (end) => {
      if (this.over) return
      this.pendingEnd = end
      this.flush()
    },
  }

  /** The channel runs: say `opened`, then handle what arrived meanwhile. */
  attach(channel: SessionChannel, opened: SessionOpened): void {
    if (this.over) {
      channel.destroy()
      return
    }
    this.channel = channel
    this.send({ kind: 'opened', sessionId: this.id, seq: this.nextSeq(), opened })
    for (const frame of this.early.splice(0)) this.apply(frame)
    this.flush()
  }

  /** A frame from the hub for this session (after its open). */
  receive(frame: FromHub): void {
    if (this.over) return
    // A close ends the session whatever its number: a restarted hub sends one for each session its
    // predecessor left open, without that hub's count.
    if (frame.kind !== 'close' && !this.inSeq.accept(frame.seq)) {
      this.end({ error: { code: 'lost', message: `a frame from the hub went missing (got ${frame.kind} number ${frame.seq} out of order)` } })
      return
    }
    // Counted on arrival, also while opening, so a hub that sends past its credit is caught at once.
    if (frame.kind === 'data' && !this.receiveWindow.receive(frame.bytes.length)) {
      this.end({
        error: {
          code: 'invalid',
          message: `the hub sent ${frame.bytes.length} bytes with ${this.receiveWindow.remaining} of credit left (flow control broken)`,
        },
      })
      return
    }
    if (this.channel || frame.kind === 'close') this.apply(frame)
    else this.early.push(frame)
  }

  /** Ends it now with `end` (sent unless `silent`), dropping output not yet sent. */
  end(end: SessionEnd, silent = false): void {
    if (this.over) return
    this.over = true
    clearTimeout(this.idleTimer)
    if (this.paceTimer) clearTimeout(this.paceTimer)
    this.channel?.destroy()
    this.queue.clear()
    this.early.length = 0
    if (!silent) this.send({ kind: 'end', sessionId: this.id, seq: this.nextSeq(), end })
    this.options.ended(this, end)
  }

  private apply(frame: FromHub): void {
    const channel = this.channel
    switch (frame.kind) {
      case 'data': {
        const length = frame.bytes.length
        if (frame.stream !== SESSION_STREAMS.in) {
          this.end({ error: { code: 'invalid', message: `data towards the node must be stream 0, not ${frame.stream}` } })
          return
        }
        this.touch()
        this.bytesIn.count += length
        channel?.write(frame.bytes, () => {
          if (this.over) return
          this.receiveWindow.written(length)
          this.grant()
        })
        return
      }
      case 'window':
        if (!this.sendWindow.grant(frame.bytes)) {
          this.end({ error: { code: 'invalid', message: `a window grant of ${frame.bytes} bytes overflows the credit` } })
          return
        }
        this.flush()
        return
      case 'resize':
        channel?.resize(frame.size)
        return
      case 'eof':
        channel?.endInput()
        return
      case 'close':
        this.end({ error: { code: 'closed', message: frame.reason ? `closed by the hub: ${frame.reason}` : 'closed by the hub' } })
        return
    }
  }

  /** Sends what the credit and the cap allow; pauses the source while anything waits; the end goes once all has gone. */
  private flush(): void {
    if (this.over) return
    for (;;) {
      let allowed = this.sendWindow.available
      if (allowed <= 0 || this.queue.empty) break
      const bucket = this.options.bucket
      if (bucket) {
        allowed = bucket.take(Math.min(allowed, this.headBytes()), this.options.now())
        if (allowed === 0) {
          this.pace(bucket.msUntil(Math.min(this.sendWindow.available, this.headBytes()), this.options.now()))
          break
        }
      }
      const piece = this.queue.take(allowed)
      if (!piece) break
      this.sendWindow.spend(piece.bytes.length)
      this.bytesOut.count += piece.bytes.length
      this.touch()
      this.send({ kind: 'data', sessionId: this.id, seq: this.nextSeq(), stream: piece.stream, bytes: piece.bytes })
      if (this.over) return
    }
    const waiting = !this.queue.empty
    if (waiting !== this.paused) {
      this.paused = waiting
      if (waiting) this.channel?.pause()
      else this.channel?.resume()
    }
    if (!waiting && this.pendingEnd) this.end(this.pendingEnd)
  }

  private headBytes(): number {
    return Math.min(this.queue.bytes, 64 * 1024)
  }

  /** Grants the hub credit for bytes written on, paced by the cap like sends. */
  private grant(): void {
    if (this.over) return
    const bucket = this.options.bucket
    const due = this.receiveWindow.grantDue
    if (due === 0) return
    let limit = due
    if (bucket) {
      limit = bucket.take(due, this.options.now())
      if (limit === 0) {
        this.pace(bucket.msUntil(due, this.options.now()))
        return
      }
    }
    const bytes = this.receiveWindow.takeGrant(limit)
    if (bytes > 0) this.send({ kind: 'window', sessionId: this.id, seq: this.nextSeq(), bytes })
  }

  private pace(ms: number): void {
    if (this.paceTimer) return
    this.paceTimer = setTimeout(
      () => {
        this.paceTimer = null
        this.flush()
        this.grant()
      },
      Math.max(1, ms),
    )
  }

  private touch(): void {
    this.idleTimer.refresh()
  }

  private idle(): void {
    this.end({ error: { code: 'idle', message: `no data either way for ${Math.round(this.options.idleMs / 1000)} s (agent.remoteSessions.idleSeconds)` } })
  }

  private nextSeq(): number {
    return this.outSeq.next++
  }

  private send(frame: SessionFrame): void {
    this.options.publish(encodeSessionFrame(frame)).catch((error: unknown) => {
      this.log.info({ err: error }, 'session frame not sent (the hub link is down); ending it')
      this.end({ error: { code: 'closed', message: 'the hub link went down' } }, true)
    })
  }
}

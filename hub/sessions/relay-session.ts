import type { SessionEndMessage, SessionOpenedMessage } from '../../protocol/api/sessions.js'
import type { ClientMessage } from '../../protocol/api/session-messages.js'
import {
  FrameSequence,
  SESSION_INITIAL_WINDOW_BYTES,
  SESSION_MAX_DATA_BYTES,
  type SessionEnd,
  type SessionFrame,
  type SessionOpen,
  type SessionTarget,
  type UnsignedSessionOpen,
} from '../../protocol/session.js'
import { ReceiveWindow, SendWindow } from '../../protocol/session-credit.js'

/** The operator's end of a session (the WebSocket), as the relay drives it. */
export interface SessionClient {
  opened(message: SessionOpenedMessage): void
  /** `flushed` runs once the bytes left the hub (written to the socket), so their credit can go back to the node. */
  data(stream: 'stdout' | 'stderr', bytes: Buffer, flushed: () => void): void
  /** The last message; the client closes after it. */
  end(message: SessionEndMessage): void
  /** Stop reading the operator's input (the node's credit is spent), and read again. */
  pause(): void
  resume(): void
}

export type SessionEndCode = NonNullable<SessionEndMessage['error']>['code']

/** How a session ended, for the audit record and metrics. */
export interface SessionSummary {
  readonly exitCode: number | null
  readonly error: { readonly code: SessionEndCode; readonly message: string } | null
  readonly bytesIn: number
  readonly bytesOut: number
}

export interface RelaySessionOptions {
  readonly sessionId: string
  readonly nodeId: string
  readonly user: string
  readonly target: SessionTarget
  readonly client: SessionClient
  /** Publishes one frame on the node's session-in; rejects when the broker cannot take it. */
  readonly send: (frame: SessionFrame) => Promise<void>
  readonly sign: (unsigned: UnsignedSessionOpen) => SessionOpen
  /** The node must answer hello with a nonce, and open with opened, within this long. */
  readonly answerTimeoutMs: number
  /** Data bytes each way, as they pass (metrics). */
  readonly counted?: (direction: 'in' | 'out', bytes: number) => void
  /** The node named its container once the session ran. */
  readonly onOpened?: (container: string | null) => void
  readonly onEnded: (summary: SessionSummary) => void
}

type Pending = { readonly kind: 'data'; bytes: Buffer } | { readonly kind: 'eof' }

/**
 * One session between an operator and a node, relayed by the hub: `hello` → the node's nonce →
 * the signed `open` → the node's `opened` → data both ways under credit → the node's `end` (or
 * an end the hub decides: a timeout, the node offline, a lost frame, the operator gone, the hub
 * stopping). Every way out goes through finish(), once; it clears the timer and tells both sides.
 */
export class RelaySession {
  private state: 'hello' | 'opening' | 'open' | 'ended' = 'hello'
  private seq = 0
  private readonly fromNode = new FrameSequence()
  private readonly credit = new SendWindow(SESSION_INITIAL_WINDOW_BYTES)
  /** Grants go back in eighths of the window, not one per data frame. */
  private readonly window = new ReceiveWindow(SESSION_INITIAL_WINDOW_BYTES, SESSION_INITIAL_WINDOW_BYTES / 8)
  /** The operator's input the node has no credit for yet, in order (end-of-input included). */
  private readonly pending: Pending[] = []
  private paused = false
  private timer: NodeJS.Timeout | null = null
  private bytesIn = 0
  private bytesOut = 0

  constructor(private readonly options: RelaySessionOptions) {}

  get id(): string {
    return this.options.sessionId
  }

  get nodeId(): string {
    return this.options.nodeId
  }

  get ended(): boolean {
    return this.state === 'ended'
  }

  /** Says hello; the operator's input waits until the node opened the session. */
  start(): void {
    this.pauseClient()
    this.send({ kind: 'hello', sessionId: this.id, seq: this.nextSeq() })
    this.arm('a nonce')
  }

  /** One frame from the node, already decoded and attributed to it. */
  fromNodeFrame(frame: SessionFrame): void {
    if (this.state === 'ended') return
    if (!this.fromNode.accept(frame.seq)) {
      this.abort('lost', `a frame from node ${this.nodeId} went missing (sequence ${frame.seq}); the session cannot be trusted and was ended`)
      return
    }
    switch (frame.kind) {
      case 'nonce':
        if (this.state !== 'hello') return this.abort('failed', `node ${this.nodeId} sent a nonce out of turn`)
        this.state = 'opening'
        this.send({ kind: 'open', sessionId: this.id, seq: this.nextSeq(), open: this.signedOpen(frame.nonce) })
        this.arm('its answer to the open')
        return
      case 'opened': {
        if (this.state !== 'opening') return this.abort('failed', `node ${this.nodeId} said opened out of turn`)
        this.state = 'open'
        this.disarm()
        const container = frame.opened.container ?? null
        this.options.onOpened?.(container)
        this.options.client.opened({
          type: 'opened',
          sessionId: this.id,
          node: this.nodeId,
          workload: this.options.target.workload ?? null,
          container,
        })
        this.flush()
        return
      }
      case 'data': {
        if (this.state !== 'open') return this.abort('failed', `node ${this.nodeId} sent data before the session opened`)
        if (frame.stream === 0) return this.abort('failed', `node ${this.nodeId} sent data on the input stream`)
        const bytes = frame.bytes.length
        if (!this.window.receive(bytes)) return this.abort('failed', `node ${this.nodeId} sent more than the flow-control window allows`)
        this.bytesOut += bytes
        this.options.counted?.('out', bytes)
        this.options.client.data(frame.stream === 1 ? 'stdout' : 'stderr', frame.bytes, () => this.passedOn(bytes))
        return
      }
      case 'window':
        if (!this.credit.grant(frame.bytes)) return this.abort('failed', `node ${this.nodeId} granted more credit than a window can hold`)
        this.flush()
        return
      case 'end':
        this.finishWithNodeEnd(frame.end)
        return
      default:
        return this.abort('failed', `node ${this.nodeId} sent a ${frame.kind} frame, which only the hub sends`)
    }
  }

  /** One message from the operator. */
  fromClient(message: ClientMessage): void {
    if (this.state === 'ended') return
    switch (message.type) {
      case 'stdin':
        if (message.bytes.length === 0) return
        this.bytesIn += message.bytes.length
        this.options.counted?.('in', message.bytes.length)
        this.pending.push({ kind: 'data', bytes: message.bytes })
        this.flush()
        return
      case 'eof':
        this.pending.push({ kind: 'eof' })
        this.flush()
        return
      case 'resize':
        if (this.options.target.kind === 'exec' && this.options.target.tty && this.state === 'open')
          this.send({ kind: 'resize', sessionId: this.id, seq: this.nextSeq(), size: message.size })
        return
    }
  }

  /** The operator left (closed the socket): the node is told to stop. */
  clientGone(): void {
    if (this.state === 'ended') return
    this.tellNodeToClose('the operator disconnected')
    this.finish({ code: 'closed', message: 'the operator disconnected' }, null, false)
  }

  /** The hub learnt the node is offline: nothing more will come from it. */
  nodeOffline(why: string): void {
    this.finish({ code: 'offline', message: `node ${this.nodeId} went offline (${why}); the session ended` }, null, true)
  }

  /** The hub is stopping (or gives up on the session for its own reason). */
  abort(code: SessionEndCode, message: string): void {
    if (this.state === 'ended') return
    this.tellNodeToClose(message)
    this.finish({ code, message }, null, true)
  }

  private finishWithNodeEnd(end: SessionEnd): void {
    this.finish(end.error ? { code: end.error.code, message: end.error.message } : null, end.exitCode ?? null, true)
  }

  private finish(error: SessionSummary['error'], exitCode: number | null, tellClient: boolean): void {
    if (this.state === 'ended') return
    this.state = 'ended'
    this.disarm()
    this.pending.length = 0
    if (tellClient) this.options.client.end({ type: 'end', exitCode, error })
    this.options.onEnded({ exitCode, error, bytesIn: this.bytesIn, bytesOut: this.bytesOut })
  }

  /** Sends the operator's input as far as the node's credit goes, then waits for a window. */
  private flush(): void {
    if (this.state !== 'open') return
    while (this.pending.length > 0) {
      const head = this.pending[0] as Pending
      if (head.kind === 'eof') {
        this.pending.shift()
        this.send({ kind: 'eof', sessionId: this.id, seq: this.nextSeq() })
        continue
      }
      const room = Math.min(this.credit.available, SESSION_MAX_DATA_BYTES)
      if (room <= 0) break
      const chunk = head.bytes.subarray(0, room)
      head.bytes = head.bytes.subarray(chunk.length)
      if (head.bytes.length === 0) this.pending.shift()
      this.credit.spend(chunk.length)
      this.send({ kind: 'data', sessionId: this.id, seq: this.nextSeq(), stream: 0, bytes: chunk })
    }
    if (this.pending.length > 0 || this.credit.available <= 0) this.pauseClient()
    else this.resumeClient()
  }

  private passedOn(bytes: number): void {
    if (this.state === 'ended') return
    this.window.written(bytes)
    const grant = this.window.takeGrant()
    if (grant > 0) this.send({ kind: 'window', sessionId: this.id, seq: this.nextSeq(), bytes: grant })
  }

  private signedOpen(nonce: string): SessionOpen {
    return this.options.sign({ sessionId: this.id, nodeId: this.nodeId, nonce, user: this.options.user, target: this.options.target })
  }

  private tellNodeToClose(reason: string): void {
    // Before the node answered hello it holds nothing for this session; a close is harmless either way.
    this.send({ kind: 'close', sessionId: this.id, seq: this.nextSeq(), reason })
  }

  private send(frame: SessionFrame): void {
    this.options.send(frame).catch((error: unknown) => {
      this.finish({ code: 'offline', message: `cannot reach node ${this.nodeId} through the broker: ${(error as Error).message}` }, null, true)
    })
  }

  private nextSeq(): number {
    return this.seq++
  }

  private arm(what: string): void {
    this.disarm()
    const ms = this.options.answerTimeoutMs
    this.timer = setTimeout(() => {
      this.timer = null
      this.abort('timeout', `node ${this.nodeId} did not send ${what} within ${ms / 1000} s (is its agent running, and does it support remote sessions?)`)
    }, ms)
  }

  private disarm(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
  }

  private pauseClient(): void {
    if (this.paused) return
    this.paused = true
    this.options.client.pause()
  }

  private resumeClient(): void {
    if (!this.paused) return
    this.paused = false
    this.options.client.resume()
  }
}

import type { Logger } from 'pino'
import {
  HeartbeatBasis,
  MAX_BYTES,
  decodeJson,
  encodeMessage,
  isHeartbeatBasisShaped,
  mergeHeartbeat,
  nextHeartbeat,
  type Heartbeat,
} from '../../protocol/index.js'
import { splitMemberName } from '../reconcile/copy-members.js'
import type { AgentStore } from '../store/agent-store.js'
import type { AgentTransport } from '../transport/transport.js'

/** What the agent's own store adds to a heartbeat; the sampler adds the machine's figures. */
export interface HeartbeatFigures {
  readonly observedGeneration: number
  readonly outboxDepth: number
  readonly running: number
  readonly total: number
}

export type HeartbeatSource = Pick<AgentStore, 'desired' | 'outboxDepth' | 'workloads'>

/**
 * The generation the node has (0 before any), records waiting for the hub, and copies running of
 * all known: a several-container copy runs when each container runs or (an init container) is done.
 */
export function heartbeatFigures(store: HeartbeatSource): HeartbeatFigures {
  const copies = new Map<string, boolean>()
  for (const w of store.workloads()) {
    const copy = splitMemberName(w.name)?.copy ?? w.name
    const up = w.state === 'running' || (copy !== w.name && w.state === 'exited' && w.exitCode === 0)
    copies.set(copy, (copies.get(copy) ?? true) && up)
  }
  return {
    observedGeneration: store.desired()?.generation ?? 0,
    outboxDepth: store.outboxDepth().records,
    running: [...copies.values()].filter(Boolean).length,
    total: copies.size,
  }
}

export interface HeartbeatBeatOptions {
  readonly link: Pick<AgentTransport, 'connected' | 'publish'>
  readonly store: HeartbeatSource
  readonly sample: (figures: HeartbeatFigures) => Promise<Heartbeat>
  /** A full heartbeat at least every this many beats (default DEFAULT_FULL_HEARTBEAT_EVERY). */
  readonly fullEvery?: number
  readonly logger?: Pick<Logger, 'warn' | 'debug'>
}

/**
 * The agent's heartbeats: a full one on every connect, deltas (only what changed since the
 * previous one, see protocol/heartbeat-delta.ts) once the hub has said it holds that full one, and a full one again
 * every `fullEvery` beats or as soon as the hub says it lacks the base (a hub that restarted).
 * A hub from before deltas never says so, and gets full heartbeats only. Only while the link is up
 * (nothing queues a heartbeat offline: a stale one is no news); a failed publish is let go, as
 * the next beat replaces it.
 */
/** Full heartbeats remembered per connection: more than can be in flight while a basis travels back. */
const MAX_FULLS_REMEMBERED = 4

export class HeartbeatSender {
  private base: Heartbeat | null = null
  private hubHolds = false
  /**
   * The full heartbeats sent on this connection, newest last (a few): the hub confirms the first
   * one it gets, and by the time that reaches us another full one may have gone (one follows
   * each desired document). A basis naming any of them is the hub's, not a stranger's.
   */
  private fullsSent: Heartbeat[] = []
  private sinceFull = 0
  /** Beats one at a time: a connect, the timer and a basis may ask at once. */
  private running: Promise<void> = Promise.resolve()

  constructor(private readonly options: HeartbeatBeatOptions) {}

  /**
   * Sends one heartbeat now (after any beat in flight). A beat that fails (its sample threw) is
   * logged and let go: it must neither reject the chain, which would silence every later beat,
   * nor escape as an unhandled rejection from a timer's `void beat()`.
   */
  readonly beat = (): Promise<void> => {
    this.running = this.running.then(() =>
      this.beatOnce().catch((error: unknown) => {
        this.options.logger?.warn({ err: error instanceof Error ? error.message : String(error) }, 'heartbeat not sent')
      }),
    )
    return this.running
  }

  /** A new connection: the hub confirms again what it holds, so this connection starts with a full heartbeat. */
  onConnected(): void {
    this.hubHolds = false
    this.fullsSent = []
  }

  /**
   * A message on the ack channel: true when it was a heartbeat basis (then handled here), false
   * for anything else (an Ack for the outbox). A basis that names another base than ours asks
   * for a full heartbeat at once.
   */
  offer(payload: Buffer): boolean {
    if (!payload.includes('heartbeat-basis')) return false
    let value: unknown
    try {
      value = decodeJson(payload, MAX_BYTES.ack)
    } catch {
      return false
    }
    if (!isHeartbeatBasisShaped(value)) return false
    const parsed = HeartbeatBasis.safeParse(value)
    const ownNode = this.base?.nodeId
    if (!parsed.success || (ownNode !== undefined && parsed.data.nodeId !== ownNode)) {
      this.options.logger?.warn(
        { detail: parsed.success ? `addressed to ${parsed.data.nodeId}` : parsed.error.message.slice(0, 300) },
        'ignoring a malformed heartbeat basis',
      )
      return true
    }
    // The hub holds the full heartbeat it names: deltas go against it. Should it hold a later one
    // after all, it refuses the first delta and names that one, which is also ours.
    const held = this.fullsSent.find((full) => full.at === parsed.data.base)
    if (held !== undefined && held !== this.base) {
      this.base = held
      this.sinceFull = 0
    }
    this.hubHolds = held !== undefined
    this.options.logger?.debug({ base: parsed.data.base, hubHolds: this.hubHolds }, 'heartbeat basis from the hub')
    if (!this.hubHolds) void this.beat()
    return true
  }

  private async beatOnce(): Promise<void> {
    const { link, store, sample } = this.options
    if (!link.connected) return
    const heartbeat = await sample(heartbeatFigures(store))
    const next = nextHeartbeat({ base: this.base, hubHolds: this.hubHolds, sinceFull: this.sinceFull }, heartbeat, this.options.fullEvery)
    // The next delta is relative to what the hub now holds: this heartbeat, or (a delta) its merge,
    // whose clock-advancing figures are the hub's prediction, so a drift between them is sent.
    if (next.kind === 'full' || !this.base) {
      this.base = heartbeat
      this.sinceFull = 0
      this.fullsSent = [...this.fullsSent.slice(-(MAX_FULLS_REMEMBERED - 1)), heartbeat]
    } else {
      try {
        this.base = mergeHeartbeat(this.base, next.delta)
        this.sinceFull++
      } catch {
        // Cannot happen with valid samples; should it, the next heartbeat is full.
        this.base = null
      }
    }
    await link.publish('heartbeat', encodeMessage(next.kind === 'full' ? next.heartbeat : next.delta)).catch(() => undefined)
  }
}

/** One heartbeat sender's beat, full heartbeats only until a hub says it holds one. */
export function heartbeatBeat(options: HeartbeatBeatOptions): () => Promise<void> {
  return new HeartbeatSender(options).beat
}

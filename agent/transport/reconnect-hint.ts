import type { Logger } from 'pino'
import { MAX_BYTES, ProtocolError, ReconnectHint, decodeJson, isReconnectHintShaped, validate } from '../../protocol/index.js'

export interface ReconnectHintsOptions {
  readonly nodeId: string
  /** The last hint this node stored, or null: used from the first attempt after a restart. */
  readonly stored: number | null
  /** Keeps a changed hint for the next start (only called when it changed). */
  readonly save: (capMs: number) => void
  readonly logger: Logger
}

/**
 * The hub's reconnect hint for this node: taken off the ack channel before the outbox sees it,
 * kept in the agent's store, read by the transport's backoff at each attempt.
 */
export class ReconnectHints {
  private capMs: number | null

  constructor(private readonly options: ReconnectHintsOptions) {
    this.capMs = options.stored
  }

  /** The hinted cap, or null when the hub never gave one (an old hub): the default applies. */
  current(): number | null {
    return this.capMs
  }

  /**
   * True when the message on the ack channel was a hint (taken or refused here); false for
   * anything else, which goes on to the outbox as an ack.
   */
  offer(payload: Buffer): boolean {
    let value: unknown
    try {
      value = decodeJson(payload, MAX_BYTES.ack)
    } catch {
      return false
    }
    if (!isReconnectHintShaped(value)) return false
    let hint: ReconnectHint
    try {
      hint = validate(ReconnectHint, value, 'reconnect hint')
    } catch (error) {
      this.options.logger.warn({ err: error instanceof ProtocolError ? error.message : error }, 'ignoring a malformed reconnect hint')
      return true
    }
    if (hint.nodeId !== this.options.nodeId) {
      this.options.logger.warn({ nodeId: hint.nodeId }, 'ignoring a reconnect hint addressed to another node')
      return true
    }
    if (hint.reconnectCapMs === this.capMs) return true
    this.options.logger.info({ reconnectCapMs: hint.reconnectCapMs, was: this.capMs }, 'the hub hinted a new reconnect cap')
    this.capMs = hint.reconnectCapMs
    try {
      this.options.save(hint.reconnectCapMs)
    } catch (error) {
      this.options.logger.warn({ err: error }, 'cannot store the reconnect hint; using it until the agent restarts')
    }
    return true
  }
}

import type { Logger } from 'pino'
import {
  Ack,
  LEGACY_EPOCH,
  MAX_BYTES,
  ProtocolError,
  decodeMessage,
  encodeMessage,
  epochOf,
  type OutboxBatch,
  type OutboxRecord,
} from '../../protocol/index.js'
import { monotonicNow, systemClock, type Clock } from '../../common/clock.js'
import type { OutboxStore } from './outbox-store.js'
import type { AgentTransport } from '../transport/transport.js'

export interface OutboxSenderOptions {
  readonly nodeId: string
  readonly store: OutboxStore
  readonly transport: AgentTransport
  readonly logger: Logger
  readonly batchMaxRecords?: number
  readonly batchMaxBytes?: number
  /** Resend an unacknowledged batch after this long (the ack may have been lost). */
  readonly resendAfterMs?: number
  /** Measures the resend interval on its monotonic reading, so a step of the wall clock neither resends at once nor never. */
  readonly clock?: Clock
}

/**
 * Sends the outbox in seq order, one batch in flight at a time, and deletes records only when
 * the hub acknowledges their seq in this database's epoch. Delivery is at-least-once; the hub
 * dedupes by (node, epoch, seq).
 */
export class OutboxSender {
  private inFlightUpTo: number | null = null
  /** Monotonic ms of the batch in flight's send. */
  private sentAt = 0
  private timer: NodeJS.Timeout | null = null
  private readonly logger: Logger
  private sending = false
  /** Read once: the epoch belongs to this database file and never changes while it is open. */
  private readonly epoch: string

  private readonly clock: Clock

  constructor(private readonly options: OutboxSenderOptions) {
    this.clock = options.clock ?? systemClock
    this.epoch = options.store.outboxEpoch()
    this.logger = options.logger.child({ component: 'outbox', epoch: this.epoch })
  }

  start(): void {
    const resendAfter = this.options.resendAfterMs ?? 10_000
    this.timer = setInterval(
      () => {
        if (this.inFlightUpTo !== null && monotonicNow(this.clock) - this.sentAt > resendAfter) {
          this.logger.info({ upTo: this.inFlightUpTo }, 'no ack in time; resending')
          this.inFlightUpTo = null
        }
        this.kick()
      },
      Math.min(resendAfter, 5_000),
    )
    this.timer.unref()
    this.kick()
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer)
  }

  /** After a reconnect everything unacknowledged goes again, from the oldest. */
  onConnected(): void {
    this.inFlightUpTo = null
    this.kick()
  }

  onAck(payload: Buffer): void {
    let ack: Ack
    try {
      ack = decodeMessage(Ack, payload, { maxBytes: MAX_BYTES.ack, what: 'ack' })
    } catch (error) {
      this.logger.warn({ err: error instanceof ProtocolError ? error.message : error }, 'ignoring a malformed ack')
      return
    }
    if (ack.nodeId !== this.options.nodeId) {
      this.logger.warn({ nodeId: ack.nodeId }, 'ignoring an ack addressed to another node')
      return
    }
    // An ack for another epoch (a batch from a previous database, still in flight) says nothing
    // about this database's seqs, which may be lower: deleting by it would lose records.
    if (epochOf(ack) !== this.epoch) {
      this.logger.info({ ackEpoch: epochOf(ack), seq: ack.seq }, 'ignoring an ack for another outbox epoch')
      return
    }
    const deleted = this.options.store.acknowledge(ack.seq)
    this.logger.debug({ seq: ack.seq, deleted }, 'hub acknowledged')
    if (this.inFlightUpTo !== null && ack.seq >= this.inFlightUpTo) this.inFlightUpTo = null
    this.kick()
  }

  /** Sends the next batch if connected and nothing is in flight. Cheap to call often. */
  kick(): void {
    if (this.sending || this.inFlightUpTo !== null || !this.options.transport.connected) return
    const rows = this.options.store.pendingOutbox(0, this.options.batchMaxRecords ?? 100, this.options.batchMaxBytes ?? 256 * 1024)
    const last = rows.at(-1)
    if (!last) return
    const batch: OutboxBatch = {
      nodeId: this.options.nodeId,
      // The legacy epoch is sent as none, so a hub from before epochs still accepts the batch.
      ...(this.epoch !== LEGACY_EPOCH ? { epoch: this.epoch } : {}),
      records: rows.map((row) => ({ nodeId: this.options.nodeId, seq: row.seq, kind: row.kind, body: row.body }) as OutboxRecord),
    }
    const payload = encodeMessage(batch)
    if (payload.byteLength > MAX_BYTES.outbox) this.logger.warn({ bytes: payload.byteLength }, 'outbox batch is larger than the hub accepts')
    this.sending = true
    this.inFlightUpTo = last.seq
    this.sentAt = monotonicNow(this.clock)
    this.options.transport.publish('outbox', payload).then(
      () => {
        this.sending = false
        // The hub's ack can arrive before the broker's PUBACK settles this promise; its kick
        // found us still sending, so go on from here rather than wait for the timer.
        if (this.inFlightUpTo === null) this.kick()
      },
      (error: unknown) => {
        this.sending = false
        this.logger.debug({ err: error }, 'outbox send failed; will retry')
        this.inFlightUpTo = null
      },
    )
  }
}

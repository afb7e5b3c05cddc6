import { randomBytes } from 'node:crypto'
import type { DesiredDocument, NodeEvent, NodeStatus } from '../../protocol/index.js'
import { isoNow, type Clock } from '../../common/clock.js'
import { dropNotice, placeInOutbox, type OutboxLimits } from '../outbox/outbox-policy.js'
import type { OutboxDepth, OutboxEntry, OutboxRow, StoredDesired, WorkloadRecord } from '../store/agent-store.js'

/**
 * A simulated node's store, in memory: what the agent's SQLite store (agent/store/agent-store.ts)
 * keeps for the intake, the outbox and the heartbeat, without a file or an fsync per node, so
 * thousands of nodes fit in one process. The outbox follows the agent's own rule (placeInOutbox:
 * a status supersedes older unsent ones, events are bounded with a drop notice), numbers records
 * from the clock as the agent does, and has an epoch of its own. Nothing survives the process.
 */
export class MemoryNodeStore {
  private held: StoredDesired | null = null
  private records: WorkloadRecord[] = []
  private outbox: OutboxRow[] = []
  private nextSeq: number
  private dropped = 0
  private readonly listeners: (() => void)[] = []
  private readonly epoch = randomBytes(16).toString('hex')

  constructor(
    private readonly clock: Clock,
    private readonly limits: OutboxLimits,
    /** Told of each status the hub acknowledged (a benchmark times rollouts by it). */
    private readonly statusAcknowledged: (status: NodeStatus) => void = () => undefined,
  ) {
    this.nextSeq = Math.max(1, clock.now())
  }

  onOutboxAppended(listener: () => void): void {
    this.listeners.push(listener)
  }

  desired(): StoredDesired | null {
    return this.held
  }

  acceptDesired(document: DesiredDocument, event: NodeEvent): void {
    this.held = { generation: document.generation, document, acceptedAt: isoNow(this.clock) }
    this.append([{ kind: 'event', body: event }])
  }

  workloads(): WorkloadRecord[] {
    return this.records
  }

  /** The workloads' bookkeeping replaced, with the outbox entries that report it (one step, as the agent's `record`). */
  record(workloads: readonly WorkloadRecord[], entries: readonly OutboxEntry[]): void {
    this.records = [...workloads]
    this.append(entries)
  }

  enqueue(entries: readonly OutboxEntry[]): void {
    this.append(entries)
  }

  pendingOutbox(afterSeq: number, limit: number, maxBytes: number): OutboxRow[] {
    const batch: OutboxRow[] = []
    let bytes = 0
    for (const row of this.outbox) {
      if (row.seq <= afterSeq) continue
      if (batch.length >= limit || (batch.length > 0 && bytes + row.bytes > maxBytes)) break
      bytes += row.bytes
      batch.push({ seq: row.seq, kind: row.kind, body: row.body, bytes: row.bytes })
    }
    return batch
  }

  acknowledge(seq: number): number {
    const before = this.outbox.length
    const acknowledged = this.outbox.filter((row) => row.seq <= seq)
    this.outbox = this.outbox.filter((row) => row.seq > seq)
    for (const row of acknowledged) if (row.kind === 'status') this.statusAcknowledged(row.body as NodeStatus)
    return before - this.outbox.length
  }

  outboxEpoch(): string {
    return this.epoch
  }

  outboxDepth(): OutboxDepth {
    return { ...this.occupancy(), droppedEvents: this.dropped }
  }

  private occupancy(): { records: number; bytes: number } {
    let bytes = 0
    for (const row of this.outbox) bytes += row.bytes
    return { records: this.outbox.length, bytes }
  }

  private append(entries: readonly OutboxEntry[]): void {
    if (entries.length === 0) return
    const now = isoNow(this.clock)
    const add = (entry: OutboxEntry, text: string): void => {
      this.outbox.push({ seq: this.nextSeq++, kind: entry.kind, body: entry.body, bytes: Buffer.byteLength(text) })
    }
    for (const entry of entries) {
      const text = JSON.stringify(entry.body)
      const notice = this.dropped > 0 ? dropNotice(entry.body.nodeId, this.dropped, now) : null
      const noticeText = notice ? JSON.stringify(notice) : ''
      const placement = placeInOutbox(
        entry.kind,
        Buffer.byteLength(text),
        { occupancy: () => this.occupancy(), dropped: this.dropped },
        this.limits,
        Buffer.byteLength(noticeText),
      )
      if (placement.supersede !== null) this.outbox = this.outbox.filter((row) => row.kind !== placement.supersede)
      if (placement.notice && notice) add({ kind: 'event', body: notice }, noticeText)
      if (placement.append) add(entry, text)
      this.dropped = placement.dropped
    }
    for (const listener of this.listeners) listener()
  }
}

import type { Database } from 'better-sqlite3'
import type { WorkloadTemplate, DesiredDocument, HealthState, NodeEvent, NodeStatus, WorkloadState, WorkloadValues } from '../../protocol/index.js'
import { isoNow, type Clock } from '../../common/clock.js'
import { dropNotice, placeInOutbox, type OutboxKind, type OutboxLimits } from '../outbox/outbox-policy.js'
import type { RevertRecord, RevertWindow } from '../reconcile/local-revert.js'

export interface Identity {
  readonly nodeId: string
  readonly hubPublicKey: string | null
  readonly brokerUrl: string | null
  readonly username: string | null
  readonly password: string | null
  readonly enrolledAt: string | null
}

export interface StoredDesired {
  readonly generation: number
  readonly document: DesiredDocument
  readonly acceptedAt: string
}

/** The agent's bookkeeping for one workload, beyond what the engine can tell it. */
export interface WorkloadRecord {
  readonly name: string
  readonly deployment: string
  readonly revision: number
  readonly configHash: string
  readonly containerId: string | null
  readonly state: WorkloadState
  readonly health: HealthState
  readonly restarts: number
  readonly exitCode: number | null
  readonly lastError: string | null
  /** Times (ms) of recent crashes, for crash-loop detection and backoff. */
  readonly recentCrashes: readonly number[]
  readonly backoffUntil: number
  readonly since: string
}

export type OutboxEntry = { readonly kind: 'status'; readonly body: NodeStatus } | { readonly kind: 'event'; readonly body: NodeEvent }

/** What a local-revert decision changes, stored with its events in one transaction. */
export interface LocalRevertChanges {
  readonly startWindows: readonly RevertWindow[]
  readonly clearWindows: readonly string[]
  readonly revert: readonly RevertRecord[]
  readonly clearReverts: readonly string[]
  readonly outbox: readonly OutboxEntry[]
}

export interface OutboxRow {
  readonly seq: number
  readonly kind: 'status' | 'event'
  readonly body: NodeStatus | NodeEvent
  readonly bytes: number
}

export interface OutboxDepth {
  readonly records: number
  readonly bytes: number
  readonly droppedEvents: number
}

interface WorkloadRow {
  name: string
  deployment: string
  revision: number
  config_hash: string
  container_id: string | null
  state: WorkloadState
  health: HealthState
  restarts: number
  exit_code: number | null
  last_error: string | null
  recent_crashes: string
  backoff_until: number
  since: string
}

/**
 * Typed access to the agent's SQLite file. Durability is chosen per write: anything a peer
 * relies on (identity, the accepted desired document, outbox records, which the hub will
 * acknowledge by seq) commits with synchronous=FULL; bookkeeping the agent can rebuild from
 * the engine (workload state alone, acks already received) commits with NORMAL, saving SD
 * card writes. `better-sqlite3` transactions are synchronous, so no await can split one.
 */
export class AgentStore {
  private readonly outboxListeners: (() => void)[] = []
  private appendedInTransaction = false

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly limits: OutboxLimits,
  ) {}

  /** Called after a transaction that appended to the outbox has committed, so the sender can go at once. */
  onOutboxAppended(listener: () => void): void {
    this.outboxListeners.push(listener)
  }

  close(): void {
    this.db.close()
  }

  identity(): Identity | null {
    const row = this.db.prepare('SELECT node_id, hub_public_key, broker_url, username, password, enrolled_at FROM identity WHERE id = 1').get() as
      | {
          node_id: string
          hub_public_key: string | null
          broker_url: string | null
          username: string | null
          password: string | null
          enrolled_at: string | null
        }
      | undefined
    if (!row) return null
    return {
      nodeId: row.node_id,
      hubPublicKey: row.hub_public_key,
      brokerUrl: row.broker_url,
      username: row.username,
      password: row.password,
      enrolledAt: row.enrolled_at,
    }
  }

  saveIdentity(identity: Identity): void {
    this.durably(() => {
      this.db
        .prepare(
          `INSERT INTO identity (id, node_id, hub_public_key, broker_url, username, password, enrolled_at)
           VALUES (1, @nodeId, @hubPublicKey, @brokerUrl, @username, @password, @enrolledAt)
           ON CONFLICT (id) DO UPDATE SET node_id = excluded.node_id, hub_public_key = excluded.hub_public_key,
             broker_url = excluded.broker_url, username = excluded.username, password = excluded.password, enrolled_at = excluded.enrolled_at`,
        )
        .run(identity)
    })
  }

  desired(): StoredDesired | null {
    const row = this.db.prepare('SELECT generation, body, accepted_at FROM desired WHERE id = 1').get() as
      | { generation: number; body: string; accepted_at: string }
      | undefined
    if (!row) return null
    return { generation: row.generation, document: JSON.parse(row.body) as DesiredDocument, acceptedAt: row.accepted_at }
  }

  /** Stores a verified, newer document and its "accepted" event in one durable transaction. */
  acceptDesired(document: DesiredDocument, event: NodeEvent): void {
    this.durably(() => {
      this.db
        .prepare(
          `INSERT INTO desired (id, generation, body, signature, accepted_at) VALUES (1, ?, ?, ?, ?)
           ON CONFLICT (id) DO UPDATE SET generation = excluded.generation, body = excluded.body,
             signature = excluded.signature, accepted_at = excluded.accepted_at`,
        )
        .run(document.generation, JSON.stringify(document), document.signature, isoNow(this.clock))
      this.insertOutbox([{ kind: 'event', body: event }])
    })
  }

  /** The reconnect cap the hub last hinted, or null if it never did. */
  reconnectHint(): number | null {
    const row = this.db.prepare('SELECT cap_ms FROM reconnect_hint WHERE id = 1').get() as { cap_ms: number } | undefined
    return row?.cap_ms ?? null
  }

  /** Lazily: a hint lost to a power cut comes again at the next connect; meanwhile the default applies. */
  saveReconnectHint(capMs: number): void {
    this.lazily(() => {
      this.db
        .prepare(
          'INSERT INTO reconnect_hint (id, cap_ms, received_at) VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE SET cap_ms = excluded.cap_ms, received_at = excluded.received_at',
        )
        .run(capMs, isoNow(this.clock))
    })
  }

  /** The bytes saved for one month (YYYY-MM), by category; empty when none. */
  traffic(month: string): Record<string, number> {
    const rows = this.db.prepare('SELECT category, bytes FROM traffic WHERE month = ?').all(month) as { category: string; bytes: number }[]
    return Object.fromEntries(rows.map((row) => [row.category, row.bytes]))
  }

  /**
   * Lazily, and the month's totals replace what was saved: a power cut loses at most what was
   * counted since the save before (an undercount the meter bounds). Months before the previous
   * one are dropped.
   */
  saveTraffic(month: string, bytes: Readonly<Record<string, number>>, keepFrom: string): void {
    this.lazily(() => {
      const upsert = this.db.prepare(
        'INSERT INTO traffic (month, category, bytes) VALUES (?, ?, ?) ON CONFLICT (month, category) DO UPDATE SET bytes = excluded.bytes',
      )
      for (const [category, count] of Object.entries(bytes)) upsert.run(month, category, count)
      this.db.prepare('DELETE FROM traffic WHERE month < ?').run(keepFrom)
    })
  }

  workloads(): WorkloadRecord[] {
    const rows = this.db.prepare('SELECT * FROM workload_state ORDER BY name').all() as WorkloadRow[]
    return rows.map(fromWorkloadRow)
  }

  workload(name: string): WorkloadRecord | null {
    const row = this.db.prepare('SELECT * FROM workload_state WHERE name = ?').get(name) as WorkloadRow | undefined
    return row ? fromWorkloadRow(row) : null
  }

  /**
   * Records workload bookkeeping and the outbox entries it causes in one transaction, so a
   * transition is never stored without its report, nor reported without being stored.
   */
  record(changes: { upsert?: readonly WorkloadRecord[]; remove?: readonly string[]; outbox?: readonly OutboxEntry[] }): void {
    const outbox = changes.outbox ?? []
    const apply = (): void => {
      const upsert = this.db.prepare(
        `INSERT INTO workload_state (name, deployment, revision, config_hash, container_id, state, health, restarts, exit_code, last_error, recent_crashes, backoff_until, since)
         VALUES (@name, @deployment, @revision, @configHash, @containerId, @state, @health, @restarts, @exitCode, @lastError, @recentCrashes, @backoffUntil, @since)
         ON CONFLICT (name) DO UPDATE SET deployment = excluded.deployment, revision = excluded.revision, config_hash = excluded.config_hash,
           container_id = excluded.container_id, state = excluded.state, health = excluded.health, restarts = excluded.restarts,
           exit_code = excluded.exit_code, last_error = excluded.last_error, recent_crashes = excluded.recent_crashes,
           backoff_until = excluded.backoff_until, since = excluded.since`,
      )
      for (const record of changes.upsert ?? []) upsert.run({ ...record, recentCrashes: JSON.stringify(record.recentCrashes) })
      const remove = this.db.prepare('DELETE FROM workload_state WHERE name = ?')
      for (const name of changes.remove ?? []) remove.run(name)
      this.insertOutbox(outbox)
    }
    if (outbox.length > 0) this.durably(apply)
    else this.lazily(apply)
  }

  revertWindows(): RevertWindow[] {
    const rows = this.db.prepare('SELECT workload, revision, started_at FROM revert_window ORDER BY workload').all() as {
      workload: string
      revision: number
      started_at: number
    }[]
    return rows.map((row) => ({ workload: row.workload, revision: row.revision, startedAt: row.started_at }))
  }

  localReverts(): RevertRecord[] {
    const rows = this.db.prepare('SELECT workload, from_revision, to_revision, template, vals, reason, at FROM local_revert ORDER BY workload').all() as {
      workload: string
      from_revision: number
      to_revision: number
      template: string
      vals: string | null
      reason: string
      at: string
    }[]
    return rows.map((row) => ({
      workload: row.workload,
      fromRevision: row.from_revision,
      toRevision: row.to_revision,
      template: JSON.parse(row.template) as WorkloadTemplate,
      ...(row.vals !== null ? { values: JSON.parse(row.vals) as WorkloadValues } : {}),
      reason: row.reason,
      at: row.at,
    }))
  }

  /**
   * Durable (FULL): a window start lost to a power cut would restart the window after the
   * reboot, and a lost revert would put the bad revision back on its own.
   */
  recordLocalRevert(changes: LocalRevertChanges): void {
    this.durably(() => {
      const window = this.db.prepare(
        `INSERT INTO revert_window (workload, revision, started_at) VALUES (?, ?, ?)
         ON CONFLICT (workload) DO UPDATE SET revision = excluded.revision, started_at = excluded.started_at`,
      )
      for (const w of changes.startWindows) window.run(w.workload, w.revision, w.startedAt)
      const unwindow = this.db.prepare('DELETE FROM revert_window WHERE workload = ?')
      for (const name of changes.clearWindows) unwindow.run(name)
      const unrevert = this.db.prepare('DELETE FROM local_revert WHERE workload = ?')
      for (const name of changes.clearReverts) unrevert.run(name)
      const revert = this.db.prepare(
        `INSERT INTO local_revert (workload, from_revision, to_revision, template, vals, reason, at) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (workload) DO UPDATE SET from_revision = excluded.from_revision, to_revision = excluded.to_revision,
           template = excluded.template, vals = excluded.vals, reason = excluded.reason, at = excluded.at`,
      )
      for (const r of changes.revert)
        revert.run(r.workload, r.fromRevision, r.toRevision, JSON.stringify(r.template), r.values ? JSON.stringify(r.values) : null, r.reason, r.at)
      this.insertOutbox(changes.outbox)
    })
  }

  /**
   * Durable (FULL): writes of another part of the agent to this database (`apply` runs inside the
   * transaction) with the outbox entries they cause, so neither is stored without the other.
   */
  recordWithOutbox(apply: () => void, entries: readonly OutboxEntry[]): void {
    this.durably(() => {
      apply()
      this.insertOutbox(entries)
    })
  }

  enqueue(entries: readonly OutboxEntry[]): void {
    if (entries.length > 0) this.durably(() => this.insertOutbox(entries))
  }

  /** Unacknowledged records after `afterSeq`, oldest first, up to a count and a byte budget (at least one). */
  pendingOutbox(afterSeq: number, limit: number, maxBytes: number): OutboxRow[] {
    const rows = this.db.prepare('SELECT seq, kind, body, bytes FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?').all(afterSeq, limit) as {
      seq: number
      kind: 'status' | 'event'
      body: string
      bytes: number
    }[]
    const batch: OutboxRow[] = []
    let bytes = 0
    for (const row of rows) {
      if (batch.length > 0 && bytes + row.bytes > maxBytes) break
      bytes += row.bytes
      batch.push({ seq: row.seq, kind: row.kind, body: JSON.parse(row.body) as NodeStatus | NodeEvent, bytes: row.bytes })
    }
    return batch
  }

  /** The hub has every record up to `seq`: forget them. Losing this write only causes a harmless resend. */
  acknowledge(seq: number): number {
    let deleted = 0
    this.lazily(() => {
      deleted = this.db.prepare('DELETE FROM outbox WHERE seq <= ?').run(seq).changes
    })
    return deleted
  }

  /** This database's outbox epoch, made once by its migration; '' (legacy) for a database from before epochs. */
  outboxEpoch(): string {
    const row = this.db.prepare('SELECT epoch FROM outbox_epoch WHERE id = 1').get() as { epoch: string } | undefined
    if (!row) throw new Error('the agent database has no outbox epoch; was it migrated?')
    return row.epoch
  }

  outboxDepth(): OutboxDepth {
    const row = this.db.prepare('SELECT COUNT(*) AS records, COALESCE(SUM(bytes), 0) AS bytes FROM outbox').get() as { records: number; bytes: number }
    const meta = this.db.prepare('SELECT dropped_events FROM outbox_meta WHERE id = 1').get() as { dropped_events: number } | undefined
    return { records: row.records, bytes: row.bytes, droppedEvents: meta?.dropped_events ?? 0 }
  }

  private meta(): { next_seq: number; dropped_events: number } {
    const row = this.db.prepare('SELECT next_seq, dropped_events FROM outbox_meta WHERE id = 1').get() as
      | { next_seq: number; dropped_events: number }
      | undefined
    if (row) return row
    // A fresh database starts its sequence at the clock (ms). Correctness after a corrupt file
    // was moved aside does not rest on this (the clock may be in the past): the fresh database
    // has a new outbox epoch, and the hub dedupes per (node, epoch, seq).
    const fresh = { next_seq: Math.max(1, this.clock.now()), dropped_events: 0 }
    this.db.prepare('INSERT INTO outbox_meta (id, next_seq, dropped_events) VALUES (1, ?, ?)').run(fresh.next_seq, fresh.dropped_events)
    return fresh
  }

  /** Must run inside a transaction. */
  private insertOutbox(entries: readonly OutboxEntry[]): void {
    if (entries.length === 0) return
    this.appendedInTransaction = true
    const meta = this.meta()
    let nextSeq = meta.next_seq
    let dropped = meta.dropped_events
    const insert = this.db.prepare('INSERT INTO outbox (seq, kind, body, bytes, created_at) VALUES (?, ?, ?, ?, ?)')
    const now = isoNow(this.clock)
    const append = (kind: OutboxKind, text: string): void => {
      insert.run(nextSeq++, kind, text, Buffer.byteLength(text), now)
    }
    // The rule (compaction, the bound, the drop notice) is placeInOutbox; this applies it.
    for (const entry of entries) {
      const text = JSON.stringify(entry.body)
      const notice = dropped > 0 ? JSON.stringify(dropNotice(entry.body.nodeId, dropped, now)) : ''
      const placement = placeInOutbox(
        entry.kind,
        Buffer.byteLength(text),
        { occupancy: () => this.occupancy(), dropped },
        this.limits,
        Buffer.byteLength(notice),
      )
      if (placement.supersede !== null) this.db.prepare('DELETE FROM outbox WHERE kind = ?').run(placement.supersede)
      if (placement.notice) append('event', notice)
      if (placement.append) append(entry.kind, text)
      dropped = placement.dropped
    }
    this.db.prepare('UPDATE outbox_meta SET next_seq = ?, dropped_events = ? WHERE id = 1').run(nextSeq, dropped)
  }

  private occupancy(): { records: number; bytes: number } {
    return this.db.prepare('SELECT COUNT(*) AS records, COALESCE(SUM(bytes), 0) AS bytes FROM outbox').get() as { records: number; bytes: number }
  }

  private durably(fn: () => void): void {
    this.db.pragma('synchronous = FULL')
    try {
      this.committed(fn)
    } finally {
      this.db.pragma('synchronous = NORMAL')
    }
  }

  private lazily(fn: () => void): void {
    this.committed(fn)
  }

  private committed(fn: () => void): void {
    this.appendedInTransaction = false
    this.db.transaction(fn)()
    if (!this.appendedInTransaction) return
    this.appendedInTransaction = false
    for (const listener of this.outboxListeners) listener()
  }
}

function fromWorkloadRow(row: WorkloadRow): WorkloadRecord {
  return {
    name: row.name,
    deployment: row.deployment,
    revision: row.revision,
    configHash: row.config_hash,
    containerId: row.container_id,
    state: row.state,
    health: row.health,
    restarts: row.restarts,
    exitCode: row.exit_code,
    lastError: row.last_error,
    recentCrashes: JSON.parse(row.recent_crashes) as number[],
    backoffUntil: row.backoff_until,
    since: row.since,
  }
}

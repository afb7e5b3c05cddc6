import type { Database } from 'better-sqlite3'
import { Statements } from './statements.js'
import { canonicalJson } from '../../protocol/canonical-json.js'
import type { Heartbeat, Inventory, NodePolicy } from '../../protocol/index.js'
import { durableHeartbeatChanges } from './heartbeat-durability.js'

export interface NodeCapacity {
  readonly cpuMillis: number
  readonly memoryBytes: number
  readonly gpus: number
}

export interface NodeRecord {
  readonly id: string
  readonly labels: Readonly<Record<string, string>>
  readonly capabilities: readonly string[]
  readonly arch: string
  readonly profile: string
  readonly inventory: Inventory
  readonly capacity: NodeCapacity
  readonly reserved: { readonly cpuMillis: number; readonly memoryBytes: number }
  readonly heartbeatIntervalMs: number
  readonly cordoned: boolean
  readonly online: boolean
  readonly offlineSince: string | null
  readonly lastSeenAt: string | null
  readonly lastHeartbeat: Heartbeat | null
  readonly observedGeneration: number
  readonly createdAt: string
  /** When the latest heartbeat arrived, on the hub's clock (its `at` is the node's); null before the first. */
  readonly lastHeartbeatAt?: string | null
  /** The node's clock minus the hub's, in ms, estimated from its heartbeats (hub/ingest/clock-offset.ts); null before the first. */
  readonly clockOffsetMs?: number | null
  /** Since when (hub time) the node has had ClockSkew; null when its clock is within the threshold. */
  readonly clockSkewSince?: string | null
  /** The node's X25519 public key its Secrets are sealed to; null for an agent from before sealing. */
  readonly sealingKey?: string | null
  /** Device paths the node last reported present, sorted; null when it never reported any (an agent from before devices). */
  readonly devices?: readonly string[] | null
  /** The policy the node last reported; null when it never reported one (the scheduler assumes the default). */
  readonly policy?: NodePolicy | null
}

interface NodeRow {
  id: string
  labels: string
  capabilities: string
  arch: string
  profile: string
  inventory: string
  capacity: string
  reserved: string
  heartbeat_interval_ms: number
  cordoned: number
  online: number
  offline_since: string | null
  last_seen_at: string | null
  last_heartbeat: string | null
  observed_generation: number
  created_at: string
  heartbeat_received_at: string | null
  clock_offset_ms: number | null
  clock_skew_since: string | null
  sealing_key: string | null
  devices: string | null
  policy: string | null
}

/** The JSON columns of a row, parsed, with the text they came from. */
interface ParsedColumns {
  readonly text: readonly [string, string, string, string, string, string | null, string | null]
  readonly labels: Record<string, string>
  readonly capabilities: string[]
  readonly inventory: Inventory
  readonly capacity: NodeCapacity
  readonly reserved: NodeRecord['reserved']
  readonly devices: string[] | null
  readonly policy: NodePolicy | null
}

/** The latest heartbeat of a node, held in memory (soft state; see NodeRepository). */
interface LatestHeartbeat {
  readonly heartbeat: Heartbeat
  readonly at: string
  readonly offsetMs: number | null
}

/** What one flush writes for a node: its latest heartbeat (if any since the hub started) and when it was last seen. */
interface SoftWrite {
  readonly id: string
  readonly latest: LatestHeartbeat | undefined
  readonly seenAt: string | undefined
}

/** Which nodes a flush writes: those whose latest heartbeat changed something durable, or every node heard from (at shutdown). */
export type HeartbeatFlushScope = 'changed' | 'all'

function later(a: string | null, b: string | null | undefined): string | null {
  if (b === null || b === undefined) return a
  return a !== null && a > b ? a : b
}
/**
 * Nodes. Heartbeats and last seen are soft state: the latest per node lives in memory and every
 * read here overlays it, so readers always see the freshest. `flushHeartbeats` writes only the
 * nodes whose latest heartbeat differs durably from the one stored (heartbeat-durability.ts),
 * so an idle fleet writes nothing; at shutdown it writes every node heard from. A crash loses
 * the soft state since the last write, which the next heartbeat replaces anyway.
 */
export class NodeRepository {
  private readonly sql: Statements
  /** Parsed JSON columns per node, reused while the column text is unchanged. */
  private readonly parsed = new Map<string, ParsedColumns>()
  private readonly latest = new Map<string, LatestHeartbeat>()
  /** Last seen from outbox batches and heartbeat deltas without a base, in memory. */
  private readonly seen = new Map<string, string>()
  /** The heartbeat in the store per node (null: none), read once per node and kept in step with writes. */
  private readonly stored = new Map<string, Heartbeat | null>()
  /** Nodes whose latest heartbeat changed something durable since it was last written. */
  private readonly dirty = new Set<string>()
  private readonly writeSoft: (writes: readonly SoftWrite[]) => void

  constructor(db: Database) {
    this.sql = new Statements(db)
    this.writeSoft = db.transaction((writes: readonly SoftWrite[]) => {
      const heartbeat = this.sql.get(
        "UPDATE nodes SET last_heartbeat = ?, heartbeat_received_at = ?, clock_offset_ms = COALESCE(?, clock_offset_ms), last_seen_at = MAX(COALESCE(last_seen_at, ''), ?), observed_generation = MAX(observed_generation, ?) WHERE id = ?",
      )
      const seen = this.sql.get("UPDATE nodes SET last_seen_at = ? WHERE id = ? AND COALESCE(last_seen_at, '') < ?")
      for (const { id, latest, seenAt } of writes) {
        if (latest) {
          const { heartbeat: beat, at, offsetMs } = latest
          heartbeat.run(JSON.stringify(beat), at, offsetMs, later(at, seenAt), beat.observedGeneration, id)
        } else if (seenAt) seen.run(seenAt, id, seenAt)
      }
    })
  }

  list(): NodeRecord[] {
    return (this.sql.get('SELECT * FROM nodes ORDER BY id').all() as NodeRow[]).map((row) => this.fromRow(row))
  }

  get(id: string): NodeRecord | null {
    const row = this.sql.get('SELECT * FROM nodes WHERE id = ?').get(id) as NodeRow | undefined
    return row ? this.fromRow(row) : null
  }

  /**
   * A row as a record. JSON parsing every node on every read was a sixth of the hub's CPU at a
   * thousand nodes, so parsed columns are reused while their text is the same; comparing the
   * text (not trusting a cache) keeps this right across rolled-back transactions.
   */
  private fromRow(row: NodeRow): NodeRecord {
    const text = [row.labels, row.capabilities, row.inventory, row.capacity, row.reserved, row.devices, row.policy] as const
    let columns = this.parsed.get(row.id)
    if (!columns || columns.text.some((value, i) => value !== text[i])) {
      columns = {
        text,
        labels: JSON.parse(row.labels) as Record<string, string>,
        capabilities: JSON.parse(row.capabilities) as string[],
        inventory: JSON.parse(row.inventory) as Inventory,
        capacity: JSON.parse(row.capacity) as NodeCapacity,
        reserved: JSON.parse(row.reserved) as NodeRecord['reserved'],
        devices: row.devices === null ? null : (JSON.parse(row.devices) as string[]),
        policy: row.policy === null ? null : (JSON.parse(row.policy) as NodePolicy),
      }
      this.parsed.set(row.id, columns)
    }
    const pending = this.latest.get(row.id)
    const seenAt = this.seen.get(row.id)
    return {
      id: row.id,
      labels: columns.labels,
      capabilities: columns.capabilities,
      arch: row.arch,
      profile: row.profile,
      inventory: columns.inventory,
      capacity: columns.capacity,
      reserved: columns.reserved,
      heartbeatIntervalMs: row.heartbeat_interval_ms,
      cordoned: row.cordoned === 1,
      online: row.online === 1,
      offlineSince: row.offline_since,
      lastSeenAt: later(later(row.last_seen_at, pending?.at), seenAt),
      lastHeartbeat: pending ? pending.heartbeat : row.last_heartbeat ? (JSON.parse(row.last_heartbeat) as Heartbeat) : null,
      observedGeneration: pending ? Math.max(row.observed_generation, pending.heartbeat.observedGeneration) : row.observed_generation,
      createdAt: row.created_at,
      lastHeartbeatAt: pending ? pending.at : row.heartbeat_received_at,
      clockOffsetMs: pending?.offsetMs ?? row.clock_offset_ms,
      clockSkewSince: row.clock_skew_since,
      sealingKey: row.sealing_key ?? columns.inventory.sealingKey ?? null,
      devices: columns.devices,
      policy: columns.policy,
    }
  }

  exists(id: string): boolean {
    return this.sql.get('SELECT 1 FROM nodes WHERE id = ?').get(id) !== undefined
  }

  insert(
    node: Omit<
      NodeRecord,
      | 'online'
      | 'offlineSince'
      | 'lastSeenAt'
      | 'lastHeartbeat'
      | 'observedGeneration'
      | 'cordoned'
      | 'lastHeartbeatAt'
      | 'clockOffsetMs'
      | 'clockSkewSince'
      | 'sealingKey'
      | 'devices'
      | 'policy'
    >,
  ): void {
    this.sql
      .get(
        `INSERT INTO nodes (id, labels, capabilities, arch, profile, inventory, capacity, reserved, heartbeat_interval_ms, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        node.id,
        JSON.stringify(node.labels),
        JSON.stringify(node.capabilities),
        node.arch,
        node.profile,
        JSON.stringify(node.inventory),
        JSON.stringify(node.capacity),
        JSON.stringify(node.reserved),
        node.heartbeatIntervalMs,
        node.createdAt,
      )
  }

  setLabels(id: string, labels: Readonly<Record<string, string>>): void {
    this.sql.get('UPDATE nodes SET labels = ? WHERE id = ?').run(JSON.stringify(labels), id)
  }

  /** Returns whether it changed (an agent reports its key with every status). */
  setSealingKey(id: string, key: string): boolean {
    return this.sql.get('UPDATE nodes SET sealing_key = ? WHERE id = ? AND sealing_key IS NOT ?').run(key, id, key).changes > 0
  }

  /**
   * What a status says the node has and allows; a field it leaves out keeps its stored value.
   * Returns whether either changed (agents repeat both in every status), sorted devices and
   * canonical JSON so an unchanged report never counts as a change.
   */
  setReported(id: string, reported: { readonly devices?: readonly string[] | undefined; readonly policy?: NodePolicy | undefined }): boolean {
    if (reported.devices === undefined && reported.policy === undefined) return false
    const devices = reported.devices === undefined ? null : JSON.stringify([...new Set(reported.devices)].sort())
    const policy = reported.policy === undefined ? null : canonicalJson(reported.policy)
    return (
      this.sql
        .get(
          `UPDATE nodes SET devices = COALESCE(@devices, devices), policy = COALESCE(@policy, policy)
           WHERE id = @id AND ((@devices IS NOT NULL AND devices IS NOT @devices) OR (@policy IS NOT NULL AND policy IS NOT @policy))`,
        )
        .run({ devices, policy, id }).changes > 0
    )
  }

  setCordoned(id: string, cordoned: boolean): void {
    this.sql.get('UPDATE nodes SET cordoned = ? WHERE id = ?').run(cordoned ? 1 : 0, id)
  }

  /** Presence: online clears offline_since; offline keeps the earliest time it went away. */
  setOnline(id: string, online: boolean, at: string): boolean {
    const result = online
      ? this.sql.get('UPDATE nodes SET online = 1, offline_since = NULL, last_seen_at = ? WHERE id = ? AND online = 0').run(at, id)
      : this.sql.get('UPDATE nodes SET online = 0, offline_since = ? WHERE id = ? AND online = 1').run(at, id)
    return result.changes > 0
  }

  /** The node was heard from (soft: in memory, written with its next durable heartbeat or at shutdown). */
  touch(id: string, at: string): void {
    const seenAt = later(this.seen.get(id) ?? null, at)
    if (seenAt !== null) this.seen.set(id, seenAt)
  }

  /** The traffic figures of the node's latest heartbeat (kept in memory, else stored), for heartbeats that leave them out. */
  lastTraffic(id: string): Heartbeat['traffic'] {
    return this.latestHeartbeat(id)?.traffic
  }

  /** The encodings the node's latest heartbeat says it reads desired documents in (kept across restarts with it); undefined: none said. */
  desiredEncodings(id: string): Heartbeat['desiredEncodings'] {
    return this.latestHeartbeat(id)?.desiredEncodings
  }

  private latestHeartbeat(id: string): Heartbeat | null {
    return this.latest.get(id)?.heartbeat ?? this.storedHeartbeat(id)
  }

  private storedHeartbeat(id: string): Heartbeat | null {
    const known = this.stored.get(id)
    if (known !== undefined) return known
    const row = this.sql.get('SELECT last_heartbeat FROM nodes WHERE id = ?').get(id) as { last_heartbeat: string | null } | undefined
    if (row === undefined) return null
    const stored = row.last_heartbeat ? (JSON.parse(row.last_heartbeat) as Heartbeat) : null
    this.stored.set(id, stored)
    return stored
  }

  /**
   * In memory; reads see it at once. `at` is when it arrived (hub time), `offsetMs` the node's
   * clock offset estimated with it. Marked for the next flush only if it changed something durable.
   */
  recordHeartbeat(id: string, heartbeat: Heartbeat, at: string, offsetMs: number | null = null): void {
    this.latest.set(id, { heartbeat, at, offsetMs })
    if (durableHeartbeatChanges(this.storedHeartbeat(id), heartbeat).length > 0) this.dirty.add(id)
    else this.dirty.delete(id)
  }

  /**
   * ClockSkew starts (since, hub time) or ends (null), with the offset that decided it. Written at
   * once, unlike heartbeats, so a hub restart neither repeats the start event nor misses the end.
   */
  setClockSkew(id: string, since: string | null, offsetMs: number): void {
    this.sql.get('UPDATE nodes SET clock_skew_since = ?, clock_offset_ms = ? WHERE id = ?').run(since, offsetMs, id)
  }

  /** Nodes whose latest heartbeat changed something durable and is not written yet. */
  get pendingHeartbeats(): number {
    return this.dirty.size
  }

  /**
   * Writes, in one transaction, the latest heartbeat and last seen of the nodes in `scope`:
   * 'changed' (the timer) those whose heartbeat changed something durable, 'all' (shutdown)
   * every node heard from since the hub started. Returns how many nodes it wrote; on a failed
   * write nothing is forgotten and the next flush tries again.
   */
  flushHeartbeats(scope: HeartbeatFlushScope = 'changed'): number {
    const ids = scope === 'all' ? new Set([...this.latest.keys(), ...this.seen.keys()]) : this.dirty
    if (ids.size === 0) return 0
    const writes = [...ids].map((id) => ({ id, latest: this.latest.get(id), seenAt: this.seen.get(id) }))
    this.writeSoft(writes)
    // Synchronous from the snapshot to here, so nothing arrived meanwhile.
    for (const { id, latest } of writes) if (latest) this.stored.set(id, latest.heartbeat)
    this.dirty.clear()
    return writes.length
  }

  setObservedGeneration(id: string, generation: number): void {
    this.sql.get('UPDATE nodes SET observed_generation = MAX(observed_generation, ?) WHERE id = ?').run(generation, id)
  }

  delete(id: string): void {
    this.sql.get('DELETE FROM nodes WHERE id = ?').run(id)
    this.latest.delete(id)
    this.seen.delete(id)
    this.stored.delete(id)
    this.dirty.delete(id)
    this.parsed.delete(id)
  }
}

import type { Database } from 'better-sqlite3'
import { Statements } from './statements.js'
import { canonicalJson } from '../../protocol/canonical-json.js'
import type { Heartbeat, Inventory, NodePolicy } from '../../protocol/index.js'

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

/** The latest heartbeat of a node, held in memory until the next flush. */
interface PendingHeartbeat {
  readonly heartbeat: Heartbeat
  readonly at: string
  readonly offsetMs: number | null
}

function later(a: string | null, b: string): string {
  return a !== null && a > b ? a : b
}
/**
 * Nodes. Heartbeats are soft state: the latest per node is kept in memory and written in one
 * transaction by `flushHeartbeats` (the hub calls it every 30 s and at shutdown), and every read
 * here overlays them, so readers always see the freshest. A crash loses at most one flush
 * interval of heartbeats, which the next heartbeat replaces anyway.
 */
export class NodeRepository {
  private readonly sql: Statements
  /** Parsed JSON columns per node, reused while the column text is unchanged. */
  private readonly parsed = new Map<string, ParsedColumns>()
  private readonly heartbeats = new Map<string, PendingHeartbeat>()
  private readonly flushAll: (pending: readonly [string, PendingHeartbeat][]) => void

  constructor(db: Database) {
    this.sql = new Statements(db)
    this.flushAll = db.transaction((pending: readonly [string, PendingHeartbeat][]) => {
      const update = this.sql.get(
        "UPDATE nodes SET last_heartbeat = ?, heartbeat_received_at = ?, clock_offset_ms = COALESCE(?, clock_offset_ms), last_seen_at = MAX(COALESCE(last_seen_at, ''), ?), observed_generation = MAX(observed_generation, ?) WHERE id = ?",
      )
      for (const [id, { heartbeat, at, offsetMs }] of pending) update.run(JSON.stringify(heartbeat), at, offsetMs, at, heartbeat.observedGeneration, id)
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
    const pending = this.heartbeats.get(row.id)
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
      lastSeenAt: pending ? later(row.last_seen_at, pending.at) : row.last_seen_at,
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

  touch(id: string, at: string): void {
    this.sql.get('UPDATE nodes SET last_seen_at = ? WHERE id = ?').run(at, id)
  }

  /**
   * In memory until `flushHeartbeats`; reads see it at once. `at` is when it arrived (hub time);
   * `offsetMs` the node's clock offset estimated with it.
   */
  /** The traffic figures of the node's latest heartbeat (kept in memory, else stored), for heartbeats that leave them out. */
  lastTraffic(id: string): Heartbeat['traffic'] {
    return this.latestHeartbeat(id)?.traffic
  }

  /** The encodings the node's latest heartbeat says it reads desired documents in (kept across restarts with it); undefined: none said. */
  desiredEncodings(id: string): Heartbeat['desiredEncodings'] {
    return this.latestHeartbeat(id)?.desiredEncodings
  }

  private latestHeartbeat(id: string): Heartbeat | null {
    const pending = this.heartbeats.get(id)
    if (pending) return pending.heartbeat
    const row = this.sql.get('SELECT last_heartbeat FROM nodes WHERE id = ?').get(id) as { last_heartbeat: string | null } | undefined
    return row?.last_heartbeat ? (JSON.parse(row.last_heartbeat) as Heartbeat) : null
  }

  recordHeartbeat(id: string, heartbeat: Heartbeat, at: string, offsetMs: number | null = null): void {
    this.heartbeats.set(id, { heartbeat, at, offsetMs })
  }

  /**
   * ClockSkew starts (since, hub time) or ends (null), with the offset that decided it. Written at
   * once, unlike heartbeats, so a hub restart neither repeats the start event nor misses the end.
   */
  setClockSkew(id: string, since: string | null, offsetMs: number): void {
    this.sql.get('UPDATE nodes SET clock_skew_since = ?, clock_offset_ms = ? WHERE id = ?').run(since, offsetMs, id)
  }

  /** Heartbeats not yet written. */
  get pendingHeartbeats(): number {
    return this.heartbeats.size
  }

  /** Writes the latest heartbeat of every node that sent one since the last flush, in one transaction. */
  flushHeartbeats(): number {
    if (this.heartbeats.size === 0) return 0
    const pending = [...this.heartbeats]
    this.flushAll(pending)
    // Synchronous from the snapshot to here, so nothing arrived meanwhile; on a failed write
    // the heartbeats stay for the next flush.
    this.heartbeats.clear()
    return pending.length
  }

  setObservedGeneration(id: string, generation: number): void {
    this.sql.get('UPDATE nodes SET observed_generation = MAX(observed_generation, ?) WHERE id = ?').run(generation, id)
  }

  delete(id: string): void {
    this.sql.get('DELETE FROM nodes WHERE id = ?').run(id)
    this.heartbeats.delete(id)
    this.parsed.delete(id)
  }
}

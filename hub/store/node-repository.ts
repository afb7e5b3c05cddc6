import type { Database } from 'better-sqlite3'
import { Statements } from './statements.js'
import type { Heartbeat, Inventory } from '../../protocol/index.js'

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
}

function fromRow(row: NodeRow): NodeRecord {
  return {
    id: row.id,
    labels: JSON.parse(row.labels) as Record<string, string>,
    capabilities: JSON.parse(row.capabilities) as string[],
    arch: row.arch,
    profile: row.profile,
    inventory: JSON.parse(row.inventory) as Inventory,
    capacity: JSON.parse(row.capacity) as NodeCapacity,
    reserved: JSON.parse(row.reserved) as NodeRecord['reserved'],
    heartbeatIntervalMs: row.heartbeat_interval_ms,
    cordoned: row.cordoned === 1,
    online: row.online === 1,
    offlineSince: row.offline_since,
    lastSeenAt: row.last_seen_at,
    lastHeartbeat: row.last_heartbeat ? (JSON.parse(row.last_heartbeat) as Heartbeat) : null,
    observedGeneration: row.observed_generation,
    createdAt: row.created_at,
  }
}

export class NodeRepository {
  private readonly sql: Statements

  constructor(db: Database) {
    this.sql = new Statements(db)
  }

  list(): NodeRecord[] {
    return (this.sql.get('SELECT * FROM nodes ORDER BY id').all() as NodeRow[]).map(fromRow)
  }

  get(id: string): NodeRecord | null {
    const row = this.sql.get('SELECT * FROM nodes WHERE id = ?').get(id) as NodeRow | undefined
    return row ? fromRow(row) : null
  }

  exists(id: string): boolean {
    return this.sql.get('SELECT 1 FROM nodes WHERE id = ?').get(id) !== undefined
  }

  insert(node: Omit<NodeRecord, 'online' | 'offlineSince' | 'lastSeenAt' | 'lastHeartbeat' | 'observedGeneration' | 'cordoned'>): void {
    this.sql
      .get(
        `INSERT INTO nodes (id, labels, capabilities, arch, profile, inventory, capacity, reserved, heartbeat_interval_ms, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(node.id, JSON.stringify(node.labels), JSON.stringify(node.capabilities), node.arch, node.profile, JSON.stringify(node.inventory), JSON.stringify(node.capacity), JSON.stringify(node.reserved), node.heartbeatIntervalMs, node.createdAt)
  }

  setLabels(id: string, labels: Readonly<Record<string, string>>): void {
    this.sql.get('UPDATE nodes SET labels = ? WHERE id = ?').run(JSON.stringify(labels), id)
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

  recordHeartbeat(id: string, heartbeat: Heartbeat, at: string): void {
    this.sql.get('UPDATE nodes SET last_heartbeat = ?, last_seen_at = ?, observed_generation = MAX(observed_generation, ?) WHERE id = ?').run(JSON.stringify(heartbeat), at, heartbeat.observedGeneration, id)
  }

  setObservedGeneration(id: string, generation: number): void {
    this.sql.get('UPDATE nodes SET observed_generation = MAX(observed_generation, ?) WHERE id = ?').run(generation, id)
  }

  delete(id: string): void {
    this.sql.get('DELETE FROM nodes WHERE id = ?').run(id)
  }
}

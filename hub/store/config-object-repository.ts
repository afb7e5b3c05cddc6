import type { Database } from 'better-sqlite3'
import type { ConfigObjectKind } from '../../protocol/index.js'
import { Statements } from './statements.js'

/** A Config or Secret as stored: its current version and labels (the data is in its versions). */
export interface ConfigObjectRecord {
  readonly kind: ConfigObjectKind
  readonly name: string
  readonly version: number
  readonly labels: Readonly<Record<string, string>>
  readonly createdAt: string
  readonly updatedAt: string
}

interface Row {
  kind: ConfigObjectKind
  name: string
  version: number
  labels: string
  created_at: string
  updated_at: string
}

const toRecord = (row: Row): ConfigObjectRecord => ({
  kind: row.kind,
  name: row.name,
  version: row.version,
  labels: JSON.parse(row.labels) as Record<string, string>,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
})

/**
 * Configs and Secrets and their versions. Bodies are opaque text here (a Secret's is encrypted
 * before it arrives); a version stays while a revision may pin it.
 */
export class ConfigObjectRepository {
  private readonly sql: Statements

  constructor(db: Database) {
    this.sql = new Statements(db)
  }

  list(kind: ConfigObjectKind): ConfigObjectRecord[] {
    const rows = this.sql.get('SELECT * FROM config_objects WHERE kind = ? ORDER BY name').all(kind) as Row[]
    return rows.map(toRecord)
  }

  get(kind: ConfigObjectKind, name: string): ConfigObjectRecord | null {
    const row = this.sql.get('SELECT * FROM config_objects WHERE kind = ? AND name = ?').get(kind, name) as Row | undefined
    return row ? toRecord(row) : null
  }

  /** One version's stored body, or null when it was never made or has been pruned. */
  body(kind: ConfigObjectKind, name: string, version: number): string | null {
    const row = this.sql.get('SELECT body FROM config_object_versions WHERE kind = ? AND name = ? AND version = ?').get(kind, name, version) as
      | { body: string }
      | undefined
    return row?.body ?? null
  }

  /** Creates the object at version 1, or adds the next version (the body changed). */
  putVersion(kind: ConfigObjectKind, name: string, labels: Readonly<Record<string, string>>, body: string, at: string): number {
    const existing = this.get(kind, name)
    const last = this.sql.get('SELECT MAX(version) AS version FROM config_object_versions WHERE kind = ? AND name = ?').get(kind, name) as {
      version: number | null
    }
    const version = Math.max(existing?.version ?? 0, last.version ?? 0) + 1
    if (existing)
      this.sql
        .get('UPDATE config_objects SET version = ?, labels = ?, updated_at = ? WHERE kind = ? AND name = ?')
        .run(version, JSON.stringify(labels), at, kind, name)
    else
      this.sql
        .get('INSERT INTO config_objects (kind, name, version, labels, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)')
        .run(kind, name, version, JSON.stringify(labels), at, at)
    this.sql.get('INSERT INTO config_object_versions (kind, name, version, body, created_at) VALUES (?, ?, ?, ?, ?)').run(kind, name, version, body, at)
    return version
  }

  /** New labels, same data: no new version. */
  relabel(kind: ConfigObjectKind, name: string, labels: Readonly<Record<string, string>>, at: string): void {
    this.sql.get('UPDATE config_objects SET labels = ?, updated_at = ? WHERE kind = ? AND name = ?').run(JSON.stringify(labels), at, kind, name)
  }

  /** Removes the object; versions a kept revision pins stay until pruned. */
  delete(kind: ConfigObjectKind, name: string): boolean {
    return this.sql.get('DELETE FROM config_objects WHERE kind = ? AND name = ?').run(kind, name).changes > 0
  }

  /** Drops the versions of an object that are neither current nor in `keep`. */
  pruneVersions(kind: ConfigObjectKind, name: string, keep: ReadonlySet<number>): number {
    const current = this.get(kind, name)?.version
    const rows = this.sql.get('SELECT version FROM config_object_versions WHERE kind = ? AND name = ?').all(kind, name) as { version: number }[]
    const remove = this.sql.get('DELETE FROM config_object_versions WHERE kind = ? AND name = ? AND version = ?')
    let removed = 0
    for (const { version } of rows) if (version !== current && !keep.has(version)) removed += remove.run(kind, name, version).changes
    return removed
  }
}

import type { Database } from 'better-sqlite3'
import { Statements } from './statements.js'

export interface AuditEntry {
  readonly id: number
  readonly at: string
  readonly actor: string
  readonly action: string
  readonly target: string
  readonly detail: string | null
}

/** Every mutating API call, who made it and on what: append-only. */
export class AuditRepository {
  private readonly sql: Statements

  constructor(db: Database) {
    this.sql = new Statements(db)
  }

  append(entry: Omit<AuditEntry, 'id'>): void {
    this.sql
      .get('INSERT INTO audit_log (at, actor, action, target, detail) VALUES (?, ?, ?, ?, ?)')
      .run(entry.at, entry.actor, entry.action, entry.target, entry.detail)
  }

  list(limit = 100): AuditEntry[] {
    return this.sql.get('SELECT id, at, actor, action, target, detail FROM audit_log ORDER BY id DESC LIMIT ?').all(limit) as AuditEntry[]
  }
}

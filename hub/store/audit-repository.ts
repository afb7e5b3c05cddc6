import type { Database } from 'better-sqlite3'

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
  constructor(private readonly db: Database) {}

  append(entry: Omit<AuditEntry, 'id'>): void {
    this.db.prepare('INSERT INTO audit_log (at, actor, action, target, detail) VALUES (?, ?, ?, ?, ?)').run(entry.at, entry.actor, entry.action, entry.target, entry.detail)
  }

  list(limit = 100): AuditEntry[] {
    return this.db.prepare('SELECT id, at, actor, action, target, detail FROM audit_log ORDER BY id DESC LIMIT ?').all(limit) as AuditEntry[]
  }
}

import type { Database } from 'better-sqlite3'
import type { RolloutRecord } from '../rollout/rollout-types.js'
import { Statements } from './statements.js'

/** Each deployment's rollout as the planner last left it, so a restarted hub resumes it. */
export class RolloutRepository {
  private readonly sql: Statements

  constructor(db: Database) {
    this.sql = new Statements(db)
  }

  get(deployment: string): RolloutRecord | null {
    const row = this.sql.get('SELECT body FROM rollouts WHERE deployment = ?').get(deployment) as { body: string } | undefined
    return row ? (JSON.parse(row.body) as RolloutRecord) : null
  }

  list(): Map<string, RolloutRecord> {
    const rows = this.sql.get('SELECT body FROM rollouts').all() as { body: string }[]
    const records = rows.map((row) => JSON.parse(row.body) as RolloutRecord)
    return new Map(records.map((r) => [r.deployment, r]))
  }

  save(record: RolloutRecord, at: string): void {
    this.sql
      .get(
        'INSERT INTO rollouts (deployment, body, updated_at) VALUES (?, ?, ?) ON CONFLICT (deployment) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at',
      )
      .run(record.deployment, JSON.stringify(record), at)
  }

  delete(deployment: string): void {
    this.sql.get('DELETE FROM rollouts WHERE deployment = ?').run(deployment)
  }
}

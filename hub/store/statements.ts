import type { Database, Statement } from 'better-sqlite3'

/**
 * Prepared statements by their SQL text, one cache per repository: `prepare` parses and plans
 * the SQL each time, which at a thousand nodes cost the hub more than running the statements.
 * Statements die with the connection, as the repositories do.
 */
export class Statements {
  private readonly cache = new Map<string, Statement>()

  constructor(private readonly db: Database) {}

  get(sql: string): Statement {
    let statement = this.cache.get(sql)
    if (!statement) {
      statement = this.db.prepare(sql)
      this.cache.set(sql, statement)
    }
    return statement
  }
}

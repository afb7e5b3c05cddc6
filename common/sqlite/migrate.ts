import type { Database } from 'better-sqlite3'

/** One schema step. Never edit a step that has shipped: add a new one. */
export interface Migration {
  readonly name: string
  readonly sql: string
}

export function schemaVersion(db: Database): number {
  return db.pragma('user_version', { simple: true }) as number
}

export function migrate(db: Database, migrations: readonly Migration[], owner = 'program'): { from: number; to: number } {
  const from = schemaVersion(db)
  if (from > migrations.length) {
    throw new Error(`database schema version ${from} is newer than this ${owner} knows (${migrations.length}); upgrade the ${owner}`)
  }
  for (let version = from; version < migrations.length; version++) {
    const step = migrations[version]
    if (!step) break
    db.transaction(() => {
      db.exec(step.sql)
      db.pragma(`user_version = ${version + 1}`)
    })()
  }
  return { from, to: migrations.length }
}

import Database from 'better-sqlite3'
import { migrate } from '../../agent/store/migrations.js'
import { HUB_MIGRATIONS } from './migrations.js'

/** The hub's SQLite file inside --data-dir. */
export const HUB_DATABASE_FILE = 'hub.db'

export class HubDatabaseError extends Error {
  readonly code = 'hub-database'
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(`${path}: ${message}`)
    this.name = 'HubDatabaseError'
  }
}

/**
 * Opens the hub's database. Unlike an agent's, the hub's store is the fleet's source of truth,
 * so a failed integrity check stops the hub with a clear error instead of starting afresh:
 * restore from `shoal hub backup` instead.
 */
export function openHubDatabase(path: string): Database.Database {
  let db: Database.Database
  try {
    db = new Database(path)
  } catch (error) {
    throw new HubDatabaseError(path, `cannot open: ${(error as Error).message}`)
  }
  try {
    db.pragma('journal_mode = WAL')
    // FULL: every write here is either acknowledged to an agent or an operator, or signs a generation.
    db.pragma('synchronous = FULL')
    db.pragma('foreign_keys = ON')
    db.pragma('busy_timeout = 5000')
    const check = db.pragma('quick_check', { simple: true })
    if (check !== 'ok') throw new HubDatabaseError(path, `integrity check failed (${String(check)}); restore a backup made with \`shoal hub backup\``)
    migrate(db, HUB_MIGRATIONS)
    return db
  } catch (error) {
    db.close()
    if (error instanceof HubDatabaseError) throw error
    throw new HubDatabaseError(path, (error as Error).message)
  }
}

import type Database from 'better-sqlite3'
import { CorruptDatabaseError, openSqlite } from '../../common/sqlite/open-database.js'
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
  try {
    // FULL: every write here is either acknowledged to an agent or an operator, or signs a generation.
    return openSqlite(path, { migrations: HUB_MIGRATIONS, owner: 'hub', synchronous: 'FULL', busyTimeoutMs: 5000 })
  } catch (error) {
    if (error instanceof CorruptDatabaseError) throw new HubDatabaseError(path, `${error.message}; restore a backup made with \`shoal hub backup\``)
    throw new HubDatabaseError(path, (error as Error).message)
  }
}

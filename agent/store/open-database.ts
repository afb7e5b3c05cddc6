import Database from 'better-sqlite3'
import { existsSync, renameSync } from 'node:fs'
import type { Logger } from 'pino'
import { migrate, type MIGRATIONS } from './migrations.js'

export interface OpenedDatabase {
  readonly db: Database.Database
  /** Where a corrupt or unreadable database was moved, if this open had to start afresh. */
  readonly movedAside: string | null
}

/**
 * Opens (or creates) a database in WAL mode, checks its integrity, and runs migrations.
 * A file that is corrupt or unreadable is moved aside (never deleted) with its WAL, and a
 * fresh database takes its place, so a device with a damaged SD card keeps working.
 */
export function openDatabase(path: string, logger: Logger, options: { migrations?: typeof MIGRATIONS; now?: () => number } = {}): OpenedDatabase {
  try {
    return { db: openChecked(path, options.migrations), movedAside: null }
  } catch (cause) {
    if (!existsSync(path)) throw cause
    const aside = `${path}.corrupt-${new Date((options.now ?? Date.now)()).toISOString().replace(/[:.]/g, '-')}`
    logger.error({ path, aside, err: cause }, 'database is unreadable or corrupt; moving it aside and starting afresh')
    for (const suffix of ['', '-wal', '-shm']) {
      if (existsSync(path + suffix)) renameSync(path + suffix, aside + suffix)
    }
    return { db: openChecked(path, options.migrations), movedAside: aside }
  }
}

function openChecked(path: string, migrations?: typeof MIGRATIONS): Database.Database {
  const db = new Database(path)
  try {
    db.pragma('journal_mode = WAL')
    // The default; individual writes raise it to FULL where a peer relies on them (see agent-store).
    db.pragma('synchronous = NORMAL')
    db.pragma('foreign_keys = ON')
    db.pragma('busy_timeout = 2000')
    const check = db.pragma('quick_check', { simple: true })
    if (check !== 'ok') throw new Error(`integrity check failed: ${String(check)}`)
    migrate(db, migrations)
    return db
  } catch (error) {
    db.close()
    throw error
  }
}

import Database from 'better-sqlite3'
import { existsSync, renameSync } from 'node:fs'
import type { Logger } from 'pino'
import { ensurePrivateFile, restrictIfExists } from '../fs/private-files.js'
import { migrate, type Migration } from './migrate.js'

export interface OpenedDatabase {
  readonly db: Database.Database
  /** Where a corrupt or unreadable database was moved, if this open had to start afresh. */
  readonly movedAside: string | null
}

/** The file's contents are damaged: the only faults that justify starting afresh. */
export class CorruptDatabaseError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'CorruptDatabaseError'
  }
}

const COMPANIONS = ['', '-wal', '-shm'] as const

/**
 * Opens (or creates) a database in WAL mode, checks its integrity, and runs migrations.
 * A file that is corrupt or not a database at all is moved aside (never deleted) with its WAL,
 * and a fresh database takes its place, so a device with a damaged SD card keeps working.
 *
 * The check first runs on a read-only connection: closing a read-write one checkpoints the WAL
 * into the main file and deletes it, which would alter the damaged file before it is kept.
 * Anything that is not damage (a schema newer than this agent, a failing migration, a
 * permission or lock problem) is thrown: the file may be perfectly good, and starting afresh
 * would throw away the node's identity and desired state for a fault that is not in the file.
 */
export interface OpenDatabaseOptions {
  readonly migrations: readonly Migration[]
  /** Names the program in errors: "newer than this agent knows; upgrade the agent". */
  readonly owner: string
  readonly now?: () => number
}

export function openDatabase(path: string, logger: Logger, options: OpenDatabaseOptions): OpenedDatabase {
  const now = options.now ?? Date.now
  // Before the read-only look, so a file moved aside keeps no wider mode than the one it replaces.
  for (const suffix of COMPANIONS) restrictIfExists(path + suffix)
  const damage = existsSync(path) ? inspectReadOnly(path) : null
  let movedAside = damage ? moveAside(path, damage, now(), logger) : null
  try {
    return { db: openSqlite(path, agentPragmas(options)), movedAside }
  } catch (cause) {
    // Damage the read-only look could not see (a page only a migration reads, say).
    if (movedAside !== null || !existsSync(path) || !isCorruption(cause)) throw cause
    movedAside = moveAside(path, cause, now(), logger)
    return { db: openSqlite(path, agentPragmas(options)), movedAside }
  }
}

/** The damage found by reading the file without writing to it, or null when it looks sound. */
function inspectReadOnly(path: string): unknown {
  let db: Database.Database | undefined
  try {
    db = new Database(path, { readonly: true, fileMustExist: true })
    const check = db.pragma('quick_check', { simple: true })
    return check === 'ok' ? null : new CorruptDatabaseError(`integrity check failed: ${String(check)}`)
  } catch (error) {
    // Anything else (a lock, a permission) is no verdict on the file: the read-write open reports it.
    return isCorruption(error) ? error : null
  } finally {
    db?.close()
  }
}

function moveAside(path: string, cause: unknown, now: number, logger: Logger): string {
  const aside = asidePath(path, now)
  logger.error({ path, aside, err: cause }, 'database is unreadable or corrupt; moving it aside and starting afresh')
  for (const suffix of COMPANIONS) {
    if (existsSync(path + suffix)) renameSync(path + suffix, aside + suffix)
  }
  return aside
}

function isCorruption(error: unknown): boolean {
  if (error instanceof CorruptDatabaseError) return true
  const code = error instanceof Database.SqliteError ? error.code : ''
  return code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB'
}

/** A name no earlier move-aside holds (rename would silently replace it): the clock may repeat. */
function asidePath(path: string, now: number): string {
  const base = `${path}.corrupt-${new Date(now).toISOString().replace(/[:.]/g, '-')}`
  let candidate = base
  for (let n = 1; COMPANIONS.some((suffix) => existsSync(candidate + suffix)); n++) candidate = `${base}-${n}`
  return candidate
}

function agentPragmas(options: OpenDatabaseOptions): SqliteSettings {
  // NORMAL by default; individual writes raise it to FULL where a peer relies on them (see agent-store).
  return { migrations: options.migrations, owner: options.owner, synchronous: 'NORMAL', busyTimeoutMs: 2000 }
}

export interface SqliteSettings {
  readonly migrations: readonly Migration[]
  readonly owner: string
  readonly synchronous: 'NORMAL' | 'FULL'
  readonly busyTimeoutMs: number
}

/**
 * Opens in WAL mode, checks integrity and migrates; throws CorruptDatabaseError on damage.
 * The file and its WAL/SHM are 0600 whatever the umask: the WAL holds rows (passwords among
 * them) in clear. SQLite gives the WAL and SHM the main file's mode, so the file is created
 * 0600 before SQLite sees it; files left 0644 by older versions are tightened here.
 */
export function openSqlite(path: string, settings: SqliteSettings): Database.Database {
  ensurePrivateFile(path)
  const db = new Database(path)
  try {
    db.pragma('journal_mode = WAL')
    for (const suffix of COMPANIONS) restrictIfExists(path + suffix)
    db.pragma(`synchronous = ${settings.synchronous}`)
    db.pragma('foreign_keys = ON')
    db.pragma(`busy_timeout = ${settings.busyTimeoutMs}`)
    const check = db.pragma('quick_check', { simple: true })
    if (check !== 'ok') throw new CorruptDatabaseError(`integrity check failed: ${String(check)}`)
    migrate(db, settings.migrations, settings.owner)
    return db
  } catch (error) {
    db.close()
    throw error
  }
}

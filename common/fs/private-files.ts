import { chmodSync, closeSync, existsSync, mkdirSync, openSync, statSync } from 'node:fs'
import { resolve } from 'node:path'

/** Mode of every file Shoal creates in a data dir: databases, WALs and key files hold secrets. */
export const PRIVATE_FILE_MODE = 0o600
/** Mode of a data dir: nobody else may list, read or plant files in it. */
export const PRIVATE_DIR_MODE = 0o700

export type DataDirProblem = 'not-a-directory' | 'foreign-owner' | 'writable-by-others'

/** A data dir Shoal refuses to use, like OpenSSH refusing a key in a directory others can write. */
export class UnsafeDataDirError extends Error {
  readonly code = 'unsafe-data-dir'
  constructor(
    readonly path: string,
    readonly problem: DataDirProblem,
    readonly mode: number,
    readonly ownerUid: number,
    message: string,
  ) {
    super(message)
    this.name = 'UnsafeDataDirError'
  }
}

const octal = (mode: number): string => `0${(mode & 0o7777).toString(8).padStart(3, '0')}`

/**
 * Creates the data dir 0700, or checks an existing one. Ours and writable only by us: tightened
 * to 0700 (older versions created it under the umask, typically 0755). Owned by someone else or
 * writable by group/world: refused, since another user could have replaced or planted files in
 * it; fixing that is the operator's call, not ours. The mode is set with chmod, so no umask matters.
 */
export function preparePrivateDir(path: string): void {
  const dir = resolve(path)
  if (!existsSync(dir)) {
    mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE })
    chmodSync(dir, PRIVATE_DIR_MODE)
    return
  }
  const stats = statSync(dir)
  const mode = stats.mode & 0o7777
  if (!stats.isDirectory()) {
    throw new UnsafeDataDirError(dir, 'not-a-directory', mode, stats.uid, `data directory ${dir} exists but is not a directory`)
  }
  const uid = typeof process.getuid === 'function' ? process.getuid() : null
  if (uid === null) return // no POSIX ownership to check (Windows)
  if (stats.uid !== uid) {
    throw new UnsafeDataDirError(
      dir,
      'foreign-owner',
      mode,
      stats.uid,
      `data directory ${dir} is owned by uid ${stats.uid}, not by this process (uid ${uid}); ` +
        `run as its owner, or fix it with: chown ${uid} ${dir} && chmod 700 ${dir}`,
    )
  }
  if ((mode & 0o022) !== 0) {
    throw new UnsafeDataDirError(
      dir,
      'writable-by-others',
      mode,
      stats.uid,
      `data directory ${dir} has mode ${octal(mode)}, writable by ${mode & 0o002 ? 'everyone' : 'its group'}; ` +
        `refusing to keep secrets there. Check its contents, then fix it with: chmod 700 ${dir}`,
    )
  }
  if ((mode & 0o777) !== PRIVATE_DIR_MODE) chmodSync(dir, PRIVATE_DIR_MODE)
}

/** Creates the file empty at 0600 if missing, and tightens it to 0600 if it exists (older versions made 0644). */
export function ensurePrivateFile(path: string): void {
  if (!existsSync(path)) closeSync(openSync(path, 'a', PRIVATE_FILE_MODE))
  chmodSync(path, PRIVATE_FILE_MODE)
}

/** Tightens the file to 0600 if it exists. */
export function restrictIfExists(path: string): void {
  if (existsSync(path)) chmodSync(path, PRIVATE_FILE_MODE)
}

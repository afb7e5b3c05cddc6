import { chmodSync, existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statfsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { ObjectData } from '../../protocol/index.js'
import type { ResolvedValues } from './resolve-values.js'

/** statfs f_type of tmpfs (linux/magic.h): memory, never the node's flash. */
export const TMPFS_MAGIC = 0x01021994

/** Where Secret files go by default: a directory of this node's on the host's shared-memory tmpfs. */
export function defaultSecretsDir(nodeId: string): string {
  return `/dev/shm/shoal-${nodeId}`
}

/** The folder of Config files inside --data-dir. */
export const CONFIG_FILES_DIR = 'values'

/** A secrets directory the agent refuses to write to: not tmpfs, or not safely its own. */
export class SecretsDirError extends Error {
  constructor(
    readonly code: 'secrets-dir-not-tmpfs' | 'unsafe-secrets-dir',
    readonly path: string,
    message: string,
  ) {
    super(message)
    this.name = 'SecretsDirError'
  }
}

/** The host directories of one container's Config and Secret volumes, by object name. */
export interface ValueDirs {
  readonly configs: Readonly<Record<string, string>>
  readonly secrets: Readonly<Record<string, string>>
}

export interface ValueFilesOptions {
  /** Config files: on disk, under the data dir (configuration is not secret). */
  readonly configRoot: string
  /** Secret files: must be tmpfs. */
  readonly secretsRoot: string
  /** The filesystem type of a path (statfs f_type); a test can pretend. */
  readonly filesystemType?: (path: string) => number
}

const SLOT_DIR_MODE = 0o700
/** The directory mounted into the container: readable there by any user, writable by the agent alone. */
const OBJECT_DIR_MODE = 0o755
const CONFIG_FILE_MODE = 0o644
/**
 * Read-only, and readable by the container's user whoever that is (images often run as non-root).
 * On the host nobody but the agent gets this far: the secrets directory and each slot are 0700.
 */
const SECRET_FILE_MODE = 0o444
/** No DataKey contains "~", so a temporary file can never be taken for a key. */
const TMP_PREFIX = '~tmp~'

/**
 * The files behind Config and Secret volumes, one slot per container config (workload and config
 * hash), so the container a rollout replaces keeps its own files until it is gone. Writing is
 * idempotent: unchanged files are left alone, missing ones (a reboot emptied the tmpfs) written
 * again, stray ones removed. Files are replaced by rename inside the mounted directory, which a
 * running container's bind mount sees.
 */
export class ValueFiles {
  private readonly filesystemType: (path: string) => number

  constructor(private readonly options: ValueFilesOptions) {
    this.filesystemType = options.filesystemType ?? ((path) => statfsSync(path).type)
  }

  /** The slot a container's files live in: its workload and config hash. */
  static slot(workload: string, configHash: string): string {
    return `${workload}-${configHash}`
  }

  get secretsRoot(): string {
    return this.options.secretsRoot
  }

  write(workload: string, configHash: string, resolved: Pick<ResolvedValues, 'configFiles' | 'secretFiles'>): ValueDirs {
    const slot = ValueFiles.slot(workload, configHash)
    const configs: Record<string, string> = {}
    const secrets: Record<string, string> = {}
    const configNames = Object.keys(resolved.configFiles).sort()
    if (configNames.length > 0) {
      const slotDir = ensureDir(join(ensureDir(this.options.configRoot, SLOT_DIR_MODE), slot), SLOT_DIR_MODE)
      for (const name of configNames) configs[name] = writeObjectDir(join(slotDir, `config-${name}`), resolved.configFiles[name] ?? {}, CONFIG_FILE_MODE)
    }
    const secretNames = Object.keys(resolved.secretFiles).sort()
    if (secretNames.length > 0) {
      const slotDir = ensureDir(join(this.prepareSecretsRoot(), slot), SLOT_DIR_MODE)
      for (const name of secretNames) secrets[name] = writeObjectDir(join(slotDir, `secret-${name}`), resolved.secretFiles[name] ?? {}, SECRET_FILE_MODE)
    }
    return { configs, secrets }
  }

  /** Removes every slot not named in `keep` (containers gone, configs replaced). */
  prune(keep: ReadonlySet<string>): string[] {
    const removed: string[] = []
    for (const root of [this.options.configRoot, this.options.secretsRoot]) {
      if (!existsSync(root)) continue
      for (const entry of readdirSync(root)) {
        if (keep.has(entry)) continue
        rmSync(join(root, entry), { recursive: true, force: true })
        removed.push(entry)
      }
    }
    return removed
  }

  /**
   * The secrets directory, created 0700 if missing. Refused when it is a symlink, not a directory,
   * someone else's (a shared /dev/shm lets any user create the name first), or not on tmpfs.
   */
  prepareSecretsRoot(): string {
    const root = this.options.secretsRoot
    if (!existsSync(root)) mkdirSync(root, { recursive: true, mode: SLOT_DIR_MODE })
    const stats = lstatSync(root)
    if (stats.isSymbolicLink() || !stats.isDirectory()) {
      throw new SecretsDirError(
        'unsafe-secrets-dir',
        root,
        `secrets directory ${root} is not a directory (a symlink or a file); remove it or choose another with --secrets-dir`,
      )
    }
    const uid = typeof process.getuid === 'function' ? process.getuid() : null
    if (uid !== null && stats.uid !== uid) {
      throw new SecretsDirError(
        'unsafe-secrets-dir',
        root,
        `secrets directory ${root} is owned by uid ${stats.uid}, not by the agent (uid ${uid}); remove it or choose another with --secrets-dir`,
      )
    }
    chmodSync(root, SLOT_DIR_MODE)
    const type = this.filesystemType(root)
    if (type !== TMPFS_MAGIC) {
      throw new SecretsDirError(
        'secrets-dir-not-tmpfs',
        root,
        `secrets directory ${root} is not on tmpfs (filesystem type 0x${type.toString(16)}); Secret files are only ever written to memory: give --secrets-dir a directory on a tmpfs mount (such as /dev/shm or /run)`,
      )
    }
    return root
  }
}

function ensureDir(path: string, mode: number): string {
  if (!existsSync(path)) mkdirSync(path, { mode })
  chmodSync(path, mode)
  return path
}

/** The directory holds exactly these files with this mode afterwards; unchanged ones are not rewritten. */
function writeObjectDir(dir: string, files: ObjectData, mode: number): string {
  ensureDir(dir, OBJECT_DIR_MODE)
  const wanted = new Set(Object.keys(files))
  for (const entry of readdirSync(dir)) if (!wanted.has(entry)) rmSync(join(dir, entry), { recursive: true, force: true })
  for (const [key, value] of Object.entries(files)) {
    const path = join(dir, key)
    const content = Buffer.from(value, 'utf8')
    if (sameFile(path, content, mode)) continue
    const tmp = join(dir, `${TMP_PREFIX}${key}`)
    writeFileSync(tmp, content, { mode })
    chmodSync(tmp, mode) // the umask may have narrowed it
    renameSync(tmp, path)
  }
  return dir
}

function sameFile(path: string, content: Buffer, mode: number): boolean {
  try {
    const stats = lstatSync(path)
    return stats.isFile() && (stats.mode & 0o777) === mode && readFileSync(path).equals(content)
  } catch {
    return false
  }
}

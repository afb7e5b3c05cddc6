import { posix, resolve, sep, dirname, isAbsolute, join } from 'node:path'
import { Name } from '../protocol/primitives.js'
import { RemotePath } from '../protocol/session.js'
import { CliError, ExitCode } from './io.js'

/** One side of `shoal cp`: a local path, or `deployment:/path` in a container. */
export type CpEndpoint = { readonly kind: 'local'; readonly path: string } | { readonly kind: 'remote'; readonly deployment: string; readonly path: string }

/**
 * `NAME:/path` (or `deployment/NAME:/path`) is in a container; anything else is local (a local
 * path with a colon can be written ./a:b). A remote path must be absolute and hold no `.` or
 * `..` segment (RemotePath). Pure.
 */
export function cpEndpointOf(text: string): CpEndpoint {
  const colon = text.indexOf(':')
  if (colon > 0) {
    const head = text.slice(0, colon)
    const name = head.startsWith('deployment/') ? head.slice('deployment/'.length) : head
    if (Name.safeParse(name).success) {
      const path = text.slice(colon + 1)
      const checked = RemotePath.safeParse(path)
      if (!checked.success)
        throw new CliError(`the container path ${JSON.stringify(path)} ${checked.error.issues[0]?.message ?? 'is not valid'}`, ExitCode.usage)
      return { kind: 'remote', deployment: name, path }
    }
  }
  if (text === '') throw new CliError('a local path is empty', ExitCode.usage)
  return { kind: 'local', path: text }
}

/** Exactly one side of a copy is in a container. Pure. */
export function cpDirectionOf(source: CpEndpoint, destination: CpEndpoint): 'from' | 'to' {
  if (source.kind === 'remote' && destination.kind === 'local') return 'from'
  if (source.kind === 'local' && destination.kind === 'remote') return 'to'
  throw new CliError('one side of shoal cp must be DEPLOYMENT:/path and the other a local path', ExitCode.usage)
}

/**
 * Where a local file or directory goes in the container: the directory the node unpacks into,
 * and the name of the archive's top entry. `/dst/` (a trailing slash) means into that directory
 * under the local name; `/dst/name` means as `name` in /dst (kubectl's file→file and dir→dir). Pure.
 */
export function remotePlacementOf(remotePath: string, localName: string): { readonly directory: string; readonly name: string } {
  if (remotePath.endsWith('/')) return { directory: remotePath.replace(/\/+$/, '') || '/', name: localName }
  return { directory: posix.dirname(remotePath), name: posix.basename(remotePath) }
}

/** A tar entry that would land outside the destination, or a link that points out of it. */
export class ArchiveEscapeError extends CliError {
  constructor(
    readonly entry: string,
    reason: string,
  ) {
    super(`refused the archive entry ${JSON.stringify(entry)}: ${reason}; nothing outside the destination is written`)
    this.name = 'ArchiveEscapeError'
  }
}

function inside(root: string, path: string): boolean {
  return path === root || path.startsWith(root.endsWith(sep) ? root : `${root}${sep}`)
}

/**
 * The local path of a tar entry from the container. The archive's top entry is the remote file
 * or directory itself: it becomes `root` (a directory's contents go into root, kubectl's
 * dir→dir). An absolute name, a `..` segment, or a NUL is refused. Pure.
 */
export function localPathOfEntry(root: string, entryName: string): string {
  if (entryName.includes('\0')) throw new ArchiveEscapeError(entryName, 'the name holds a NUL')
  if (isAbsolute(entryName) || entryName.startsWith('/')) throw new ArchiveEscapeError(entryName, 'the name is absolute')
  const segments = entryName.split('/').filter((s) => s !== '' && s !== '.')
  if (segments.includes('..')) throw new ArchiveEscapeError(entryName, 'the name holds a ".." segment')
  const rest = segments.slice(1)
  const target = resolve(root, ...rest)
  if (!inside(resolve(root), target)) throw new ArchiveEscapeError(entryName, 'it would land outside the destination')
  return target
}

/** A symbolic link at `linkPath` pointing to `linkTarget` stays inside `root` (absolute targets never do). Pure. */
export function checkLinkTarget(root: string, entryName: string, linkPath: string, linkTarget: string): void {
  if (isAbsolute(linkTarget)) throw new ArchiveEscapeError(entryName, `it links to the absolute path ${linkTarget}`)
  if (!inside(resolve(root), resolve(dirname(linkPath), linkTarget)))
    throw new ArchiveEscapeError(entryName, `it links to ${linkTarget}, outside the destination`)
}

/**
 * Where cp-from writes: a file into an existing local directory keeps its name there
 * (kubectl's file→dir); otherwise the destination itself. Pure, given whether it is a directory.
 */
export function localRootOf(destination: string, remotePath: string, destinationIsDirectory: boolean, sourceIsDirectory: boolean): string {
  if (!sourceIsDirectory && destinationIsDirectory) return join(destination, posix.basename(remotePath))
  return destination
}

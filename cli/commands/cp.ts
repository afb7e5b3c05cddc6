import { Command } from 'commander'
import { createReadStream, createWriteStream } from 'node:fs'
import { chmod, lstat, mkdir, readdir, readlink, stat, symlink } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import tar from 'tar-stream'
import { addConnectionOptions, resolveConnection, type Connection, type ConnectionOptions } from '../contexts.js'
import { checkLinkTarget, cpDirectionOf, cpEndpointOf, localPathOfEntry, localRootOf, remotePlacementOf } from '../cp-paths.js'
import { CliError, type CliIo } from '../io.js'
import { CliSession, SessionRefusedError } from '../session-client.js'
import { copyOptionsOf } from './exec.js'

type TarHeader = Parameters<tar.Pack['entry']>[0]

interface CpOptions extends ConnectionOptions {
  node?: string
  replica?: string
  container?: string
}

/** `shoal cp SRC DST`, one side `DEPLOYMENT:/path`: files in and out of a container, through the hub. */
export function cpCommand(_io: CliIo): Command {
  return addConnectionOptions(
    new Command('cp')
      .description("copy files and directories between this machine and a deployment's container, through the hub")
      .argument('<source>', 'a local path, or DEPLOYMENT:/path in the container')
      .argument('<destination>', 'a local path, or DEPLOYMENT:/path in the container')
      .option('--node <name>', 'the copy on this node (needed when the deployment runs on several)')
      .option('--replica <n>', 'which of the node’s copies (1-based), when it holds several')
      .option('-c, --container <name>', 'a container of a several-container copy (default: its first)'),
  )
    .addHelpText(
      'after',
      `
Modes are kept. Into the container: DEPLOYMENT:/dir/ (trailing slash) puts the file or
directory into /dir under its own name; DEPLOYMENT:/dir/name puts it there as name (the
directory /dir must exist). Out of the container: a file into an existing local directory
keeps its name there; a directory's contents go into the local destination (created).
Container paths must be absolute without "." or ".."; archive entries that would land
outside the local destination (absolute names, "..", links pointing out) are refused.

Examples:
  $ shoal cp web:/var/log/app.log ./app.log
  $ shoal cp ./config web:/etc/app/ --node pi-17
  $ shoal cp web:/data ./data-backup`,
    )
    .action(async (sourceText: string, destinationText: string, options: CpOptions) => {
      const source = cpEndpointOf(sourceText)
      const destination = cpEndpointOf(destinationText)
      const direction = cpDirectionOf(source, destination)
      const copy = copyOptionsOf(options)
      const connection = resolveConnection(options)
      if (direction === 'from' && source.kind === 'remote' && destination.kind === 'local')
        await copyFrom(connection, { kind: 'cp-from', deployment: source.deployment, ...copy, path: source.path }, destination.path)
      else if (source.kind === 'local' && destination.kind === 'remote') await copyTo(connection, source.path, destination.deployment, destination.path, copy)
    })
}

/** Reads the container's tar of a path and unpacks it under the local destination, refusing escapes. */
async function copyFrom(
  connection: Connection,
  request: { kind: 'cp-from'; deployment: string; path: string; node?: string; replica?: number; container?: string },
  destination: string,
): Promise<void> {
  const extract = tar.extract()
  let session: CliSession | null = null
  let failure: Error | null = null
  const unpacked = unpack(extract, destination, request.path).catch((error: Error) => {
    failure = error
    session?.close()
  })
  session = await CliSession.open(connection, request, {
    data: (_stream, bytes) => {
      if (failure) return true
      const more = extract.write(bytes)
      if (!more) extract.once('drain', () => session?.resume())
      return more
    },
  })
  const end = await session.ended
  if (failure) throw failure
  if (end.error) throw new SessionRefusedError(end.error.code, `${end.error.message} (${end.error.code})`)
  ;(extract as unknown as { end(): void }).end()
  await unpacked
  if (failure) throw failure
}

/** Unpacks the container's tar under the destination, one entry at a time; the first escaping entry fails it all. */
async function unpack(extract: tar.Extract, destination: string, remotePath: string): Promise<void> {
  let root: string | null = null
  for await (const entry of extract) {
    const { header } = entry
    if (root === null) {
      const destinationIsDirectory = await stat(destination).then(
        (s) => s.isDirectory(),
        () => false,
      )
      root = localRootOf(destination, remotePath, destinationIsDirectory, header.type === 'directory')
    }
    const target = localPathOfEntry(root, header.name)
    const mode = header.mode & 0o7777
    switch (header.type) {
      case 'directory':
        await mkdir(target, { recursive: true })
        await chmod(target, mode | 0o700)
        break
      case 'file':
      case 'contiguous-file':
        await mkdir(dirname(target), { recursive: true })
        await pipeline(entry as AsyncIterable<Buffer>, createWriteStream(target, { mode }))
        await chmod(target, mode)
        continue
      case 'symlink':
        checkLinkTarget(root, header.name, target, header.linkname)
        await mkdir(dirname(target), { recursive: true })
        await symlink(header.linkname, target)
        break
      default:
      // Hard links, devices, fifos: not copied (they would need privileges, or point anywhere).
    }
    entry.resume()
  }
}

/** Packs a local file or directory (modes and symbolic links kept) and sends it for the node to unpack. */
async function copyTo(
  connection: Connection,
  localPath: string,
  deployment: string,
  remotePath: string,
  copy: { node?: string; replica?: number; container?: string },
): Promise<void> {
  const info = await lstat(localPath).catch(() => {
    throw new CliError(`no such local file or directory: ${localPath}`)
  })
  const placement = remotePlacementOf(remotePath, basename(localPath))
  const session = await CliSession.open(connection, { kind: 'cp-to', deployment, ...copy, path: placement.directory }, { data: () => true })
  const pack = tar.pack()
  const packing = packTree(pack, localPath, placement.name, info.isDirectory()).then(
    () => pack.finalize(),
    (error: Error) => pack.destroy(error),
  )
  const sending = (async () => {
    for await (const chunk of pack) await session.write(chunk as Buffer)
    session.eof()
  })()
  const end = await session.ended
  await Promise.allSettled([packing, sending])
  if (end.error) throw new SessionRefusedError(end.error.code, `${end.error.message} (${end.error.code})`)
}

async function packTree(pack: tar.Pack, path: string, name: string, isDirectory: boolean): Promise<void> {
  const info = await lstat(path)
  const common = { name, mode: info.mode & 0o7777, mtime: info.mtime, uid: 0, gid: 0 }
  if (info.isSymbolicLink()) {
    await entry(pack, { ...common, type: 'symlink', linkname: await readlink(path) })
    return
  }
  if (isDirectory || info.isDirectory()) {
    await entry(pack, { ...common, type: 'directory' })
    for (const child of (await readdir(path)).sort()) {
      const childInfo = await lstat(join(path, child))
      await packTree(pack, join(path, child), `${name}/${child}`, childInfo.isDirectory())
    }
    return
  }
  if (!info.isFile()) return
  await new Promise<void>((resolve, reject) => {
    const sink = pack.entry({ ...common, type: 'file', size: info.size }, (error) => (error ? reject(error) : resolve()))
    createReadStream(path).on('error', reject).pipe(sink)
  })
}

function entry(pack: tar.Pack, header: TarHeader): Promise<void> {
  return new Promise((resolve, reject) => pack.entry(header, (error) => (error ? reject(error) : resolve())))
}

import path from 'node:path'
import { AbsolutePath, DeviceMapping, MemoryQuantity } from '../../protocol/index.js'
import { type ServiceContext, isRecord, scalarText, shoalName, stringList } from './draft.js'
import { composeBytes, shoalBytes } from './units.js'

type Volume = { name?: string; hostPath?: string; path: string; readOnly?: boolean }
type Tmpfs = { path: string; size?: string | number }
type Mount = { volume: Volume } | { tmpfs: Tmpfs } | { error: string }

/** `volumes:` short ("data:/var/lib/x", "./conf:/etc/x:ro", "/cache") and long ({ type, source, target, read_only }). */
export function mapVolumes(value: unknown, ctx: ServiceContext): void {
  if (!Array.isArray(value)) return ctx.notes.notMapped(['volumes'], 'must be a list')
  value.forEach((entry, index) => {
    const at = ['volumes', index]
    const mount = isRecord(entry) ? longVolume(entry, ctx, at) : shortVolume(scalarText(entry), ctx, at)
    if ('error' in mount) return ctx.notes.notMapped(at, mount.error)
    if ('tmpfs' in mount) {
      ctx.draft.template.tmpfs = [...(ctx.draft.template.tmpfs ?? []), mount.tmpfs]
      return
    }
    ctx.draft.template.volumes = [...(ctx.draft.template.volumes ?? []), mount.volume]
  })
}

function shortVolume(text: string | null, ctx: ServiceContext, at: (string | number)[]): Mount {
  if (text === null) return { error: 'must be a string such as data:/path or a mapping with type, source and target' }
  const parts = text.split(':')
  if (parts.length === 1) return source(undefined, parts[0] ?? '', false, ctx, at)
  if (parts.length > 3) return { error: `cannot read ${JSON.stringify(text)} as source:target[:mode]` }
  const [from, target, mode] = parts as [string, string, string | undefined]
  const options = (mode ?? '').split(',').filter((option) => option !== '')
  const ignored = options.filter((option) => option !== 'ro' && option !== 'rw')
  if (ignored.length > 0) ctx.notes.notMapped(at, `mount option ${ignored.join(',')}: Shoal mounts read-only (ro) or read-write only`)
  return source(from, target, options.includes('ro'), ctx, at)
}

function longVolume(entry: Record<string, unknown>, ctx: ServiceContext, at: (string | number)[]): Mount {
  const target = scalarText(entry.target)
  if (target === null) return { error: 'needs target, the path inside the container' }
  const from = entry.source === undefined ? undefined : (scalarText(entry.source) ?? '')
  const type = entry.type ?? (from?.startsWith('/') || from?.startsWith('.') ? 'bind' : 'volume')
  for (const key of Object.keys(entry)) {
    if (!['type', 'source', 'target', 'read_only', 'tmpfs', 'bind', 'volume', 'consistency'].includes(key))
      ctx.notes.notMapped([...at, key], 'Shoal has no such mount option')
  }
  for (const [group, keys] of [
    ['bind', ['create_host_path']],
    ['volume', []],
    ['tmpfs', ['size']],
  ] as const) {
    const options = entry[group]
    if (!isRecord(options)) continue
    for (const key of Object.keys(options)) {
      if (!(keys as readonly string[]).includes(key)) ctx.notes.notMapped([...at, group, key], 'Shoal has no such mount option')
    }
  }
  if (type === 'tmpfs') {
    const size = isRecord(entry.tmpfs) ? entry.tmpfs.size : undefined
    return tmpfsMount(target, size === undefined ? undefined : (scalarText(size) ?? ''))
  }
  if (type !== 'volume' && type !== 'bind') return { error: `type ${String(type)}: Shoal mounts named volumes, host paths and tmpfs` }
  if (type === 'volume' && from !== undefined && (from.startsWith('/') || from.startsWith('.')))
    return { error: 'a volume of type volume needs a volume name as source' }
  if (type === 'bind' && from === undefined) return { error: 'a bind mount needs a source' }
  return source(type === 'bind' ? hostish(from ?? '') : from, target, entry.read_only === true, ctx, at)
}

/** A bind source written without ./ in the long form is still a path. */
function hostish(from: string): string {
  return from.startsWith('/') || from.startsWith('.') || from.startsWith('~') ? from : `./${from}`
}

/** A host path (starts with /, . or ~), a named volume, or (no source) an anonymous volume. */
function source(from: string | undefined, target: string, readOnly: boolean, ctx: ServiceContext, at: (string | number)[]): Mount {
  if (!target.startsWith('/')) return { error: `the target ${JSON.stringify(target)} must be an absolute path in the container` }
  const ro = readOnly ? { readOnly: true } : {}
  if (from === undefined || from === '') {
    const name = shoalName(`${ctx.draft.name}-${target}`)
    ctx.notes.note(at, `an anonymous volume: mapped to the named volume ${name}, kept across container recreates`)
    return { volume: { name, path: target, ...ro } }
  }
  if (from.startsWith('/') || from.startsWith('.') || from.startsWith('~')) {
    let hostPath: string
    if (from === '~' || from.startsWith('~/')) {
      if (ctx.options.homeDir === undefined) return { error: `${from}: ~ needs a home directory; write the absolute path` }
      hostPath = path.posix.join(ctx.options.homeDir, from.slice(1))
    } else if (from.startsWith('~')) {
      return { error: `${from}: another user's home directory; write the absolute path` }
    } else {
      hostPath = path.posix.resolve(ctx.options.baseDir, from)
    }
    if (!AbsolutePath.safeParse(hostPath).success) return { error: `${hostPath} cannot be a host path` }
    if (hostPath !== from) ctx.notes.note(at, `host path ${from} resolved to ${hostPath}`)
    return { volume: { hostPath, path: target, ...ro } }
  }
  const name = shoalName(from)
  if (name !== from) ctx.notes.note(at, `volume ${from} is named ${name} (a Shoal name)`)
  return { volume: { name, path: target, ...ro } }
}

/** `tmpfs:` as a path or list of paths, each with Docker's options after a colon (size=64m,mode=1777). */
export function mapTmpfs(value: unknown, ctx: ServiceContext): void {
  const list = stringList(value)
  if (list === null) return ctx.notes.notMapped(['tmpfs'], 'must be a path or a list of paths')
  list.forEach((entry, index) => {
    const at = Array.isArray(value) ? ['tmpfs', index] : ['tmpfs']
    const colon = entry.indexOf(':')
    const target = colon < 0 ? entry : entry.slice(0, colon)
    const options = colon < 0 ? [] : entry.slice(colon + 1).split(',')
    let size: string | undefined
    for (const option of options) {
      if (option.startsWith('size=')) size = option.slice(5)
      else if (option !== '') ctx.notes.notMapped(at, `tmpfs option ${option}: Shoal sets a tmpfs's size only`)
    }
    const mount = tmpfsMount(target, size)
    if ('tmpfs' in mount) ctx.draft.template.tmpfs = [...(ctx.draft.template.tmpfs ?? []), mount.tmpfs]
    else if ('error' in mount) ctx.notes.notMapped(at, mount.error)
  })
}

function tmpfsMount(target: string, size: string | undefined): Mount {
  if (!AbsolutePath.safeParse(target).success) return { error: `${JSON.stringify(target)} must be an absolute path in the container` }
  if (size === undefined) return { tmpfs: { path: target } }
  const bytes = composeBytes(size, 1024)
  if (bytes === null) return { error: `size ${size}: not a size such as 64m` }
  const quantity = shoalBytes(bytes, 1024)
  return MemoryQuantity.safeParse(quantity).success ? { tmpfs: { path: target, size: quantity } } : { error: `size ${size} is out of range` }
}

/** `devices:` "/dev/ttyUSB0", "/dev/ttyUSB0:/dev/ttyS0", "/dev/ttyUSB0:/dev/ttyUSB0:rw", or { source, target, permissions }. */
export function mapDevices(value: unknown, ctx: ServiceContext): void {
  if (!Array.isArray(value)) return ctx.notes.notMapped(['devices'], 'must be a list')
  value.forEach((entry, index) => {
    const at = ['devices', index]
    let device: { path: string; containerPath?: string; permissions?: string }
    if (isRecord(entry)) {
      const from = scalarText(entry.source) ?? ''
      const target = entry.target === undefined ? undefined : (scalarText(entry.target) ?? '')
      const permissions = entry.permissions === undefined ? undefined : (scalarText(entry.permissions) ?? '')
      device = { path: from, ...(target !== undefined && target !== from ? { containerPath: target } : {}), ...(permissions ? { permissions } : {}) }
    } else {
      const text = scalarText(entry) ?? ''
      if (/^[a-z0-9.-]+\/[a-z0-9.-]+=/i.test(text)) return ctx.notes.notMapped(at, `${text}: a CDI device; Shoal passes device nodes under /dev/`)
      const parts = text.split(':')
      if (parts.length === 2 && /^[rwm]+$/.test(parts[1] ?? '')) parts.splice(1, 0, parts[0] ?? '')
      const [from = '', target, permissions] = parts
      device = { path: from, ...(target !== undefined && target !== from ? { containerPath: target } : {}), ...(permissions ? { permissions } : {}) }
    }
    if (device.permissions === 'rwm') delete device.permissions
    const checked = DeviceMapping.safeParse(device)
    if (!checked.success) return ctx.notes.notMapped(at, `${device.path || 'it'}: ${checked.error.issues[0]?.message ?? 'not a device mapping'}`)
    ctx.draft.template.devices = [...(ctx.draft.template.devices ?? []), device]
  })
}

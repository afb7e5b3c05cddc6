import { readFileSync, readlinkSync } from 'node:fs'
import { LOCAL_ZONE_PREFIX } from './local-time.js'

/**
 * The process's own zone as local-time.ts computes in it (`local:<name>`), named the way the
 * system names it without asking Intl: TZ when set, else the zone /etc/localtime links to, else
 * /etc/timezone (Debian's), else "local time".
 */
export function systemZone(env: NodeJS.ProcessEnv = process.env, root = '/'): string {
  return `${LOCAL_ZONE_PREFIX}${systemZoneName(env, root) ?? 'local time'}`
}

/**
 * The system's zone name (TZ, /etc/localtime's link, /etc/timezone), or null when none says: read
 * from files, since asking Intl maps about 8 MiB of ICU data into the process for good.
 */
export function systemZoneName(env: NodeJS.ProcessEnv = process.env, root = '/'): string | null {
  const tz = env.TZ?.replace(/^:/, '').trim()
  if (tz) return zoneinfoName(tz) ?? tz
  try {
    const linked = zoneinfoName(readlinkSync(`${root}etc/localtime`))
    if (linked) return linked
  } catch {
    // Not a link (a copied file) or absent.
  }
  try {
    const named = readFileSync(`${root}etc/timezone`, 'utf8').trim()
    if (named) return named
  } catch {
    // Absent outside Debian and its derivatives.
  }
  return null
}

/** `Europe/Berlin` from `/usr/share/zoneinfo/Europe/Berlin` (or any path through a zoneinfo directory). */
function zoneinfoName(path: string): string | undefined {
  const at = path.lastIndexOf('zoneinfo/')
  return at === -1 ? undefined : path.slice(at + 'zoneinfo/'.length) || undefined
}

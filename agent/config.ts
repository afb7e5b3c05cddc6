import { NatsServerListError, parseNatsServerList } from '../common/nats/nats-servers.js'
import { Capability, DevicePattern, type HostPathRule, AbsolutePath, LabelKey, Labels, Name, describeIssues, issuesFromZod } from '../protocol/index.js'
import type { PolicyFlags } from './policy/node-policy-settings.js'

/** Everything `shoal agent run` is told, validated. */
export interface AgentConfig {
  readonly dataDir: string
  readonly hubUrl: string | null
  readonly token: string | null
  readonly hubKey: string | null
  readonly name: string | null
  readonly labels: Readonly<Record<string, string>>
  readonly staticDir: string | null
  readonly profile: string | null
  /** Firmware profiles from this directory instead of the shipped ones (as `shoal profiles --profiles-dir`); absent: the shipped ones. */
  readonly profilesDir?: string | null
  readonly containerLabels: Readonly<Record<string, string>>
  readonly dockerSocket: string | null
  readonly resyncIntervalMs: number
  /** Where Secret files are written for containers (must be tmpfs); default /dev/shm/shoal-<node>. */
  readonly secretsDir?: string | null
  /** What this node's operator allows beyond the firmware profile's policy; absent: nothing more. */
  readonly policy?: PolicyFlags
}

/** The agent's SQLite file inside --data-dir. */
export const DATABASE_FILE = 'agent.db'

export class AgentConfigError extends Error {
  readonly code = 'bad-config'
  constructor(
    readonly option: string,
    message: string,
  ) {
    super(`${option}: ${message}`)
    this.name = 'AgentConfigError'
  }
}

/** Parses `k=v,k2=v2` into labels, refusing anything a label key or value cannot be. */
export function parseLabelList(text: string | undefined, option: string): Record<string, string> {
  const pairs: [string, string][] = []
  if (text === undefined || text.trim() === '') return {}
  for (const part of text.split(',')) {
    const trimmed = part.trim()
    if (trimmed === '') continue
    const eq = trimmed.indexOf('=')
    if (eq <= 0) throw new AgentConfigError(option, `expected key=value, got ${JSON.stringify(trimmed)}`)
    pairs.push([trimmed.slice(0, eq), trimmed.slice(eq + 1)])
  }
  // Each key on its own first: a record (zod's, or `labels[key] = value`) drops __proto__ silently.
  for (const [key] of pairs) {
    const checked = LabelKey.safeParse(key)
    if (!checked.success) throw new AgentConfigError(option, `invalid key ${JSON.stringify(key)}: ${checked.error.issues[0]?.message ?? 'not a label key'}`)
  }
  const result = Labels.safeParse(Object.fromEntries(pairs))
  if (!result.success) throw new AgentConfigError(option, describeIssues(issuesFromZod(result.error)))
  return result.data
}

export function parseHubUrl(text: string | undefined): string | null {
  if (text === undefined || text === '') return null
  // A NATS cluster: its servers' URLs separated by commas; the agent fails over between them.
  if (text.includes(',')) {
    try {
      parseNatsServerList(text)
    } catch (error) {
      if (error instanceof NatsServerListError) throw new AgentConfigError('--hub', `${error.message}; only a NATS cluster is given as a list`)
      throw error
    }
    return text
  }
  let url: URL
  try {
    url = new URL(text)
  } catch {
    throw new AgentConfigError(
      '--hub',
      `not a URL: ${JSON.stringify(text)} (expected mqtt://, mqtts:// or nats://host:port, or the hub's http(s):// URL with --token)`,
    )
  }
  if (!['mqtt:', 'mqtts:', 'nats:', 'tls:', 'http:', 'https:'].includes(url.protocol)) {
    throw new AgentConfigError('--hub', `unsupported scheme ${url.protocol} (use mqtt://, mqtts://, nats:// or http(s):// with --token)`)
  }
  // Non-special schemes (mqtt:, nats:) parse without a host ("mqtt://", "mqtt:broker"); the
  // MQTT client would then quietly dial localhost, which is never what the operator meant.
  if (url.hostname === '') {
    throw new AgentConfigError('--hub', `${JSON.stringify(text)} names no host (expected ${url.protocol}//host:port)`)
  }
  return text
}

export function parseNodeName(text: string | undefined): string | null {
  if (text === undefined) return null
  const result = Name.safeParse(text)
  if (!result.success) throw new AgentConfigError('--name', `${JSON.stringify(text)} ${describeIssues(issuesFromZod(result.error))}`)
  return result.data
}

/** A node name from a hostname: lower-case, dashes for anything else, trimmed to 63. */
export function nodeNameFromHostname(hostname: string): string {
  const cleaned = hostname
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63)
    .replace(/-+$/, '')
  return cleaned === '' ? 'node' : cleaned
}

/** Splits a comma-separated flag value, dropping empty parts. */
function listOf(text: string | undefined): string[] {
  return (text ?? '')
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '')
}

/** `--allow-capability NET_ADMIN,SYS_TIME`. */
export function parseCapabilities(text: string | undefined): string[] {
  return listOf(text).map((cap) => {
    const checked = Capability.safeParse(cap)
    if (!checked.success) throw new AgentConfigError('--allow-capability', `${JSON.stringify(cap)} ${describeIssues(issuesFromZod(checked.error))}`)
    return checked.data
  })
}

/** `--allow-host-path /srv/data:rw,/etc/ssl:ro` (read-only when no mode is given). */
export function parseHostPaths(text: string | undefined): HostPathRule[] {
  return listOf(text).map((entry) => {
    const match = /^(.*?)(?::(ro|rw))?$/.exec(entry)
    const path = match?.[1] ?? entry
    const checked = AbsolutePath.safeParse(path)
    if (!checked.success)
      throw new AgentConfigError(
        '--allow-host-path',
        `${JSON.stringify(path)} ${describeIssues(issuesFromZod(checked.error))} (expected /path, /path:ro or /path:rw)`,
      )
    return { path: checked.data, readOnly: match?.[2] !== 'rw' }
  })
}

/** `--device-pattern '/dev/ttyS*,/dev/serial/by-id/*'`. */
export function parseDevicePatterns(text: string | undefined): string[] {
  return listOf(text).map((pattern) => {
    const checked = DevicePattern.safeParse(pattern)
    if (!checked.success) throw new AgentConfigError('--device-pattern', `${JSON.stringify(pattern)} ${describeIssues(issuesFromZod(checked.error))}`)
    return checked.data
  })
}

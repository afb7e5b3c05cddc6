import { PortMapping } from '../../protocol/index.js'
import { type ServiceContext, isRecord, scalarText } from './draft.js'

type Port = { containerPort: number; hostPort?: number; protocol?: 'tcp' | 'udp'; hostIP?: string }

const MAX_PORTS = 64

/**
 * `ports:` in the short form ("80", "8080:80", "127.0.0.1:8080:80/udp", "[::1]:8080:80",
 * "9000-9001:9000-9001") or the long form ({ target, published, host_ip, protocol }).
 * Ranges become one mapping per port.
 */
export function mapPorts(value: unknown, ctx: ServiceContext): void {
  if (!Array.isArray(value)) return ctx.notes.notMapped(['ports'], 'must be a list')
  const ports: Port[] = []
  value.forEach((entry, index) => {
    const parsed = isRecord(entry) ? longPort(entry) : shortPort(scalarText(entry))
    if ('error' in parsed) return ctx.notes.notMapped(['ports', index], parsed.error)
    for (const port of parsed.ports) {
      if (!PortMapping.safeParse(port).success) return ctx.notes.notMapped(['ports', index], 'not a valid port mapping')
      if (ports.length >= MAX_PORTS) return ctx.notes.notMapped(['ports', index], `a template publishes at most ${MAX_PORTS} ports`)
      ports.push(port)
    }
    if (parsed.note) ctx.notes.note(['ports', index], parsed.note)
  })
  if (ports.length > 0) ctx.draft.template.ports = ports
}

type Parsed = { ports: Port[]; note?: string } | { error: string }

function shortPort(text: string | null): Parsed {
  if (text === null) return { error: 'must be a string such as "8080:80" or a mapping with target' }
  let rest = text.trim()
  let protocol: string | undefined
  const slash = rest.lastIndexOf('/')
  if (slash >= 0) {
    protocol = rest.slice(slash + 1)
    rest = rest.slice(0, slash)
  }
  let hostIP: string | undefined
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']:')
    if (close < 0) return { error: `cannot read ${JSON.stringify(text)}` }
    hostIP = rest.slice(1, close)
    rest = rest.slice(close + 2)
  }
  const parts = rest.split(':')
  if (parts.length > 3) {
    hostIP = parts.slice(0, -2).join(':')
    parts.splice(0, parts.length - 2)
  } else if (parts.length === 3) {
    hostIP = parts.shift()
  }
  const container = parts.pop() ?? ''
  const published = parts.pop()
  return combine(container, published === '' ? undefined : published, hostIP === '' ? undefined : hostIP, protocol, JSON.stringify(text))
}

function longPort(entry: Record<string, unknown>): Parsed {
  const target = scalarText(entry.target)
  if (target === null) return { error: 'needs target, the port inside the container' }
  const published = entry.published === undefined ? undefined : scalarText(entry.published)
  if (published === null) return { error: 'published must be a port or a range' }
  const hostIP = entry.host_ip === undefined ? undefined : scalarText(entry.host_ip)
  const protocol = entry.protocol === undefined ? undefined : scalarText(entry.protocol)
  return combine(target, published, hostIP ?? undefined, protocol ?? undefined, JSON.stringify(entry))
}

/** One container port or range with an optional host port or range; a host range for a single port takes its first port. */
function combine(container: string, published: string | undefined, hostIP: string | undefined, protocol: string | undefined, text: string): Parsed {
  if (protocol !== undefined && protocol !== 'tcp' && protocol !== 'udp') return { error: `protocol ${protocol}: Shoal publishes tcp and udp only` }
  const containerRange = range(container)
  const hostRange = published === undefined ? null : range(published)
  if (!containerRange || (published !== undefined && !hostRange)) return { error: `cannot read ${text} as ports` }
  const base = { ...(protocol ? { protocol: protocol as 'tcp' | 'udp' } : {}), ...(hostIP ? { hostIP } : {}) }
  const [low, high] = containerRange
  if (hostRange && hostRange[1] - hostRange[0] !== high - low) {
    if (low !== high) return { error: `the host range and the container range of ${text} differ in length` }
    return {
      ports: [{ containerPort: low, hostPort: hostRange[0], ...base }],
      note: `compose picks a free host port in ${published}; this publishes ${hostRange[0]}`,
    }
  }
  const ports: Port[] = []
  for (let port = low; port <= high; port++) {
    ports.push({ containerPort: port, ...(hostRange ? { hostPort: hostRange[0] + (port - low) } : {}), ...base })
  }
  return { ports }
}

function range(text: string): [number, number] | null {
  const match = /^(\d+)(?:-(\d+))?$/.exec(text.trim())
  if (!match) return null
  const low = Number(match[1])
  const high = match[2] === undefined ? low : Number(match[2])
  return high >= low && high - low < MAX_PORTS ? [low, high] : null
}

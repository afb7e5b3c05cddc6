import { durationMs, type ContainerTemplate, type HealthCheck } from '../../protocol/index.js'

/** What one probe does: an HTTP GET or a TCP connect from the agent, or a command run in the container. */
export type ProbeAction =
  | { readonly kind: 'http'; readonly host: string; readonly port: number; readonly path: string }
  | { readonly kind: 'tcp'; readonly host: string; readonly port: number }
  | { readonly kind: 'exec'; readonly command: readonly string[] }

export type ProbeRole = 'liveness' | 'readiness'

export interface ProbeSpec {
  readonly role: ProbeRole
  readonly action: ProbeAction
  readonly check: HealthCheck
  readonly intervalMs: number
  readonly timeoutMs: number
}

const LOOPBACK: ReadonlySet<string> = new Set(['127.0.0.1', 'localhost', '::1'])

/**
 * Whether the agent, not the engine, runs the template's liveness check: http and tcp checks
 * whenever the agent can reach the container's network (host or bridge), so images without
 * wget, curl or nc can be health-gated. exec checks stay the engine's HEALTHCHECK, and so do
 * http and tcp with `network: none`, which only a process inside the container can reach.
 */
export function agentRunsLiveness(template: Pick<ContainerTemplate, 'healthCheck' | 'network'>): boolean {
  const check = template.healthCheck
  return check !== undefined && check.exec === undefined && template.network !== 'none'
}

/**
 * The probes the agent runs for one running container. `address` is the container's own IP on a
 * bridge network: there, a check's loopback host means the container, as it does for a
 * Kubernetes pod. Pure.
 */
export function probesFor(template: Pick<ContainerTemplate, 'healthCheck' | 'readiness' | 'network'>, address: string | null): ProbeSpec[] {
  const specs: ProbeSpec[] = []
  if (template.healthCheck && agentRunsLiveness(template)) specs.push(spec('liveness', template.healthCheck, template.network, address))
  if (template.readiness) specs.push(spec('readiness', template.readiness, template.network, address))
  return specs
}

function spec(role: ProbeRole, check: HealthCheck, network: ContainerTemplate['network'], address: string | null): ProbeSpec {
  return { role, action: action(check, network, address), check, intervalMs: durationMs(check.interval), timeoutMs: durationMs(check.timeout) }
}

function action(check: HealthCheck, network: ContainerTemplate['network'], address: string | null): ProbeAction {
  if (check.exec) return { kind: 'exec', command: check.exec.command }
  // Only a process inside the container can reach it without a network: the shell probe, as the engine runs it.
  if (network === 'none') return { kind: 'exec', command: ['/bin/sh', '-c', inContainerProbeScript(check)] }
  const host = (configured: string) => (network === 'bridge' && LOOPBACK.has(configured) ? (address ?? '') : configured)
  if (check.http) return { kind: 'http', host: host(check.http.host), port: check.http.port, path: check.http.path }
  if (check.tcp) return { kind: 'tcp', host: host(check.tcp.host), port: check.tcp.port }
  throw new RangeError('a health check needs exactly one of exec, http or tcp')
}

/** A key that changes when anything about the probe changes, so a changed probe starts afresh. */
export function probeKey(containerId: string, probe: ProbeSpec): string {
  return `${containerId}/${probe.role}/${JSON.stringify(probe.action)}/${probe.intervalMs}/${probe.timeoutMs}`
}

/**
 * An http or tcp check as a shell one-liner run inside the container, for the engine's
 * HEALTHCHECK and for `network: none`: http needs wget or curl in the image, tcp needs nc
 * (busybox has both). No tool-level timeout flags, because busybox 1.35's `wget -T` crashes;
 * the caller's timeout ends the probe.
 */
export function inContainerProbeScript(check: HealthCheck): string {
  if (check.http) {
    const url = shellQuote(`http://${urlHost(check.http.host)}:${check.http.port}${check.http.path}`)
    return `if command -v wget >/dev/null 2>&1; then wget -q -O /dev/null ${url}; else curl -fsS -o /dev/null ${url}; fi`
  }
  if (check.tcp) {
    const host = shellQuote(check.tcp.host)
    const port = String(check.tcp.port)
    // `nc -z` for netcat-openbsd/-traditional; busybox's small nc has no -z but runs a
    // program once connected (the -e goes after host and port there).
    return `nc -z ${host} ${port} >/dev/null 2>&1 || nc ${host} ${port} -e true </dev/null >/dev/null 2>&1`
  }
  throw new RangeError('only http and tcp checks have a shell probe')
}

export function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`
}

const urlHost = (host: string): string => (host.includes(':') && !host.startsWith('[') ? `[${host}]` : host)

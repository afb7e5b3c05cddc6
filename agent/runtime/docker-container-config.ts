import { type ContainerTemplate, DEFAULT_STOP_GRACE_MS, type HealthCheck, type RestartPolicy } from '../../protocol/index.js'
import { cpuMillis, durationMs, memoryBytes } from '../../protocol/quantity.js'
import type { AuthConfig, ContainerCreateOptions, HealthConfig, HostConfig, RestartPolicy as DockerRestartPolicy } from './docker-engine-client.js'
import { LABEL, type ContainerSpec } from './runtime.js'

/** Label on the named volumes the agent creates, beside LABEL.node. */
export const VOLUME_LABEL = 'io.shoal.volume'

const NANOS_PER_MS = 1_000_000

/**
 * The Docker create options for one workload container: a pure function of the spec, so
 * the same spec always yields the same container (the config hash relies on that).
 */
export function containerCreateOptions(spec: ContainerSpec): ContainerCreateOptions {
  const template = spec.workload.template
  const options: ContainerCreateOptions = {
    name: spec.name,
    Image: template.image,
    Labels: containerLabels(spec),
    Env: environment(template.env),
    // Kubernetes semantics: `command` replaces the image's ENTRYPOINT (and then Docker drops
    // the image's CMD too), `args` replaces its CMD.
    ...(template.command !== undefined ? { Entrypoint: [...template.command] } : {}),
    ...(template.args !== undefined ? { Cmd: [...template.args] } : {}),
    Tty: false,
    HostConfig: hostConfig(spec),
  }
  if (template.healthCheck) options.Healthcheck = healthcheck(template.healthCheck)
  if (template.stopSignal !== undefined) options.StopSignal = template.stopSignal
  if (template.stopGracePeriod !== undefined) options.StopTimeout = stopGraceSeconds(template)
  const exposed = exposedPorts(template)
  if (exposed) options.ExposedPorts = exposed
  return options
}

/** The io.shoal.* labels, over the extra labels so that an extra label can never fake ownership. */
export function containerLabels(spec: ContainerSpec): Record<string, string> {
  return {
    ...spec.extraLabels,
    [LABEL.node]: spec.nodeId,
    [LABEL.workload]: spec.workload.name,
    [LABEL.deployment]: spec.workload.deployment,
    [LABEL.revision]: String(spec.workload.revision),
    [LABEL.configHash]: spec.configHash,
  }
}

/**
 * Docker name of a workload's named volume. Scoped by node id, so two agents sharing one
 * engine (tests, a lab machine) never share data by accident; not by workload, so that
 * replicas and later revisions of the same node keep the same data.
 */
export function volumeName(nodeId: string, volume: string): string {
  return `shoal-${nodeId}-${volume}`
}

/**
 * always → `unless-stopped`: the engine keeps the workload alive while the agent is down and
 * across engine restarts, yet a container the agent stopped on purpose stays stopped.
 * on-failure → `on-failure` with no retry limit (the agent's own backoff decides when to give
 * up); never → `no`.
 */
export function restartPolicy(policy: RestartPolicy): DockerRestartPolicy {
  switch (policy) {
    case 'always':
      return { Name: 'unless-stopped' }
    case 'on-failure':
      return { Name: 'on-failure', MaximumRetryCount: 0 }
    case 'never':
      return { Name: 'no' }
    default: {
      const unknown: never = policy
      throw new RangeError(`unknown restart policy ${String(unknown)}`)
    }
  }
}

/**
 * A Docker health check, which the engine runs inside the container. The http and tcp probes
 * are shell one-liners, so they need tools in the image: http needs wget or curl, tcp needs
 * nc (busybox has both). The probe's timeout is Docker's `Timeout`, which kills the probe;
 * no tool-level timeout flags, because busybox 1.35's `wget -T` crashes.
 */
export function healthcheck(check: HealthCheck): HealthConfig {
  return {
    Test: healthTest(check),
    Interval: durationMs(check.interval) * NANOS_PER_MS,
    Timeout: durationMs(check.timeout) * NANOS_PER_MS,
    StartPeriod: durationMs(check.startPeriod) * NANOS_PER_MS,
    Retries: check.retries,
  }
}

function healthTest(check: HealthCheck): string[] {
  if (check.exec) return ['CMD', ...check.exec.command]
  if (check.http) {
    const url = shellQuote(`http://${urlHost(check.http.host)}:${check.http.port}${check.http.path}`)
    return ['CMD-SHELL', `if command -v wget >/dev/null 2>&1; then wget -q -O /dev/null ${url}; else curl -fsS -o /dev/null ${url}; fi`]
  }
  if (check.tcp) {
    const host = shellQuote(check.tcp.host)
    const port = String(check.tcp.port)
    // `nc -z` for netcat-openbsd/-traditional; busybox's small nc has no -z but runs a
    // program once connected (the -e goes after host and port there).
    return ['CMD-SHELL', `nc -z ${host} ${port} >/dev/null 2>&1 || nc ${host} ${port} -e true </dev/null >/dev/null 2>&1`]
  }
  throw new RangeError('a health check needs exactly one of exec, http or tcp')
}

/** The X-Registry-Auth body for a pull; none without credentials. */
export function pullAuthConfig(image: string, credentials: ContainerTemplate['pullCredentials']): AuthConfig | undefined {
  if (!credentials) return undefined
  return { username: credentials.username, password: credentials.password, serveraddress: credentials.registry ?? registryOf(image) }
}

/** The registry host of an image reference, as Docker reads it ("docker.io" when none is named). */
export function registryOf(image: string): string {
  const slash = image.indexOf('/')
  if (slash === -1) return 'docker.io'
  const first = image.slice(0, slash)
  return first.includes('.') || first.includes(':') || first === 'localhost' ? first : 'docker.io'
}

/** Single-quoted for sh: host and path come from a manifest and must never run as shell. */
export function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`
}

const urlHost = (host: string): string => (host.includes(':') && !host.startsWith('[') ? `[${host}]` : host)

function hostConfig(spec: ContainerSpec): HostConfig {
  const template = spec.workload.template
  const config: HostConfig = {
    RestartPolicy: restartPolicy(template.restartPolicy),
    NetworkMode: template.network,
  }
  const resources = template.resources
  if (resources?.cpu !== undefined) config.NanoCpus = cpuMillis(resources.cpu) * 1_000_000
  if (resources?.memory !== undefined) config.Memory = memoryBytes(resources.memory)
  if (resources?.gpu !== undefined && resources.gpu > 0) {
    config.DeviceRequests = [{ Driver: 'nvidia', Count: resources.gpu, Capabilities: [['gpu']] }]
  }
  if (template.volumes && template.volumes.length > 0) {
    config.Mounts = template.volumes.map((volume) => ({
      Type: 'volume' as const,
      Source: volumeName(spec.nodeId, volume.name),
      Target: volume.path,
      ReadOnly: volume.readOnly ?? false,
      // Applied only when Docker creates the volume on first use: labels make it findable
      // (and removable) by node, like the containers.
      VolumeOptions: {
        NoCopy: false,
        Labels: { ...spec.extraLabels, [LABEL.node]: spec.nodeId, [VOLUME_LABEL]: volume.name },
        DriverConfig: { Name: 'local', Options: {} },
      },
    }))
  }
  const bindings = portBindings(template)
  if (bindings) config.PortBindings = bindings
  return config
}

/** Port publishing means something only on a bridge network; host and none ignore it. */
function exposedPorts(template: ContainerTemplate): Record<string, Record<string, never>> | undefined {
  if (template.network !== 'bridge' || !template.ports?.length) return undefined
  return Object.fromEntries(template.ports.map((port) => [`${port.containerPort}/${port.protocol}`, {}]))
}

function portBindings(template: ContainerTemplate): Record<string, Array<{ HostIp: string; HostPort: string }>> | undefined {
  if (template.network !== 'bridge' || !template.ports?.length) return undefined
  const bindings: Record<string, Array<{ HostIp: string; HostPort: string }>> = {}
  for (const port of template.ports) {
    const key = `${port.containerPort}/${port.protocol}`
    // An empty HostPort lets Docker choose one; an empty HostIp binds all addresses.
    ;(bindings[key] ??= []).push({ HostIp: port.hostIP ?? '', HostPort: port.hostPort === undefined ? '' : String(port.hostPort) })
  }
  return bindings
}

function environment(env: Readonly<Record<string, string>> | undefined): string[] {
  // Sorted, so that the same env always produces the same create options.
  return Object.keys(env ?? {})
    .sort()
    .map((key) => `${key}=${env?.[key] ?? ''}`)
}

/** Whole seconds a stop of this workload waits before the kill (the engine takes seconds). */
export function stopGraceSeconds(template: Pick<ContainerTemplate, 'stopGracePeriod'>): number {
  return Math.ceil((template.stopGracePeriod !== undefined ? durationMs(template.stopGracePeriod) : DEFAULT_STOP_GRACE_MS) / 1000)
}

import { type ContainerTemplate, DEFAULT_STOP_GRACE_MS, type HealthCheck, type RestartPolicy } from '../../protocol/index.js'
import { cpuMillis, durationMs, memoryBytes } from '../../protocol/quantity.js'
import type { AuthConfig, ContainerCreateOptions, HealthConfig, HostConfig, RestartPolicy as DockerRestartPolicy } from './docker-engine-client.js'
import { LABEL, type ContainerLogLimits, type ContainerSpec, type ContainerValues, type RegistryCredentials } from './runtime.js'
import { agentRunsLiveness, inContainerProbeScript } from '../probes/probe-plan.js'

/** A container's log bound when neither its template nor the node's firmware profile sets one. */
export const DEFAULT_CONTAINER_LOGS: ContainerLogLimits = { maxSizeBytes: 10 * 1024 * 1024, maxFiles: 3 }

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
    Env: environment(template.env, spec.values),
    // Kubernetes semantics: `command` replaces the image's ENTRYPOINT (and then Docker drops
    // the image's CMD too), `args` replaces its CMD.
    ...(template.command !== undefined ? { Entrypoint: [...template.command] } : {}),
    ...(template.args !== undefined ? { Cmd: [...template.args] } : {}),
    Tty: false,
    HostConfig: hostConfig(spec),
  }
  if (template.securityContext?.user !== undefined) options.User = template.securityContext.user
  if (template.healthCheck && !agentRunsLiveness(template)) options.Healthcheck = healthcheck(template.healthCheck)
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
    ...versionLabel(LABEL.configVersions, spec.values?.configVersions),
    ...versionLabel(LABEL.secretVersions, spec.values?.secretVersions),
  }
}

/** `name=version,...` sorted by name; no label at all when there is nothing to say (workloads without values keep today's labels). */
function versionLabel(label: string, versions: Readonly<Record<string, number>> | undefined): Record<string, string> {
  const names = Object.keys(versions ?? {}).sort()
  return names.length === 0 ? {} : { [label]: names.map((name) => `${name}=${versions?.[name]}`).join(',') }
}

/** The versions a version label holds; entries that do not parse are skipped. */
export function parseVersionLabel(text: string | undefined): Record<string, number> | undefined {
  if (!text) return undefined
  const versions: Record<string, number> = {}
  for (const part of text.split(',')) {
    const match = /^([a-z0-9-]+)=(\d+)$/.exec(part)
    if (match?.[1] !== undefined && match[2] !== undefined) versions[match[1]] = Number(match[2])
  }
  return Object.keys(versions).length > 0 ? versions : undefined
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
 * A Docker health check, which the engine runs inside the container: exec checks, and http and
 * tcp checks only on `network: none` (elsewhere the agent runs those itself, see probe-plan.ts).
 * The probe's timeout is Docker's `Timeout`, which kills the probe.
 */
export function healthcheck(check: HealthCheck): HealthConfig {
  return {
    Test: check.exec ? ['CMD', ...check.exec.command] : ['CMD-SHELL', inContainerProbeScript(check)],
    Interval: durationMs(check.interval) * NANOS_PER_MS,
    Timeout: durationMs(check.timeout) * NANOS_PER_MS,
    StartPeriod: durationMs(check.startPeriod) * NANOS_PER_MS,
    Retries: check.retries,
  }
}

/** The X-Registry-Auth body for a pull; none without credentials. */
export function pullAuthConfig(image: string, credentials: RegistryCredentials | undefined): AuthConfig | undefined {
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
function hostConfig(spec: ContainerSpec): HostConfig {
  const template = spec.workload.template
  const config: HostConfig = {
    RestartPolicy: restartPolicy(template.restartPolicy),
    // Joined to the first container of its copy: one namespace, so they talk over localhost.
    NetworkMode: spec.networkOf !== undefined ? `container:${spec.networkOf}` : template.network,
  }
  const resources = template.resources
  if (resources?.cpu !== undefined) config.NanoCpus = cpuMillis(resources.cpu) * 1_000_000
  if (resources?.memory !== undefined) config.Memory = memoryBytes(resources.memory)
  if (resources?.gpu !== undefined && resources.gpu > 0) {
    config.DeviceRequests = [{ Driver: 'nvidia', Count: resources.gpu, Capabilities: [['gpu']] }]
  }
  if (template.volumes && template.volumes.length > 0) config.Mounts = template.volumes.map((volume) => mount(spec, volume))
  const bindings = portBindings(template)
  if (bindings) config.PortBindings = bindings
  if (template.devices && template.devices.length > 0) {
    config.Devices = template.devices.map((device) => ({
      PathOnHost: device.path,
      PathInContainer: device.containerPath ?? device.path,
      CgroupPermissions: device.permissions ?? 'rwm',
    }))
  }
  const security = template.securityContext
  if (security?.privileged === true) config.Privileged = true
  if (security?.capabilities?.add?.length) config.CapAdd = [...security.capabilities.add]
  if (security?.capabilities?.drop?.length) config.CapDrop = [...security.capabilities.drop]
  if (security?.readOnlyRootFilesystem === true) config.ReadonlyRootfs = true
  if (template.tmpfs && template.tmpfs.length > 0) {
    config.Tmpfs = Object.fromEntries(template.tmpfs.map((mount) => [mount.path, mount.size !== undefined ? `size=${memoryBytes(mount.size)}` : '']))
  }
  config.LogConfig = logConfig(template, spec.logDefaults ?? DEFAULT_CONTAINER_LOGS)
  return config
}

/**
 * Docker's json-file driver with rotation: unbounded by default, it fills a board's flash. Named
 * outright, so a daemon whose default driver is another one still caps the log (and the agent
 * still reads it through the Engine API).
 */
export function logConfig(template: Pick<ContainerTemplate, 'logs'>, defaults: ContainerLogLimits): { Type: string; Config: Record<string, string> } {
  const maxSize = template.logs?.maxSize !== undefined ? memoryBytes(template.logs.maxSize) : defaults.maxSizeBytes
  const maxFiles = template.logs?.maxFiles ?? defaults.maxFiles
  return { Type: 'json-file', Config: { 'max-size': String(maxSize), 'max-file': String(maxFiles) } }
}

type Mount = NonNullable<HostConfig['Mounts']>[number]

/**
 * A named volume, a host path, or a read-only bind of the host directory holding a Config's or
 * Secret's files (binds, not -v: the engine refuses to start the container when the source is
 * missing rather than making an empty directory, so a container never runs without its files).
 */
function mount(spec: ContainerSpec, volume: NonNullable<ContainerTemplate['volumes']>[number]): Mount {
  if (volume.hostPath !== undefined) return { Type: 'bind', Source: volume.hostPath, Target: volume.path, ReadOnly: volume.readOnly ?? false }
  if (volume.name !== undefined)
    return {
      Type: 'volume',
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
    }
  const [kind, name, dirs] =
    volume.config !== undefined
      ? (['config', volume.config, spec.values?.configDirs] as const)
      : (['secret', volume.secret ?? '', spec.values?.secretDirs] as const)
  const source = dirs?.[name]
  if (source === undefined) throw new RangeError(`workload ${spec.workload.name}: no files were prepared for ${kind} ${name} (volume ${volume.path})`)
  return { Type: 'bind', Source: source, Target: volume.path, ReadOnly: true }
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

function environment(env: ContainerTemplate['env'], values: ContainerValues | undefined): string[] {
  // Sorted, so that the same env always produces the same create options.
  return Object.keys(env ?? {})
    .sort()
    .map((key) => {
      const value = env?.[key]
      if (typeof value === 'string') return `${key}=${value}`
      const resolved = values?.env[key]
      if (resolved === undefined) throw new RangeError(`env ${key} refers to a Config or Secret whose value was not resolved`)
      return `${key}=${resolved}`
    })
}

/** Whole seconds a stop of this workload waits before the kill (the engine takes seconds). */
export function stopGraceSeconds(template: Pick<ContainerTemplate, 'stopGracePeriod'>): number {
  return Math.ceil((template.stopGracePeriod !== undefined ? durationMs(template.stopGracePeriod) : DEFAULT_STOP_GRACE_MS) / 1000)
}

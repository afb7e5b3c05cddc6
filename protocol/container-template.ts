import { z } from 'zod'
import { DataKey } from './config-objects.js'
import { Duration, Name } from './primitives.js'
import { AbsolutePath, Capability, DevicePath } from './node-policy.js'
import { CpuQuantity, MemoryQuantity, durationMs } from './quantity.js'

/** A stop may not hold a replace (or an agent's shutdown) for longer than this. */
export const MAX_STOP_GRACE_MS = 10 * 60_000
export const DEFAULT_STOP_GRACE_MS = 10_000

const Port = z.number().int().min(1).max(65535)

export const HealthCheck = z
  .strictObject({
    exec: z.strictObject({ command: z.array(z.string()).min(1) }).optional(),
    http: z
      .strictObject({ port: Port, path: z.string().startsWith('/').default('/'), host: z.string().default('127.0.0.1') })
      .optional()
      .describe("a GET answered 200-399 passes; on bridge networking 127.0.0.1 means the container's address"),
    tcp: z
      .strictObject({ port: Port, host: z.string().default('127.0.0.1') })
      .optional()
      .describe("a connection accepted passes; on bridge networking 127.0.0.1 means the container's address"),
    interval: Duration.default('10s'),
    timeout: Duration.default('5s'),
    retries: z.number().int().min(1).max(100).default(3),
    startPeriod: Duration.default('0s'),
  })
  .superRefine((check, ctx) => {
    const probes = [check.exec, check.http, check.tcp].filter((probe) => probe !== undefined).length
    if (probes !== 1) ctx.addIssue({ code: 'custom', message: 'a health check needs exactly one of exec, http or tcp' })
  })
export type HealthCheck = z.infer<typeof HealthCheck>

export const RestartPolicy = z.enum(['always', 'on-failure', 'never'])
export type RestartPolicy = z.infer<typeof RestartPolicy>

export const NetworkMode = z.enum(['host', 'bridge', 'none'])

/** Exactly one source: a named volume, a host path, a Config's keys as files, or a Secret's keys as files (on tmpfs). */
export const VolumeMount = z
  .strictObject({
    name: Name.optional().describe('a named volume, kept across container recreates'),
    hostPath: AbsolutePath.optional().describe(
      "a file or directory of the node, as the node's policy allows (default: /etc/localtime and /etc/timezone, read-only)",
    ),
    config: Name.optional().describe("a Config's keys as read-only files in the directory at path"),
    secret: Name.optional().describe("a Secret's keys as read-only files in the directory at path, on tmpfs (never on the node's disk)"),
    path: z.string().startsWith('/', 'must be an absolute path inside the container'),
    readOnly: z.boolean().optional(),
  })
  .superRefine((volume, ctx) => {
    const sources = [volume.name, volume.hostPath, volume.config, volume.secret].filter((source) => source !== undefined).length
    if (sources !== 1) ctx.addIssue({ code: 'custom', message: 'a volume needs exactly one of name (a named volume), hostPath, config or secret' })
    if (volume.readOnly === false && (volume.config !== undefined || volume.secret !== undefined))
      ctx.addIssue({ code: 'custom', path: ['readOnly'], message: 'Config and Secret volumes are always read-only' })
  })
export type VolumeMount = z.infer<typeof VolumeMount>

/** A host device passed into the container as itself: no privileged mode needed. */
export const DeviceMapping = z.strictObject({
  path: DevicePath.describe('the device on the node, such as /dev/ttyUSB0'),
  containerPath: AbsolutePath.optional().describe('where the container sees it (default: the same path)'),
  permissions: z
    .string()
    .regex(/^(?!.*(.).*\1)[rwm]{1,3}$/, 'must be any of r (read), w (write) and m (mknod), each once, such as rw or rwm')
    .optional()
    .describe('cgroup access: r, w and m (default rwm)'),
})
export type DeviceMapping = z.infer<typeof DeviceMapping>

export const SecurityContext = z.strictObject({
  privileged: z.boolean().optional().describe("every device and capability of the node; runs only where the node's policy allows it"),
  capabilities: z
    .strictObject({
      add: z.array(Capability).max(64).optional().describe("capabilities added to Docker's default set, as the node's policy allows"),
      drop: z.array(Capability).max(64).optional().describe('capabilities taken away (ALL: every one)'),
    })
    .optional(),
  user: z
    .string()
    .regex(/^\d{1,10}(:\d{1,10})?$/, 'must be a numeric uid or uid:gid, such as 1000 or 1000:1000')
    .optional()
    .describe('run as this uid (and gid)'),
  readOnlyRootFilesystem: z.boolean().optional(),
})
export type SecurityContext = z.infer<typeof SecurityContext>

export const TmpfsMount = z.strictObject({
  path: AbsolutePath,
  size: MemoryQuantity.optional().describe('at most this much memory (default: half the RAM, as the kernel does)'),
})

/** Bounds on the container's own log on the node's disk; the agent's default (10Mi x 3, or the firmware profile's) applies without it. */
export const ContainerLogs = z.strictObject({
  maxSize: MemoryQuantity.optional().describe('size of one log file before it rotates, such as 10Mi'),
  maxFiles: z.number().int().min(1).max(100).optional().describe('log files kept, the current one included'),
})
export type ContainerLogs = z.infer<typeof ContainerLogs>

export const PortMapping = z.strictObject({
  containerPort: Port,
  hostPort: Port.optional(),
  protocol: z.enum(['tcp', 'udp']).default('tcp'),
  hostIP: z.string().optional(),
})

/**
 * Registry credentials: a Secret with the keys username and password (sealed to each node), or
 * inline (stored and sent in plain text; shoal validate warns).
 */
export const PullCredentials = z
  .strictObject({
    registry: z.string().min(1).optional(),
    secret: Name.optional().describe('a Secret with the keys username and password'),
    username: z.string().min(1).optional(),
    password: z.string().min(1).optional(),
  })
  .superRefine((credentials, ctx) => {
    const inline = credentials.username !== undefined || credentials.password !== undefined
    if (credentials.secret !== undefined && inline) ctx.addIssue({ code: 'custom', message: 'give either secret or username and password, not both' })
    else if (credentials.secret === undefined && (credentials.username === undefined || credentials.password === undefined))
      ctx.addIssue({ code: 'custom', message: 'needs secret (a Secret with username and password), or username and password inline' })
  })
export type PullCredentials = z.infer<typeof PullCredentials>

export const Resources = z.strictObject({
  cpu: CpuQuantity.optional(),
  memory: MemoryQuantity.optional(),
  gpu: z.number().int().nonnegative().optional(),
})
export type Resources = z.infer<typeof Resources>

const EnvName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name ([A-Za-z_][A-Za-z0-9_]*)')

/** An environment variable's value taken from one key of a Config or a Secret. */
export const EnvValueRef = z
  .strictObject({
    config: Name.optional(),
    secret: Name.optional(),
    key: DataKey,
  })
  .superRefine((ref, ctx) => {
    if ((ref.config === undefined) === (ref.secret === undefined)) ctx.addIssue({ code: 'custom', message: 'needs exactly one of config or secret, with key' })
  })
export type EnvValueRef = z.infer<typeof EnvValueRef>

/** True for text Duration itself refuses, so a malformed duration gets one message, not two. */
function withinStopGrace(text: string): boolean {
  try {
    return durationMs(text) <= MAX_STOP_GRACE_MS
  } catch {
    return true
  }
}

/** One container: what the agent runs for a workload. Shared by manifests and desired documents. */
export const ContainerTemplate = z.strictObject({
  image: z.string().min(1).max(512),
  command: z.array(z.string()).optional(),
  args: z.array(z.string()).optional(),
  env: z
    .record(EnvName, z.union([z.string(), EnvValueRef], { error: 'must be a string, or { config: NAME, key: KEY } or { secret: NAME, key: KEY }' }))
    .optional()
    .describe('a value, or { config | secret: NAME, key: KEY } for one key of a Config or Secret'),
  ports: z.array(PortMapping).max(64).optional(),
  volumes: z.array(VolumeMount).max(64).optional(),
  devices: z.array(DeviceMapping).max(32).optional().describe('host devices passed in; the copy is placed only on nodes that have them'),
  securityContext: SecurityContext.optional(),
  tmpfs: z.array(TmpfsMount).max(16).optional().describe('in-memory directories, such as /tmp with a read-only root filesystem'),
  logs: ContainerLogs.optional(),
  resources: Resources.optional(),
  restartPolicy: RestartPolicy.default('always'),
  healthCheck: HealthCheck.optional().describe(
    'liveness: whether the copy works; http and tcp checks are run by the agent (no tools needed in the image), exec checks inside the container',
  ),
  readiness: HealthCheck.optional().describe(
    'whether the copy may take work: a running copy that fails it is reported not ready, and rollouts wait for it; run by the agent (exec through the engine)',
  ),
  network: NetworkMode.default('host').describe('edge devices usually share the host network'),
  pullCredentials: PullCredentials.optional(),
  // No defaults here: a default would change the config hash of every existing workload, and
  // an upgrade would restart them all. The agent applies 10s and SIGTERM when they are absent.
  stopGracePeriod: Duration.refine(withinStopGrace, 'must be at most 10m')
    .optional()
    .describe('how long a stop waits after stopSignal before killing the container (default 10s)'),
  stopSignal: z
    .string()
    .regex(/^(SIG[A-Z0-9+-]+|[1-9][0-9]?)$/, 'must be a signal name such as SIGTERM, SIGINT or SIGQUIT, or its number')
    .optional()
    .describe('the signal a stop sends first (default SIGTERM)'),
  annotations: z
    .record(z.string().min(1).max(253), z.string().max(1000))
    .optional()
    .describe('notes that travel with the template; changing one makes a new revision (shoal rollout restart sets shoal.dev/restartedAt)'),
})
export type ContainerTemplate = z.infer<typeof ContainerTemplate>
export type ContainerTemplateInput = z.input<typeof ContainerTemplate>

import { Arch, Capability, CpuQuantity, LabelKey, LabelValue, MemoryQuantity } from '../../protocol/index.js'
import { type ServiceContext, isRecord, scalarText, stringList } from './draft.js'
import { mapHealthcheck, mapLogging, mapRestart, mapRestartCondition, mapStopGracePeriod, mapStopSignal } from './lifecycle.js'
import { mapPorts } from './ports.js'
import { splitShellWords } from './shell-words.js'
import { mapDevices, mapTmpfs, mapVolumes } from './storage.js'
import { composeBytes, shoalBytes } from './units.js'

/** One step per compose key: reads the value, writes the draft, notes what it could not carry. */
type KeyStep = (value: unknown, ctx: ServiceContext, key: string) => void

const notMapped =
  (why: string): KeyStep =>
  (_value, ctx, key) =>
    ctx.notes.notMapped([key], why)

/** Every service key the conversion knows; any other key is listed as having no equivalent. */
export const SERVICE_KEYS = {
  image: (value, ctx) => {
    const image = scalarText(value)
    if (image === null || image === '') ctx.notes.notMapped(['image'], 'must be an image reference')
    else ctx.draft.template.image = image
  },
  build: (_value, ctx) => {
    if (ctx.service.image !== undefined) ctx.notes.notMapped(['build'], `Shoal does not build images; ${String(ctx.service.image)} is pulled as it is`)
  },
  command: (value, ctx) => words(value, ctx, 'command', 'args'),
  entrypoint: (value, ctx) => words(value, ctx, 'entrypoint', 'command'),
  environment: mapEnvironment,
  env_file: notMapped('env files are not read; put the variables under environment, or in a Config referenced from env'),
  ports: mapPorts,
  expose: notMapped('expose only documents ports for other services; on the host network every port the service opens is reachable'),
  network_mode: mapNetworkMode,
  networks: notMapped("Shoal has no user-defined networks: a copy uses the host's network, a bridge, or none"),
  volumes: mapVolumes,
  tmpfs: mapTmpfs,
  devices: mapDevices,
  cap_add: (value, ctx) => capabilities(value, ctx, 'cap_add', 'add'),
  cap_drop: (value, ctx) => capabilities(value, ctx, 'cap_drop', 'drop'),
  privileged: (value, ctx) => flag(value, ctx, 'privileged', (on) => (security(ctx).privileged = on)),
  read_only: (value, ctx) => flag(value, ctx, 'read_only', (on) => (security(ctx).readOnlyRootFilesystem = on)),
  user: (value, ctx) => {
    const user = scalarText(value) ?? ''
    if (/^\d{1,10}(:\d{1,10})?$/.test(user)) security(ctx).user = user
    else
      ctx.notes.notMapped(
        ['user'],
        `${JSON.stringify(value)}: Shoal takes a numeric uid or uid:gid (a user name is looked up in the image, which Shoal does not read)`,
      )
  },
  healthcheck: mapHealthcheck,
  restart: mapRestart,
  depends_on: (value, ctx) => {
    const names = Array.isArray(value) ? value.map(String) : isRecord(value) ? Object.keys(value) : [String(value)]
    ctx.notes.notMapped(['depends_on'], `Shoal starts deployments independently and in no order; this one does not wait for ${names.join(', ')}`)
  },
  links: notMapped('Shoal has no service names on a shared network; on the host network services reach each other at 127.0.0.1 on one node'),
  external_links: notMapped('Shoal has no service names on a shared network'),
  logging: mapLogging,
  stop_grace_period: mapStopGracePeriod,
  stop_signal: mapStopSignal,
  deploy: mapDeploy,
  mem_limit: (value, ctx) => {
    if (!hasLimit(ctx, 'memory')) memory(value, ctx, ['mem_limit'])
  },
  cpus: (value, ctx) => {
    if (!hasLimit(ctx, 'cpus')) cpus(value, ctx, ['cpus'])
  },
  scale: (value, ctx) => {
    if (isRecord(ctx.service.deploy) && ctx.service.deploy.replicas !== undefined) return
    replicas(value, ctx, ['scale'])
  },
  labels: (value, ctx) => labels(value, ctx, ['labels']),
  platform: (value, ctx) => {
    const arch = platformArch(scalarText(value) ?? '')
    if (arch === null) ctx.notes.notMapped(['platform'], `${JSON.stringify(value)}: not a linux platform Shoal knows (such as linux/arm64)`)
    else ctx.draft.arch = [arch]
  },
  container_name: notMapped("Shoal names each copy's container itself"),
  hostname: notMapped("the container's hostname is not set: on the host network it is the node's"),
  domainname: notMapped("the container's domain name is not set"),
  working_dir: notMapped('the template has no working directory; set WORKDIR in the image'),
  extends: notMapped('extends is not followed; copy the settings into the service'),
  secrets: notMapped('compose secrets are files; make a Secret (shoal create secret NAME --from-file) and mount it with volumes: [{ secret: NAME, path }]'),
  configs: notMapped('compose configs are files; make a Config (shoal create config NAME --from-file) and mount it with volumes: [{ config: NAME, path }]'),
  profiles: notMapped('profiles do not apply: every service is converted'),
  pull_policy: notMapped('the agent pulls an image when the node lacks it'),
  extra_hosts: notMapped('the template has no extra /etc/hosts entries'),
  init: notMapped('the template has no init process option; put one (tini) in the image'),
  sysctls: notMapped('the template sets no sysctls'),
  ulimits: notMapped('the template sets no ulimits'),
} satisfies Record<string, KeyStep>

/** Keys Docker has and the template does not, with the reason in a word. */
export const NO_EQUIVALENT_REASON = 'Shoal has no equivalent'

function words(value: unknown, ctx: ServiceContext, key: 'command' | 'entrypoint', field: 'command' | 'args'): void {
  if (value === null) return
  if (typeof value === 'string') {
    const split = splitShellWords(value)
    if ('error' in split) return ctx.notes.notMapped([key], `cannot split it into words: ${split.error}`)
    if (split.shellSyntax.length > 0)
      ctx.notes.note(
        [key],
        `split into words without a shell, as docker compose does: ${split.shellSyntax.join(', ')} stay plain words (write ["sh", "-c", "..."] if a shell was meant)`,
      )
    ctx.draft.template[field] = split.words
    return
  }
  const list = stringList(value)
  if (list === null) return ctx.notes.notMapped([key], 'must be a string or a list of strings')
  ctx.draft.template[field] = list
}

function mapEnvironment(value: unknown, ctx: ServiceContext): void {
  const entries: [string, unknown, (string | number)[]][] = []
  if (Array.isArray(value)) {
    value.forEach((item, index) => {
      const text = scalarText(item) ?? ''
      const equals = text.indexOf('=')
      entries.push(equals < 0 ? [text, null, ['environment', index]] : [text.slice(0, equals), text.slice(equals + 1), ['environment', index]])
    })
  } else if (isRecord(value)) {
    for (const [name, item] of Object.entries(value)) entries.push([name, item, ['environment', name]])
  } else {
    return ctx.notes.notMapped(['environment'], 'must be a list of NAME=VALUE or a mapping')
  }
  const env: Record<string, string> = {}
  for (const [name, item, at] of entries) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
      ctx.notes.notMapped(at, `${JSON.stringify(name)} is not an environment variable name Shoal takes ([A-Za-z_][A-Za-z0-9_]*)`)
      continue
    }
    if (item === null || item === undefined) {
      const fromShell = ctx.options.variables?.[name]
      if (fromShell === undefined) ctx.notes.notMapped(at, `${name} takes its value from the shell running compose, and it is not set in this one`)
      else {
        env[name] = fromShell
        ctx.notes.note(at, `${name} takes its value from the environment of shoal convert`)
      }
      continue
    }
    const text = scalarText(item)
    if (text === null) ctx.notes.notMapped(at, 'must be a string')
    else env[name] = text
  }
  if (Object.keys(env).length > 0) ctx.draft.template.env = env
}

function mapNetworkMode(value: unknown, ctx: ServiceContext): void {
  const mode = scalarText(value) ?? ''
  if (mode === 'host' || mode === 'bridge' || mode === 'none') ctx.draft.networkMode = mode
  else if (mode.startsWith('service:') || mode.startsWith('container:'))
    ctx.notes.notMapped(
      ['network_mode'],
      `${mode}: sharing another container's network namespace needs several containers in one copy, which Shoal cannot run yet; this service gets its own`,
    )
  else ctx.notes.notMapped(['network_mode'], `${JSON.stringify(value)}: Shoal has host, bridge and none`)
}

function security(ctx: ServiceContext): NonNullable<ServiceContext['draft']['template']['securityContext']> {
  ctx.draft.template.securityContext ??= {}
  return ctx.draft.template.securityContext
}

function flag(value: unknown, ctx: ServiceContext, key: string, set: (on: boolean) => void): void {
  if (typeof value !== 'boolean') return ctx.notes.notMapped([key], 'must be true or false')
  if (value) set(true)
}

function capabilities(value: unknown, ctx: ServiceContext, key: string, field: 'add' | 'drop'): void {
  const list = stringList(value)
  if (list === null) return ctx.notes.notMapped([key], 'must be a list of capabilities')
  const kept: string[] = []
  list.forEach((cap, index) => {
    if (Capability.safeParse(cap).success) kept.push(cap)
    else ctx.notes.notMapped([key, index], `${JSON.stringify(cap)} is not a Linux capability such as NET_ADMIN`)
  })
  if (kept.length === 0) return
  const context = security(ctx)
  context.capabilities = { ...context.capabilities, [field]: kept }
}

function hasLimit(ctx: ServiceContext, key: 'memory' | 'cpus'): boolean {
  const deploy = ctx.service.deploy
  const limits = isRecord(deploy) && isRecord(deploy.resources) && isRecord(deploy.resources.limits) ? deploy.resources.limits : {}
  return limits[key] !== undefined
}

function memory(value: unknown, ctx: ServiceContext, at: (string | number)[]): void {
  const bytes = composeBytes(value, 1024)
  const quantity = bytes === null ? null : shoalBytes(bytes, 1024)
  if (quantity === null || !MemoryQuantity.safeParse(quantity).success) return ctx.notes.notMapped(at, `${JSON.stringify(value)} is not a size such as 512m`)
  ctx.draft.template.resources = { ...ctx.draft.template.resources, memory: quantity }
}

function cpus(value: unknown, ctx: ServiceContext, at: (string | number)[]): void {
  const cores = typeof value === 'string' ? Number(value) : value
  if (typeof cores !== 'number' || !CpuQuantity.safeParse(cores).success || Number.isNaN(cores))
    return ctx.notes.notMapped(at, `${JSON.stringify(value)} is not a number of CPUs such as 0.5`)
  ctx.draft.template.resources = { ...ctx.draft.template.resources, cpu: cores }
}

function replicas(value: unknown, ctx: ServiceContext, at: (string | number)[]): void {
  const count = Number(value)
  if (!Number.isInteger(count) || count < 0 || count > 10_000) return ctx.notes.notMapped(at, 'must be a whole number from 0 to 10000')
  ctx.draft.replicas = count
}

/** Labels as a mapping or a list of key=value; those that are not valid Shoal labels are listed. */
function labels(value: unknown, ctx: ServiceContext, at: (string | number)[]): void {
  const entries: [string, string, (string | number)[]][] = []
  if (Array.isArray(value)) {
    value.forEach((item, index) => {
      const text = scalarText(item) ?? ''
      const equals = text.indexOf('=')
      entries.push([equals < 0 ? text : text.slice(0, equals), equals < 0 ? '' : text.slice(equals + 1), [...at, index]])
    })
  } else if (isRecord(value)) {
    for (const [key, item] of Object.entries(value)) entries.push([key, scalarText(item) ?? '', [...at, key]])
  } else {
    return ctx.notes.notMapped(at, 'must be a mapping or a list of key=value')
  }
  for (const [key, text, where] of entries) {
    if (!LabelKey.safeParse(key).success) ctx.notes.notMapped(where, `${JSON.stringify(key)} is not a Shoal label key`)
    else if (!LabelValue.safeParse(text).success)
      ctx.notes.notMapped(where, `${JSON.stringify(text)} is not a Shoal label value (at most 63 letters, digits, "-", "_" or ".")`)
    else ctx.draft.labels[key] = text
  }
}

const PLATFORM_ARCH: Readonly<Record<string, string>> = { x86_64: 'amd64', aarch64: 'arm64', armv7l: 'arm', i386: '386' }

/** linux/arm64, linux/arm/v7, or a bare architecture → Shoal's arch. */
function platformArch(text: string): Arch | null {
  const [os, arch = ''] = text.includes('/') ? text.split('/') : ['linux', text]
  if (os !== 'linux') return null
  const parsed = Arch.safeParse(PLATFORM_ARCH[arch] ?? arch)
  return parsed.success ? parsed.data : null
}

/** `deploy:` replicas and mode, resource limits (and a GPU reservation), restart policy, placement by node label. */
function mapDeploy(value: unknown, ctx: ServiceContext): void {
  if (!isRecord(value)) return ctx.notes.notMapped(['deploy'], 'must be a mapping')
  for (const [key, item] of Object.entries(value)) {
    const at = ['deploy', key]
    switch (key) {
      case 'mode':
        if (item === 'global') ctx.draft.everyNode = true
        else if (item !== 'replicated') ctx.notes.notMapped(at, `${JSON.stringify(item)}: Shoal has replicated and every-node (global)`)
        break
      case 'replicas':
        if (value.mode === 'global') ctx.notes.notMapped(at, 'a global service runs one copy on each node')
        else replicas(item, ctx, at)
        break
      case 'resources':
        deployResources(item, ctx)
        break
      case 'restart_policy':
        mapRestartCondition(item, ctx)
        break
      case 'placement':
        placement(item, ctx)
        break
      case 'labels':
        labels(item, ctx, at)
        break
      case 'update_config':
      case 'rollback_config':
        ctx.notes.notMapped(at, 'Shoal rolls out with spec.strategy (see docs/rollouts.md)')
        break
      default:
        ctx.notes.notMapped(at, NO_EQUIVALENT_REASON)
    }
  }
}

function deployResources(value: unknown, ctx: ServiceContext): void {
  if (!isRecord(value)) return ctx.notes.notMapped(['deploy', 'resources'], 'must be a mapping')
  for (const [key, item] of Object.entries(value)) {
    const at = ['deploy', 'resources', key]
    if (key === 'limits' && isRecord(item)) {
      for (const [limit, amount] of Object.entries(item)) {
        if (limit === 'cpus') cpus(amount, ctx, [...at, limit])
        else if (limit === 'memory') memory(amount, ctx, [...at, limit])
        else ctx.notes.notMapped([...at, limit], 'Shoal limits cpu and memory only')
      }
    } else if (key === 'reservations' && isRecord(item)) {
      for (const [reservation, amount] of Object.entries(item)) {
        if (reservation === 'devices' && gpuCount(amount) !== null) {
          ctx.draft.template.resources = { ...ctx.draft.template.resources, gpu: gpuCount(amount) as number }
        } else {
          ctx.notes.notMapped(
            [...at, reservation],
            reservation === 'devices'
              ? 'only a GPU reservation with a whole count maps (to resources.gpu)'
              : "Shoal's resources are limits that the scheduler also reserves; set deploy.resources.limits",
          )
        }
      }
    } else {
      ctx.notes.notMapped(at, 'must be limits or reservations, as mappings')
    }
  }
}

/** [{ capabilities: [gpu], count: N }] → N. */
function gpuCount(value: unknown): number | null {
  if (!Array.isArray(value) || value.length !== 1 || !isRecord(value[0])) return null
  const device = value[0]
  const gpu = Array.isArray(device.capabilities) && device.capabilities.includes('gpu')
  const count = Number(device.count ?? 1)
  return gpu && Number.isInteger(count) && count >= 0 && Object.keys(device).every((key) => ['capabilities', 'count', 'driver'].includes(key)) ? count : null
}

/** node.labels.KEY == VALUE (and !=) → the selector; node.platform.arch → requires.arch. */
function placement(value: unknown, ctx: ServiceContext): void {
  if (!isRecord(value)) return ctx.notes.notMapped(['deploy', 'placement'], 'must be a mapping')
  for (const [key, item] of Object.entries(value)) {
    const at = ['deploy', 'placement', key]
    if (key !== 'constraints') {
      ctx.notes.notMapped(at, 'Shoal spreads copies with spec.spread and places them with a selector')
      continue
    }
    const constraints = stringList(item) ?? []
    constraints.forEach((constraint, index) => {
      const match = /^\s*node\.(labels\.([^\s=!]+)|platform\.arch)\s*(==|!=)\s*(\S+)\s*$/.exec(constraint)
      const [, field, labelKey, operator, wanted = ''] = match ?? []
      if (field === 'platform.arch' && operator === '==' && platformArch(wanted) !== null) {
        ctx.draft.arch = [platformArch(wanted) as Arch]
      } else if (labelKey !== undefined && LabelKey.safeParse(labelKey).success && LabelValue.safeParse(wanted).success) {
        if (operator === '==') ctx.draft.matchLabels[labelKey] = wanted
        else ctx.draft.matchExpressions.push({ key: labelKey, operator: 'NotIn', values: [wanted] })
      } else {
        ctx.notes.notMapped(
          [...at, index],
          `${constraint}: only node.labels.KEY == VALUE, != VALUE and node.platform.arch == ARCH map (to the selector and requires.arch)`,
        )
      }
    })
  }
}

import { Capability } from '../../protocol/index.js'
import { type ServiceContext, isRecord, scalarText, stringList } from './draft.js'
import { mapHealthcheck, mapLogging, mapRestart, mapStopGracePeriod, mapStopSignal } from './lifecycle.js'
import { cpus, hasLimit, labels, mapDeploy, memory, platformArch, replicas } from './placement.js'
import { mapPorts } from './ports.js'
import { splitShellWords } from './shell-words.js'
import { mapDevices, mapTmpfs, mapVolumes } from './storage.js'

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
  else if (mode.startsWith('service:') && mode.length > 'service:'.length) ctx.draft.sharesNetworkOf = mode.slice('service:'.length)
  else if (mode.startsWith('container:'))
    ctx.notes.notMapped(['network_mode'], `${mode}: a container Shoal does not run; write network_mode: service:NAME to run it beside a service of this file`)
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

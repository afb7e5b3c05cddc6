import { API_VERSION, copyPolicyRefusals, DEFAULT_NODE_POLICY, type Deployment, type DeploymentInput } from '../../protocol/index.js'
import { validateManifestValue } from '../../protocol/manifest-parse.js'
import { type ConvertOptions, type ServiceContext, type ServiceDraft, isRecord, shoalName } from './draft.js'
import { interpolate } from './interpolate.js'
import { type ConvertNote, NoteTaker } from './notes.js'
import { NO_EQUIVALENT_REASON } from './placement.js'
import { SERVICE_KEYS } from './service.js'
import { joinSharedNetworks } from './shared-network.js'
import { type ComposeSource, readCompose } from './source.js'

export type { ConvertOptions } from './draft.js'

/** One service's Deployment as written (no defaults filled in), valid by the manifest schema, and where the service is in the file. */
export interface ConvertedService {
  readonly service: string
  readonly line: number | undefined
  readonly manifest: DeploymentInput
}

export interface ConvertResult {
  readonly deployments: readonly ConvertedService[]
  /** What was not mapped, and the choices made, by line in the file. */
  readonly notes: readonly ConvertNote[]
}

/** Top-level keys that say nothing about what runs. */
const IGNORED_TOP_LEVEL = new Set(['version', 'name', 'services'])

const TOP_LEVEL_REASONS: Readonly<Record<string, string>> = {
  networks: "Shoal has no user-defined networks: a copy uses the host's network, a bridge, or none",
  volumes: 'the agent makes a plain local volume per node and name (shoal-NODE-NAME); drivers, options and existing volumes are not used',
  secrets: 'make a Secret (shoal create secret NAME --from-file) and mount it with volumes: [{ secret: NAME, path }]',
  configs: 'make a Config (shoal create config NAME --from-file) and mount it with volumes: [{ config: NAME, path }]',
  include: 'included files are not read; convert each of them',
}

/**
 * A compose file's services as Shoal Deployments, one per service, each valid by the manifest
 * schema, with a note for everything that could not be carried over. Pure: the caller reads the
 * file and says where relative paths start. Throws ComposeReadError when the text is not a
 * compose file.
 */
export function convertCompose(text: string, file: string, options: ConvertOptions): ConvertResult {
  const source = readCompose(text, file)
  const topNotes = new NoteTaker([], source.lineOf)
  const top = interpolate(source.value, options.variables ?? {}, topNotes) as Record<string, unknown>
  for (const [key, value] of Object.entries(top)) {
    if (IGNORED_TOP_LEVEL.has(key) || key.startsWith('x-')) continue
    if (key === 'volumes' && isRecord(value)) {
      for (const [volume, declaration] of Object.entries(value)) {
        for (const setting of isRecord(declaration) ? Object.keys(declaration) : [])
          topNotes.notMapped(['volumes', volume, setting], TOP_LEVEL_REASONS.volumes as string)
      }
      continue
    }
    topNotes.notMapped([key], TOP_LEVEL_REASONS[key] ?? NO_EQUIVALENT_REASON)
  }
  const separate: ConvertedService[] = []
  const notes: ConvertNote[] = []
  const taken = new Set<string>()
  const joins = new Map<string, string>()
  let onHostByDefault = 0
  for (const [name, service] of Object.entries(top.services as Record<string, unknown>)) {
    const converted = convertService(name, service, source, options, taken)
    notes.push(...converted.notes)
    if (converted.deployment) {
      separate.push({ service: name, line: source.lineOf(['services', name]), manifest: converted.deployment })
      taken.add(converted.deployment.metadata.name)
      if (converted.sharesNetworkOf !== undefined) joins.set(name, converted.sharesNetworkOf)
      else if (converted.onHostByDefault) onHostByDefault++
    }
  }
  const joinNotes: NoteTaker[] = []
  const lines = new Map(separate.map((s) => [s.service, s.line]))
  const deployments = joinSharedNetworks(separate, joins, (service) => {
    const taker = new NoteTaker(['services', service], source.lineOf)
    joinNotes.push(taker)
    return taker
  }).map((c) => ({ ...c, line: lines.get(c.service) }))
  notes.push(...joinNotes.flatMap((taker) => taker.notes))
  if (onHostByDefault > 0)
    topNotes.note(
      ['services'],
      `${onHostByDefault} ${onHostByDefault === 1 ? 'service' : 'services'} without ports or network_mode ${onHostByDefault === 1 ? 'uses' : 'use'} Shoal's default, the host's network: compose's project network, where services find each other by name, has no Shoal equivalent`,
    )
  const all = [...topNotes.notes, ...notes]
  // In the order of the file, so the list reads top to bottom (sort is stable: same line, order found).
  all.sort((a, b) => (a.line ?? Number.MAX_SAFE_INTEGER) - (b.line ?? Number.MAX_SAFE_INTEGER))
  return { deployments, notes: all }
}

interface ServiceResult {
  readonly deployment?: DeploymentInput
  readonly notes: readonly ConvertNote[]
  readonly onHostByDefault?: boolean
  /** `network_mode: service:NAME`: joined to NAME's copy once every service is converted. */
  readonly sharesNetworkOf?: string
}

function convertService(name: string, service: unknown, source: ComposeSource, options: ConvertOptions, taken: ReadonlySet<string>): ServiceResult {
  const notes = new NoteTaker(['services', name], source.lineOf)
  if (!isRecord(service)) {
    notes.notMapped([], 'a service must be a mapping with image')
    return { notes: notes.notes }
  }
  if (service.image === undefined) {
    notes.notMapped(
      service.build === undefined ? [] : ['build'],
      service.build === undefined
        ? 'a service needs an image'
        : 'Shoal runs images from a registry and does not build them; build and push the image, then set image:',
    )
    return { notes: notes.notes }
  }
  const draft: ServiceDraft = { name: uniqueName(name, taken), labels: {}, matchLabels: {}, matchExpressions: [], template: {} }
  if (draft.name !== name) notes.note([], `named ${draft.name} (a Shoal name)`)
  const ctx: ServiceContext = { name, service, draft, notes, options }
  for (const [key, value] of Object.entries(service)) {
    if (key.startsWith('x-')) continue
    const step = Object.hasOwn(SERVICE_KEYS, key) ? SERVICE_KEYS[key as keyof typeof SERVICE_KEYS] : undefined
    if (step) step(value, ctx, key)
    else notes.notMapped([key], NO_EQUIVALENT_REASON)
  }
  const onHostByDefault = settleNetwork(ctx)
  const valid = checked(assemble(draft), notes)
  if (!valid) return { notes: notes.notes }
  const { deployment, parsed } = valid
  const refusals = copyPolicyRefusals(parsed.spec.template, DEFAULT_NODE_POLICY)
  if (refusals.length > 0) notes.note([], `a node with the default policy refuses it (${refusals.join('; ')}); its operator can allow more (docs/agent.md)`)
  return { deployment, notes: notes.notes, onHostByDefault, ...(draft.sharesNetworkOf !== undefined ? { sharesNetworkOf: draft.sharesNetworkOf } : {}) }
}

/** The service name made a Shoal name, with -2, -3 ... when two services end up with the same one. */
function uniqueName(service: string, taken: ReadonlySet<string>): string {
  const base = shoalName(service)
  if (!taken.has(base)) return base
  for (let n = 2; ; n++) {
    const suffix = `-${n}`
    const name = `${base.slice(0, 63 - suffix.length).replace(/-+$/, '')}${suffix}`
    if (!taken.has(name)) return name
  }
}

/**
 * Ports mean something only on a bridge: a service that publishes ports and says nothing about
 * its network gets one. Published ports with network_mode host or none are dropped, as Docker
 * ignores them. Returns true when the service is left on Shoal's default host network.
 */
function settleNetwork(ctx: ServiceContext): boolean {
  const { draft } = ctx
  const ports = draft.template.ports ?? []
  if (draft.networkMode === undefined) {
    if (ports.length === 0) return true
    draft.template.network = 'bridge'
    ctx.notes.note(['ports'], "network: bridge, so that these ports are published (Shoal's default is the host's network; write network_mode: host for that)")
    return false
  }
  draft.template.network = draft.networkMode
  if (draft.networkMode !== 'bridge' && ports.length > 0) {
    delete draft.template.ports
    ctx.notes.notMapped(['ports'], `published ports mean nothing with network_mode: ${draft.networkMode}`)
  }
  return false
}

/** The draft as a Deployment manifest, fields in the order docs/manifest.md lists them. */
function assemble(draft: ServiceDraft): DeploymentInput {
  const { template } = draft
  const order = [
    'image',
    'command',
    'args',
    'env',
    'network',
    'ports',
    'volumes',
    'devices',
    'tmpfs',
    'securityContext',
    'resources',
    'restartPolicy',
    'healthCheck',
    'logs',
    'stopGracePeriod',
    'stopSignal',
  ] as const
  const ordered: Record<string, unknown> = {}
  for (const key of order) if (template[key] !== undefined) ordered[key] = template[key]
  const selector = {
    ...(Object.keys(draft.matchLabels).length > 0 ? { matchLabels: draft.matchLabels } : {}),
    ...(draft.matchExpressions.length > 0 ? { matchExpressions: draft.matchExpressions } : {}),
  }
  return {
    apiVersion: API_VERSION,
    kind: 'Deployment',
    metadata: { name: draft.name, ...(Object.keys(draft.labels).length > 0 ? { labels: draft.labels } : {}) },
    spec: {
      ...(draft.everyNode ? { mode: 'every-node' } : { replicas: draft.replicas ?? 1 }),
      ...(Object.keys(selector).length > 0 ? { selector } : {}),
      ...(draft.arch ? { requires: { arch: draft.arch } } : {}),
      template: ordered as DeploymentInput['spec']['template'],
    },
  }
}

/**
 * The manifest schema is the last word: a template field it refuses is dropped and listed (the
 * steps above check what they write, so this is a safety net); a manifest it still refuses is
 * left out. What is printed therefore always passes shoal validate.
 */
function checked(candidate: DeploymentInput, notes: NoteTaker): { deployment: DeploymentInput; parsed: Deployment } | undefined {
  let manifest = candidate
  let reason = ''
  for (let attempt = 0; attempt < 20; attempt++) {
    const result = validateManifestValue(manifest)
    if ('manifest' in result) return result.manifest.kind === 'Deployment' ? { deployment: manifest, parsed: result.manifest } : undefined
    const issue = result.issues[0]
    reason = issue ? `${issue.path}: ${issue.message}` : 'invalid'
    const field = issue?.segments?.[0] === 'spec' && issue.segments[1] === 'template' ? issue.segments[2] : undefined
    if (typeof field !== 'string' || field === 'image') break
    notes.notMapped([], `template.${field}: ${issue?.message ?? 'invalid'}`)
    const { [field as keyof typeof manifest.spec.template]: _dropped, ...rest } = manifest.spec.template
    manifest = { ...manifest, spec: { ...manifest.spec, template: rest as DeploymentInput['spec']['template'] } }
  }
  notes.notMapped([], `it does not make a valid Deployment (${reason}) and is left out`)
  return undefined
}

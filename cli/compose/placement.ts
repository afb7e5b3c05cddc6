import { Arch, CpuQuantity, LabelKey, LabelValue, MemoryQuantity } from '../../protocol/index.js'
import { type ServiceContext, isRecord, scalarText, stringList } from './draft.js'
import { mapRestartCondition } from './lifecycle.js'
import { composeBytes, shoalBytes } from './units.js'

// Where and how big: replicas and mode, resource limits, placement, labels and platform.

/** Keys Docker has and the template does not, with the reason in a word. */
export const NO_EQUIVALENT_REASON = 'Shoal has no equivalent'

export function hasLimit(ctx: ServiceContext, key: 'memory' | 'cpus'): boolean {
  const deploy = ctx.service.deploy
  const limits = isRecord(deploy) && isRecord(deploy.resources) && isRecord(deploy.resources.limits) ? deploy.resources.limits : {}
  return limits[key] !== undefined
}

export function memory(value: unknown, ctx: ServiceContext, at: (string | number)[]): void {
  const bytes = composeBytes(value, 1024)
  const quantity = bytes === null ? null : shoalBytes(bytes, 1024)
  if (quantity === null || !MemoryQuantity.safeParse(quantity).success) return ctx.notes.notMapped(at, `${JSON.stringify(value)} is not a size such as 512m`)
  ctx.draft.template.resources = { ...ctx.draft.template.resources, memory: quantity }
}

export function cpus(value: unknown, ctx: ServiceContext, at: (string | number)[]): void {
  const cores = typeof value === 'string' ? Number(value) : value
  if (typeof cores !== 'number' || !CpuQuantity.safeParse(cores).success || Number.isNaN(cores))
    return ctx.notes.notMapped(at, `${JSON.stringify(value)} is not a number of CPUs such as 0.5`)
  ctx.draft.template.resources = { ...ctx.draft.template.resources, cpu: cores }
}

export function replicas(value: unknown, ctx: ServiceContext, at: (string | number)[]): void {
  const count = Number(value)
  if (!Number.isInteger(count) || count < 0 || count > 10_000) return ctx.notes.notMapped(at, 'must be a whole number from 0 to 10000')
  ctx.draft.replicas = count
}

/** Labels as a mapping or a list of key=value; those that are not valid Shoal labels are listed. */
export function labels(value: unknown, ctx: ServiceContext, at: (string | number)[]): void {
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
export function platformArch(text: string): Arch | null {
  const [os, arch = ''] = text.includes('/') ? text.split('/') : ['linux', text]
  if (os !== 'linux') return null
  const parsed = Arch.safeParse(PLATFORM_ARCH[arch] ?? arch)
  return parsed.success ? parsed.data : null
}

/** `deploy:` replicas and mode, resource limits (and a GPU reservation), restart policy, placement by node label. */
export function mapDeploy(value: unknown, ctx: ServiceContext): void {
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

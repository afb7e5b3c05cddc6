import os from 'node:os'
import { Inventory } from '../protocol/inventory.js'
import type { Arch } from '../protocol/primitives.js'
import { procFactSource } from './proc-fact-source.js'
import { dockerEndpoint, type DockerEndpoint } from './runtime/docker-engine-client.js'

/**
 * What the agent learns about its machine, once at start-up. Any probe (a file
 * on a hung mount, the Docker socket, nvidia-smi) can hang on a sick machine,
 * so every call is bounded and falls back to what node:os knows or to
 * "unknown": an agent that starts with a thin inventory beats one that never
 * starts.
 */

export class UnsupportedArchError extends Error {
  readonly code = 'unsupported-arch'
  constructor(readonly nodeArch: string) {
    super(`this machine's architecture ${JSON.stringify(nodeArch)} is not one Shoal supports (amd64, arm64, arm, riscv64, 386, ppc64le, s390x)`)
    this.name = 'UnsupportedArchError'
  }
}

/** Node's and the kernel's names for an architecture, mapped to ours (the names container images use). */
const ARCH_NAMES: Readonly<Record<string, Arch>> = {
  x64: 'amd64',
  x86_64: 'amd64',
  amd64: 'amd64',
  arm64: 'arm64',
  aarch64: 'arm64',
  arm: 'arm',
  armv7l: 'arm',
  armv6l: 'arm',
  armhf: 'arm',
  riscv64: 'riscv64',
  ia32: '386',
  x86: '386',
  i386: '386',
  i686: '386',
  // Node says ppc64 for both endiannesses; Linux on POWER today is little-endian.
  ppc64: 'ppc64le',
  ppc64le: 'ppc64le',
  s390x: 's390x',
}

export function mapArch(nodeArch: string): Arch {
  const arch = ARCH_NAMES[nodeArch.toLowerCase()]
  if (!arch) throw new UnsupportedArchError(nodeArch)
  return arch
}

/** The raw facts the kernel (or systeminformation) and the device tree give; every part may be missing after a timeout. */
export interface MachineFacts {
  readonly nodeArch: string
  readonly hostname: string
  readonly nodeCpus: ReadonlyArray<{ readonly model: string; readonly speed: number }>
  readonly nodeTotalMemory: number
  readonly nodePlatform: string
  readonly nodeRelease: string
  readonly osInfo?: { readonly platform: string; readonly distro: string; readonly release: string; readonly kernel: string }
  readonly cpu?: { readonly manufacturer: string; readonly brand: string; readonly cores: number; readonly speed: number }
  readonly memoryTotal?: number
  readonly system?: { readonly manufacturer: string; readonly model: string }
  readonly deviceTreeModel?: string
  readonly deviceTreeCompatible?: string
  readonly graphics?: ReadonlyArray<{ readonly vendor: string; readonly model: string; readonly vram: number | null }>
  readonly filesystems?: ReadonlyArray<{ readonly mount: string; readonly size: number; readonly type: string }>
  readonly dockerVersion?: string
}

/** Where facts come from; injectable so tests can simulate a hanging lspci. */
export interface FactSource {
  osInfo(): Promise<NonNullable<MachineFacts['osInfo']>>
  cpu(): Promise<NonNullable<MachineFacts['cpu']>>
  memoryTotal(): Promise<number>
  system(): Promise<NonNullable<MachineFacts['system']>>
  graphics(): Promise<NonNullable<MachineFacts['graphics']>>
  filesystems(): Promise<NonNullable<MachineFacts['filesystems']>>
  dockerVersion(): Promise<string | undefined>
  /** A file under /proc/device-tree (ARM boards name themselves there), or undefined. */
  deviceTree(name: 'model' | 'compatible'): Promise<string | undefined>
}

/**
 * On Linux, the kernel's own files (no shells spawned, no systeminformation in memory);
 * elsewhere (an operator's Mac running `shoal profiles match`), systeminformation.
 */
export async function platformFactSource(docker: DockerEndpoint = dockerEndpoint(undefined)): Promise<FactSource> {
  if (process.platform === 'linux') return procFactSource({ docker })
  return (await import('./si-fact-source.js')).systemFactSource
}

export interface CollectOptions {
  /** Longest any one probe may take; they run in parallel, so this bounds the whole collection. */
  readonly timeoutMs?: number
  readonly source?: FactSource
  /** Told about each probe that failed or timed out. */
  readonly onProbeFailed?: (probe: string, reason: string) => void
}

export async function collectInventory(options: CollectOptions = {}): Promise<Inventory> {
  const { timeoutMs = 4000, onProbeFailed } = options
  const source = options.source ?? (await platformFactSource())
  const probe = <T>(name: string, run: () => Promise<T>): Promise<T | undefined> => bounded(name, run, timeoutMs, onProbeFailed)

  const [osInfo, cpu, memoryTotal, system, graphics, filesystems, dockerVersion, deviceTreeModel, deviceTreeCompatible] = await Promise.all([
    probe('osInfo', () => source.osInfo()),
    probe('cpu', () => source.cpu()),
    probe('mem', () => source.memoryTotal()),
    probe('system', () => source.system()),
    probe('graphics', () => source.graphics()),
    probe('fsSize', () => source.filesystems()),
    probe('dockerInfo', () => source.dockerVersion()),
    probe('device-tree model', () => source.deviceTree('model')),
    probe('device-tree compatible', () => source.deviceTree('compatible')),
  ])

  return buildInventory({
    nodeArch: os.arch(),
    hostname: os.hostname(),
    nodeCpus: os.cpus(),
    nodeTotalMemory: os.totalmem(),
    nodePlatform: os.platform(),
    nodeRelease: os.release(),
    ...defined({ osInfo, cpu, memoryTotal, system, graphics, filesystems, dockerVersion, deviceTreeModel, deviceTreeCompatible }),
  })
}

/** Turns raw facts into a schema-valid Inventory: maps names, drops placeholders, truncates, bounds lists. */
export function buildInventory(facts: MachineFacts): Inventory {
  const cpuModel = clip(`${facts.cpu?.manufacturer ?? ''} ${facts.cpu?.brand ?? ''}`, 200) || clip(facts.nodeCpus[0]?.model ?? '', 200)
  const siSpeed = facts.cpu?.speed ?? 0
  const nodeSpeed = (facts.nodeCpus[0]?.speed ?? 0) / 1000
  const speedGHz = siSpeed > 0 ? siSpeed : nodeSpeed > 0 ? nodeSpeed : undefined
  const cores = positiveInt(facts.cpu?.cores) ?? positiveInt(facts.nodeCpus.length) ?? 1

  const inventory: Inventory = {
    hostname: clip(facts.hostname, 253),
    arch: mapArch(facts.nodeArch),
    cpu: { model: cpuModel || 'unknown', cores, ...(speedGHz === undefined ? {} : { speedGHz: Math.round(speedGHz * 100) / 100 }) },
    memoryBytes: positiveInt(facts.memoryTotal) ?? Math.max(0, Math.floor(facts.nodeTotalMemory)),
    disks: disks(facts.filesystems ?? []),
    os: {
      platform: clip(facts.osInfo?.platform || facts.nodePlatform, 64),
      distro: clip(facts.osInfo?.distro || 'unknown', 128),
      release: clip(facts.osInfo?.release || 'unknown', 128),
      kernel: clip(facts.osInfo?.kernel || facts.nodeRelease, 128),
    },
    hardware: hardware(facts),
    gpus: gpus(facts),
    runtime: facts.dockerVersion ? { name: 'docker', version: clip(facts.dockerVersion, 64) } : null,
  }
  // A mapping bug must fail here, at the edge, not later at the hub.
  return Inventory.parse(inventory)
}

// DMI fields that vendors leave at the BIOS template's default say nothing about the machine.
const PLACEHOLDERS = new Set([
  '',
  '-',
  'none',
  'n/a',
  'default string',
  'not specified',
  'not applicable',
  'to be filled by o.e.m.',
  'o.e.m.',
  'system manufacturer',
  'system product name',
  'unknown',
])

function hardware(facts: MachineFacts): Inventory['hardware'] {
  const manufacturer = meaningful(facts.system?.manufacturer)
  // The device tree names ARM boards precisely ("Raspberry Pi 4 Model B Rev 1.4"); DMI names PCs.
  const model = meaningful(facts.deviceTreeModel) ?? meaningful(facts.system?.model)
  return { ...(manufacturer ? { manufacturer } : {}), ...(model ? { model } : {}) }
}

function meaningful(value: string | undefined): string | undefined {
  const text = clip(value ?? '', 200)
  return PLACEHOLDERS.has(text.toLowerCase()) ? undefined : text
}

function gpus(facts: MachineFacts): Inventory['gpus'] {
  const listed = (facts.graphics ?? [])
    .filter((gpu) => gpu.vendor.trim() || gpu.model.trim())
    .map((gpu) => ({
      vendor: clip(gpu.vendor, 200) || 'unknown',
      model: clip(gpu.model, 200) || 'unknown',
      ...(gpu.vram && gpu.vram > 0 ? { memoryBytes: Math.round(gpu.vram * 1024 * 1024) } : {}),
    }))
  // Jetson GPUs are integrated, not on PCI: lspci never lists them, the device tree does.
  const tegra = /nvidia,(tegra\d+)/.exec(facts.deviceTreeCompatible ?? '')?.[1]
  if (tegra && !listed.some((gpu) => /nvidia/i.test(gpu.vendor))) listed.push({ vendor: 'NVIDIA', model: `${tegra} integrated GPU` })
  return listed.slice(0, 32)
}

// Container layers and snaps are mounts too, but not disks an operator means.
const HIDDEN_MOUNTS = /^\/(var\/lib\/(docker|containerd)|run\/(containerd|docker)|snap)\//

function disks(filesystems: NonNullable<MachineFacts['filesystems']>): Inventory['disks'] {
  const seen = new Set<string>()
  const result: Array<Inventory['disks'][number]> = []
  for (const fs of filesystems) {
    if (!fs.mount.startsWith('/') || HIDDEN_MOUNTS.test(fs.mount) || seen.has(fs.mount)) continue
    const sizeBytes = positiveInt(fs.size)
    if (sizeBytes === undefined) continue
    seen.add(fs.mount)
    const type = clip(fs.type, 64)
    result.push({ mount: clip(fs.mount, 4096), sizeBytes, ...(type ? { type } : {}) })
    if (result.length === 64) break
  }
  return result
}

/** Trims, drops NULs and control characters (device-tree strings end in \0) and cuts to `max`. */
function clip(value: string, max: number): string {
  // eslint-disable-next-line no-control-regex
  return value
    .replace(/[\u0000-\u001f\u007f]+/g, ' ')
    .trim()
    .replace(/\s+/g, ' ')
    .slice(0, max)
    .trim()
}

function positiveInt(value: number | undefined): number | undefined {
  return value !== undefined && Number.isFinite(value) && value >= 1 ? Math.floor(value) : undefined
}

function defined<T extends Record<string, unknown>>(record: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(record).filter(([, value]) => value !== undefined)) as {
    [K in keyof T]?: Exclude<T[K], undefined>
  }
}

const TIMED_OUT = Symbol('timed out')

/** Resolves to undefined when `run` fails or outlives `ms`; the timer is cleared as soon as `run` settles. */
async function bounded<T>(name: string, run: () => Promise<T>, ms: number, onFailed: CollectOptions['onProbeFailed']): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(() => resolve(TIMED_OUT), ms)
  })
  try {
    const outcome = await Promise.race([run(), timeout])
    if (outcome === TIMED_OUT) {
      onFailed?.(name, `no answer within ${ms} ms`)
      return undefined
    }
    return outcome
  } catch (error) {
    onFailed?.(name, error instanceof Error ? error.message : String(error))
    return undefined
  } finally {
    clearTimeout(timer)
  }
}

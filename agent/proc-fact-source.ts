import { execFile } from 'node:child_process'
import { readdir, readFile, statfs } from 'node:fs/promises'
import os from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import type { FactSource, MachineFacts } from './inventory.js'
import { DockerEngineClient, type DockerEndpoint } from './runtime/docker-engine-client.js'

/**
 * The machine's facts read from Linux's own files (/proc, /sys, /etc/os-release) and the Docker
 * socket, with no shell spawned: systeminformation cost the agent 4-10 MiB of resident memory for
 * good and a burst of child processes at every start, for facts the kernel already publishes.
 * Only `nvidia-smi` is run, and only where an NVIDIA display device is on the PCI bus.
 * `root` lets a test point it at a fake tree of the same files.
 */
export interface ProcFactOptions {
  readonly root?: string
  readonly docker: DockerEndpoint
  /** Runs nvidia-smi's query; injectable because the machines that run the tests have no NVIDIA GPU. */
  readonly nvidiaSmi?: () => Promise<string>
}

const execFileAsync = promisify(execFile)

const runNvidiaSmi = async (): Promise<string> =>
  (await execFileAsync('nvidia-smi', ['--query-gpu=name,memory.total', '--format=csv,noheader,nounits'], { timeout: 3000 })).stdout

export function procFactSource(options: ProcFactOptions): FactSource {
  const root = options.root ?? '/'
  const read = (path: string): Promise<string> => readFile(join(root, path), 'utf8')
  const readOptional = async (path: string): Promise<string | undefined> => {
    try {
      return await read(path)
    } catch {
      return undefined
    }
  }
  return {
    osInfo: async () => ({ ...osRelease(await read('etc/os-release')), platform: os.platform(), kernel: os.release() }),
    cpu: async () => cpuInfo(await read('proc/cpuinfo'), os.cpus()),
    memoryTotal: async () => os.totalmem(),
    system: async () => ({
      manufacturer: (await readOptional('sys/class/dmi/id/sys_vendor'))?.trim() ?? '',
      model: (await readOptional('sys/class/dmi/id/product_name'))?.trim() ?? '',
    }),
    graphics: () => displayControllers(root, options.nvidiaSmi ?? runNvidiaSmi),
    filesystems: async () => mountedFilesystems(await read('proc/self/mountinfo'), (mount) => statfs(join(root, mount))),
    dockerVersion: async () => (await new DockerEngineClient({ endpoint: options.docker, timeoutMs: 3000 }).version()).Version || undefined,
    deviceTree: (name) => readOptional(`proc/device-tree/${name}`),
  }
}

/** `NAME` and `VERSION_ID` of os-release(5), quotes removed. */
export function osRelease(text: string): { distro: string; release: string } {
  const fields = new Map<string, string>()
  for (const line of text.split('\n')) {
    const match = /^([A-Z_]+)=(.*)$/.exec(line.trim())
    if (match?.[1] && match[2] !== undefined) fields.set(match[1], match[2].replace(/^(["'])(.*)\1$/, '$2'))
  }
  return { distro: fields.get('NAME') ?? '', release: fields.get('VERSION_ID') ?? fields.get('VERSION') ?? '' }
}

const VENDORS: Readonly<Record<string, string>> = { GenuineIntel: 'Intel', AuthenticAMD: 'AMD', HygonGenuine: 'Hygon', CentaurHauls: 'VIA' }

// The "CPU implementer" codes ARM publishes; the part names below are the common Cortex cores.
const ARM_IMPLEMENTERS: Readonly<Record<string, string>> = {
  '0x41': 'ARM',
  '0x42': 'Broadcom',
  '0x43': 'Cavium',
  '0x4e': 'NVIDIA',
  '0x51': 'Qualcomm',
  '0x61': 'Apple',
}
const ARM_PARTS: Readonly<Record<string, string>> = {
  '0xb76': 'ARM1176',
  '0xc07': 'Cortex-A7',
  '0xc08': 'Cortex-A8',
  '0xc09': 'Cortex-A9',
  '0xc0f': 'Cortex-A15',
  '0xd03': 'Cortex-A53',
  '0xd04': 'Cortex-A35',
  '0xd05': 'Cortex-A55',
  '0xd07': 'Cortex-A57',
  '0xd08': 'Cortex-A72',
  '0xd09': 'Cortex-A73',
  '0xd0a': 'Cortex-A75',
  '0xd0b': 'Cortex-A76',
  '0xd0c': 'Neoverse-N1',
  '0xd41': 'Cortex-A78',
  '0xd42': 'Cortex-A78AE',
  '0xd46': 'Cortex-A510',
  '0xd47': 'Cortex-A710',
  '0xd4f': 'Neoverse-V2',
}

/** Manufacturer and model of the first CPU in /proc/cpuinfo (x86 names it; ARM gives codes; RISC-V its ISA). */
export function cpuInfo(text: string, nodeCpus: ReadonlyArray<{ readonly speed: number }>): NonNullable<MachineFacts['cpu']> {
  const first = new Map<string, string>()
  for (const line of text.split('\n')) {
    const match = /^([^:]+?)\s*:\s*(.*)$/.exec(line)
    if (!match?.[1]) {
      if (first.size > 0 && line.trim() === '') break
      continue
    }
    if (!first.has(match[1])) first.set(match[1], (match[2] ?? '').trim())
  }
  const vendorId = first.get('vendor_id')
  const modelName = first.get('model name') ?? first.get('Processor') ?? first.get('cpu model') ?? ''
  const implementer = first.get('CPU implementer')?.toLowerCase()
  const part = first.get('CPU part')?.toLowerCase()
  let manufacturer = vendorId ? (VENDORS[vendorId] ?? vendorId) : implementer ? (ARM_IMPLEMENTERS[implementer] ?? '') : ''
  let brand = modelName
  if (implementer && part && ARM_PARTS[part]) brand = ARM_PARTS[part]
  else if (!brand && first.get('isa')) brand = `RISC-V ${first.get('isa')}`
  if (!manufacturer && first.get('uarch')) manufacturer = first.get('uarch')?.split(',')[0] ?? ''
  // "Intel(R) Core(TM) i7-8550U CPU @ 1.80GHz" → "Core i7-8550U": the maker is its own field.
  brand = brand
    .replace(/\((R|TM|C)\)/gi, '')
    .replace(/\s*CPU\s*@.*$/, '')
    .replace(new RegExp(`^${escapeRegex(manufacturer)}\\s+`, 'i'), '')
    .replace(/\s+/g, ' ')
    .trim()
  const mhz = Number(first.get('cpu MHz')) || nodeCpus[0]?.speed || 0
  return { manufacturer, brand, cores: nodeCpus.length, speed: Math.round(mhz / 10) / 100 }
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

// Filesystems that are views of memory or of the kernel, not disks; and network shares, which
// are someone else's disks and whose statfs can hang.
const PSEUDO_FILESYSTEMS = new Set([
  'cifs',
  'fuse.sshfs',
  'nfs',
  'nfs4',
  'smb3',
  'autofs',
  'binfmt_misc',
  'bpf',
  'cgroup',
  'cgroup2',
  'configfs',
  'debugfs',
  'devpts',
  'devtmpfs',
  'efivarfs',
  'fusectl',
  'hugetlbfs',
  'mqueue',
  'nsfs',
  'proc',
  'pstore',
  'ramfs',
  'rpc_pipefs',
  'securityfs',
  'squashfs',
  'sysfs',
  'tmpfs',
  'tracefs',
])

/**
 * Real filesystems from /proc/self/mountinfo, each sized by statfs: one entry per device (the
 * first mount of it), so bind mounts of the same disk (/var/lib/docker, /run/netns) are not
 * counted again.
 */
export async function mountedFilesystems(
  mountinfoText: string,
  stat: (mount: string) => Promise<{ blocks: number; bsize: number }>,
): Promise<NonNullable<MachineFacts['filesystems']>> {
  const result: Array<NonNullable<MachineFacts['filesystems']>[number]> = []
  const devices = new Set<string>()
  for (const line of mountinfoText.split('\n')) {
    // id parent major:minor root mount-point options [optional fields...] - type source super-options
    const [before, after] = line.split(' - ')
    const fields = before?.split(' ') ?? []
    const device = fields[2]
    const rawMount = fields[4]
    const type = after?.split(' ')[0]
    if (!device || !rawMount || !type || PSEUDO_FILESYSTEMS.has(type) || devices.has(device)) continue
    // mountinfo escapes spaces, tabs, newlines and backslashes in octal.
    const mount = rawMount.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)))
    try {
      const stats = await stat(mount)
      devices.add(device)
      result.push({ mount, size: stats.blocks * stats.bsize, type })
    } catch {
      // A mount we may not stat (another namespace's, a hung network share) is skipped.
    }
  }
  return result
}

const PCI_VENDORS: Readonly<Record<string, string>> = {
  '0x10de': 'NVIDIA',
  '0x1002': 'AMD',
  '0x8086': 'Intel',
  '0x1a03': 'ASPEED',
  '0x15ad': 'VMware',
  '0x1234': 'QEMU',
}

/** Display controllers on the PCI bus (class 0x03xxxx), named by nvidia-smi where it answers. */
async function displayControllers(root: string, nvidiaSmi: () => Promise<string>): Promise<NonNullable<MachineFacts['graphics']>> {
  const base = join(root, 'sys/bus/pci/devices')
  let devices: string[]
  try {
    devices = await readdir(base)
  } catch {
    return []
  }
  const found: Array<{ vendor: string; device: string }> = []
  for (const device of devices.sort()) {
    try {
      const pciClass = (await readFile(join(base, device, 'class'), 'utf8')).trim()
      if (!pciClass.startsWith('0x03')) continue
      const vendor = (await readFile(join(base, device, 'vendor'), 'utf8')).trim().toLowerCase()
      const id = (await readFile(join(base, device, 'device'), 'utf8')).trim().toLowerCase()
      found.push({ vendor, device: id })
    } catch {
      // A device that vanished or hides its files is not one we can describe.
    }
  }
  const nvidia = found.some((gpu) => gpu.vendor === '0x10de') ? await nvidiaNames(nvidiaSmi) : []
  let nvidiaIndex = 0
  return found.map((gpu) => {
    const named = gpu.vendor === '0x10de' ? nvidia[nvidiaIndex++] : undefined
    return {
      vendor: PCI_VENDORS[gpu.vendor] ?? `PCI vendor ${gpu.vendor}`,
      model: named?.model ?? `PCI device ${gpu.device}`,
      vram: named?.vramMiB ?? null,
    }
  })
}

/** nvidia-smi's CSV (`name, memory.total` in MiB), one line per GPU; empty when it is missing or fails. */
async function nvidiaNames(nvidiaSmi: () => Promise<string>): Promise<Array<{ model: string; vramMiB: number | null }>> {
  try {
    return parseNvidiaSmi(await nvidiaSmi())
  } catch {
    return []
  }
}

export function parseNvidiaSmi(csv: string): Array<{ model: string; vramMiB: number | null }> {
  return csv
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .map((line) => {
      const comma = line.lastIndexOf(',')
      const model = (comma < 0 ? line : line.slice(0, comma)).trim()
      const vram = comma < 0 ? Number.NaN : Number(line.slice(comma + 1).trim())
      return { model, vramMiB: Number.isFinite(vram) && vram > 0 ? vram : null }
    })
}

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { dirname, join } from 'node:path'
import t from 'tap'
import { buildInventory, collectInventory } from '../../agent/inventory.js'
import { cpuInfo, mountedFilesystems, osRelease, parseNvidiaSmi, procFactSource } from '../../agent/proc-fact-source.js'
import { dockerEndpoint } from '../../agent/runtime/docker-engine-client.js'
import { Inventory } from '../../protocol/inventory.js'

const NO_DOCKER = { socketPath: '/nonexistent/docker.sock' }

/** A fake root holding the files the source reads, as the kernel writes them. */
function fakeRoot(t: { teardown(fn: () => unknown): void }, files: Record<string, string>): string {
  const root = mkdtempSync(join(os.tmpdir(), 'shoal-proc-'))
  t.teardown(() => rmSync(root, { recursive: true, force: true }))
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true })
    writeFileSync(join(root, path), text)
  }
  return root
}

const PI4_CPUINFO = `processor\t: 0
BogoMIPS\t: 108.00
Features\t: fp asimd evtstrm crc32 cpuid
CPU implementer\t: 0x41
CPU architecture: 8
CPU variant\t: 0x0
CPU part\t: 0xd08
CPU revision\t: 3

processor\t: 1
CPU implementer\t: 0x41
CPU part\t: 0xd08

Hardware\t: BCM2835
Revision\t: c03114
Model\t\t: Raspberry Pi 4 Model B Rev 1.4
`

const INTEL_CPUINFO = `processor\t: 0
vendor_id\t: GenuineIntel
cpu family\t: 6
model name\t: Intel(R) Core(TM) i7-8550U CPU @ 1.80GHz
cpu MHz\t\t: 1992.000

processor\t: 1
vendor_id\t: GenuineIntel
model name\t: Intel(R) Core(TM) i7-8550U CPU @ 1.80GHz
`

const RISCV_CPUINFO = `processor\t: 0
hart\t\t: 0
isa\t\t: rv64imafdc
mmu\t\t: sv39
uarch\t\t: sifive,u74-mc
`

t.test('cpuinfo: x86 names its maker and model, ARM gives codes, RISC-V its ISA', async (t) => {
  t.same(cpuInfo(INTEL_CPUINFO, [{ speed: 1800 }, { speed: 1800 }]), { manufacturer: 'Intel', brand: 'Core i7-8550U', cores: 2, speed: 1.99 })
  t.same(cpuInfo(PI4_CPUINFO, [{ speed: 1800 }, { speed: 1800 }, { speed: 1800 }, { speed: 1800 }]), {
    manufacturer: 'ARM',
    brand: 'Cortex-A72',
    cores: 4,
    speed: 1.8,
  })
  t.same(cpuInfo(RISCV_CPUINFO, [{ speed: 0 }]), { manufacturer: 'sifive', brand: 'RISC-V rv64imafdc', cores: 1, speed: 0 })
  t.same(cpuInfo('', []), { manufacturer: '', brand: '', cores: 0, speed: 0 }, 'an empty file gives nothing, and buildInventory falls back to node:os')
  t.same(cpuInfo('vendor_id\t: SomeNewVendor\nmodel name\t: SomeNewVendor X1\n', [{ speed: 0 }]).brand, 'X1')
})

t.test('os-release: NAME and VERSION_ID, quoted or not', async (t) => {
  t.same(osRelease('PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\n'), { distro: 'Debian GNU/Linux', release: '12' })
  t.same(osRelease("NAME=Alpine Linux\nID=alpine\nVERSION_ID='3.20.3'\n"), { distro: 'Alpine Linux', release: '3.20.3' })
  t.same(osRelease('NAME=Buildroot\nVERSION=2024.02\n'), { distro: 'Buildroot', release: '2024.02' }, 'VERSION when there is no VERSION_ID')
  t.same(osRelease(''), { distro: '', release: '' })
})

t.test('mountinfo: one entry per device, no pseudo or network filesystems, escapes decoded', async (t) => {
  const mountinfo = [
    '22 1 259:2 / / rw,relatime shared:1 - ext4 /dev/nvme0n1p2 rw',
    '23 22 0:21 / /proc rw,nosuid - proc proc rw',
    '24 22 0:5 / /dev rw,nosuid - devtmpfs udev rw',
    '25 22 259:1 / /boot/firmware rw,relatime shared:2 - vfat /dev/nvme0n1p1 rw',
    '26 22 259:2 /var/lib/docker /var/lib/docker rw,relatime - ext4 /dev/nvme0n1p2 rw',
    '27 22 0:40 / /mnt/nas rw - nfs4 nas:/export rw',
    '28 22 8:17 / /media/usb\\040stick rw - exfat /dev/sdb1 rw',
    '29 22 0:30 / /run rw - tmpfs tmpfs rw',
    '30 22 8:33 / /mnt/gone rw - ext4 /dev/sdc1 rw',
    '',
  ].join('\n')
  const statted: string[] = []
  const filesystems = await mountedFilesystems(mountinfo, async (mount) => {
    statted.push(mount)
    if (mount === '/mnt/gone') throw new Error('ENOENT')
    return { blocks: 1000, bsize: 4096 }
  })
  t.same(filesystems, [
    { mount: '/', size: 4_096_000, type: 'ext4' },
    { mount: '/boot/firmware', size: 4_096_000, type: 'vfat' },
    { mount: '/media/usb stick', size: 4_096_000, type: 'exfat' },
  ])
  t.notOk(statted.includes('/mnt/nas'), 'a network share is never statted (its statfs can hang)')
})

t.test('nvidia-smi CSV: names and memory, commas in names kept', async (t) => {
  t.same(parseNvidiaSmi('NVIDIA A100-SXM4-40GB, 40960\nNVIDIA RTX A2000, 6138\n'), [
    { model: 'NVIDIA A100-SXM4-40GB', vramMiB: 40960 },
    { model: 'NVIDIA RTX A2000', vramMiB: 6138 },
  ])
  t.same(parseNvidiaSmi('Tesla T4, [N/A]\n'), [{ model: 'Tesla T4', vramMiB: null }])
  t.same(parseNvidiaSmi(''), [])
})

t.test('a Raspberry Pi read from its files: the device-tree model, the Cortex core, its OS and disk', async (t) => {
  const root = fakeRoot(t, {
    'proc/cpuinfo': PI4_CPUINFO,
    'etc/os-release': 'NAME="Debian GNU/Linux"\nVERSION_ID="12"\n',
    'proc/self/mountinfo': '22 1 179:2 / / rw - ext4 /dev/mmcblk0p2 rw\n',
    'proc/device-tree/model': 'Raspberry Pi 4 Model B Rev 1.4\u0000',
    'proc/device-tree/compatible': 'raspberrypi,4-model-b\u0000brcm,bcm2711\u0000',
  })
  const failures: string[] = []
  const inventory = await collectInventory({ source: procFactSource({ root, docker: NO_DOCKER }), onProbeFailed: (probe) => failures.push(probe) })
  t.same(failures, ['dockerInfo'], 'only Docker is missing in the fake tree')
  t.equal(inventory.hardware.model, 'Raspberry Pi 4 Model B Rev 1.4')
  t.equal(inventory.cpu.model, 'ARM Cortex-A72')
  t.same(inventory.os, { platform: os.platform(), distro: 'Debian GNU/Linux', release: '12', kernel: os.release() })
  t.same(
    inventory.disks.map((disk) => disk.mount),
    ['/'],
  )
  t.same(inventory.gpus, [], 'no PCI bus in the tree, no GPU')
  t.equal(inventory.runtime, null)
})

t.test('PCI display controllers: NVIDIA named by nvidia-smi, others by vendor id; a failing nvidia-smi leaves the ids', async (t) => {
  const pci = (slot: string, cls: string, vendor: string, device: string): Record<string, string> => ({
    [`sys/bus/pci/devices/${slot}/class`]: `${cls}\n`,
    [`sys/bus/pci/devices/${slot}/vendor`]: `${vendor}\n`,
    [`sys/bus/pci/devices/${slot}/device`]: `${device}\n`,
  })
  const root = fakeRoot(t, {
    ...pci('0000:00:02.0', '0x030000', '0x8086', '0x3e92'),
    ...pci('0000:01:00.0', '0x030200', '0x10de', '0x20b0'),
    ...pci('0000:02:00.0', '0x020000', '0x8086', '0x1533'),
  })
  const named = await procFactSource({ root, docker: NO_DOCKER, nvidiaSmi: async () => 'NVIDIA A100-SXM4-40GB, 40960\n' }).graphics()
  t.same(named, [
    { vendor: 'Intel', model: 'PCI device 0x3e92', vram: null },
    { vendor: 'NVIDIA', model: 'NVIDIA A100-SXM4-40GB', vram: 40960 },
  ])
  const unnamed = await procFactSource({
    root,
    docker: NO_DOCKER,
    nvidiaSmi: () => Promise.reject(new Error('spawn nvidia-smi ENOENT')),
  }).graphics()
  t.same(unnamed[1], { vendor: 'NVIDIA', model: 'PCI device 0x20b0', vram: null })
  const inventory = buildInventory({
    nodeArch: 'x64',
    hostname: 'gpu-1',
    nodeCpus: [{ model: 'x', speed: 1 }],
    nodeTotalMemory: 1,
    nodePlatform: 'linux',
    nodeRelease: '6.1',
    graphics: named,
  })
  t.same(inventory.gpus[1], { vendor: 'NVIDIA', model: 'NVIDIA A100-SXM4-40GB', memoryBytes: 40960 * 1024 * 1024 })
})

t.test('this machine, from its real files and its real Docker engine', async (t) => {
  const failures: string[] = []
  const inventory = await collectInventory({
    source: procFactSource({ docker: dockerEndpoint(undefined) }),
    onProbeFailed: (probe, reason) => failures.push(`${probe}: ${reason}`),
  })
  t.ok(Inventory.safeParse(inventory).success)
  t.ok(inventory.cpu.model !== 'unknown', `knows the CPU (${inventory.cpu.model})`)
  t.ok(
    inventory.disks.some((disk) => disk.mount === '/' && disk.sizeBytes > 0),
    'lists the root filesystem',
  )
  t.equal(new Set(inventory.disks.map((disk) => disk.mount)).size, inventory.disks.length, 'no mount listed twice')
  t.match(inventory.runtime, { name: 'docker', version: /\d+\.\d+/ }, 'asks the Docker engine its version')
  t.notOk(
    failures.some((failure) => !failure.startsWith('device-tree')),
    `only the device tree may be missing on a PC: ${failures.join('; ')}`,
  )
})

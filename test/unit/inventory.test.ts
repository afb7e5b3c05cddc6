import os from 'node:os'
import t from 'tap'
import { UnsupportedArchError, buildInventory, collectInventory, mapArch, type FactSource, type MachineFacts } from '../../agent/inventory.js'
import { Inventory } from '../../protocol/inventory.js'

/** The bare facts node:os always has; each test adds what systeminformation would say. */
const BARE: MachineFacts = {
  nodeArch: 'arm64',
  hostname: 'board-1',
  nodeCpus: [{ model: 'Cortex-A72', speed: 1800 }],
  nodeTotalMemory: 3_975_802_880,
  nodePlatform: 'linux',
  nodeRelease: '6.6.31+rpt-rpi-v8',
}

t.test('collects a schema-valid inventory of this machine', async (t) => {
  const failures: string[] = []
  const inventory = await collectInventory({ onProbeFailed: (probe, reason) => failures.push(`${probe}: ${reason}`) })
  t.ok(Inventory.safeParse(inventory).success, 'validates against the Inventory schema')
  t.equal(inventory.arch, 'amd64', 'this test machine is x86-64')
  t.equal(inventory.arch, mapArch(os.arch()))
  t.equal(inventory.hostname, os.hostname())
  t.equal(inventory.os.platform, 'linux')
  t.ok(inventory.os.kernel.length > 0, 'knows the kernel')
  t.ok(inventory.cpu.cores >= 1)
  t.ok(inventory.cpu.model.length > 0 && inventory.cpu.model !== 'unknown', `knows the CPU model (${inventory.cpu.model})`)
  t.ok(Math.abs(inventory.memoryBytes - os.totalmem()) < 64 * 1024 ** 2, 'memory total agrees with node:os')
  t.ok(
    inventory.disks.some((disk) => disk.mount === '/' && disk.sizeBytes > 0),
    'lists the root filesystem',
  )
  t.same(failures, [], 'no probe failed or timed out')
})

/** Answers at once, like a healthy Raspberry Pi; tests replace one probe to make it misbehave. */
const PI_SOURCE: FactSource = {
  osInfo: async () => ({ platform: 'linux', distro: 'Debian GNU/Linux', release: '12', kernel: '6.6.31+rpt-rpi-v8' }),
  cpu: async () => ({ manufacturer: 'ARM', brand: 'Cortex-A72', cores: 4, speed: 1.8 }),
  memoryTotal: async () => 3_975_802_880,
  system: async () => ({ manufacturer: 'Raspberry Pi Foundation', model: 'BCM2835' }),
  graphics: async () => [],
  filesystems: async () => [{ mount: '/', size: 31_268_536_320, type: 'ext4' }],
  dockerVersion: async () => '27.3.1',
  deviceTree: async (name) => (name === 'model' ? 'Raspberry Pi 4 Model B Rev 1.4\u0000' : 'raspberrypi,4-model-b\u0000brcm,bcm2711\u0000'),
}

t.test('a probe that hangs is cut off at the timeout and the rest still arrives', async (t) => {
  const failures: string[] = []
  const hanging: FactSource = { ...PI_SOURCE, graphics: () => new Promise(() => {}) }
  const started = performance.now()
  // The probe never answers: that collection ends at all shows it was cut off.
  const inventory = await collectInventory({ source: hanging, timeoutMs: 300, onProbeFailed: (probe, reason) => failures.push(`${probe}: ${reason}`) })
  const elapsed = performance.now() - started
  t.ok(elapsed >= 299, `waited for the timeout (${Math.round(elapsed)} ms on the monotonic clock)`)
  t.same(failures, ['graphics: no answer within 300 ms'])
  t.same(inventory.gpus, [], 'no GPUs known')
  t.equal(inventory.memoryBytes, 3_975_802_880, 'the other probes still answered')
  t.equal(inventory.hardware.model, 'Raspberry Pi 4 Model B Rev 1.4')
  t.same(inventory.runtime, { name: 'docker', version: '27.3.1' })
})

t.test('probes that fail fall back to what node:os knows', async (t) => {
  const broken = (): Promise<never> => Promise.reject(new Error('lspci: command not found'))
  const source: FactSource = {
    osInfo: broken,
    cpu: broken,
    memoryTotal: broken,
    system: broken,
    graphics: broken,
    filesystems: broken,
    dockerVersion: broken,
    deviceTree: broken,
  }
  const failures: string[] = []
  const inventory = await collectInventory({ source, onProbeFailed: (probe) => failures.push(probe) })
  t.equal(failures.length, 9, 'every probe reported')
  t.ok(Inventory.safeParse(inventory).success)
  t.equal(inventory.memoryBytes, os.totalmem())
  t.equal(inventory.cpu.cores, os.cpus().length)
  t.equal(inventory.os.kernel, os.release())
  t.same(inventory.hardware, {})
  t.equal(inventory.runtime, null)
})

t.test('maps Node and kernel architecture names to image architecture names', async (t) => {
  const cases = {
    x64: 'amd64',
    x86_64: 'amd64',
    arm64: 'arm64',
    aarch64: 'arm64',
    arm: 'arm',
    armv7l: 'arm',
    armv6l: 'arm',
    riscv64: 'riscv64',
    ia32: '386',
    ppc64: 'ppc64le',
    s390x: 's390x',
  }
  for (const [node, ours] of Object.entries(cases)) t.equal(mapArch(node), ours, `${node} → ${ours}`)
  t.throws(() => mapArch('mips'), new UnsupportedArchError('mips'))
  t.throws(() => buildInventory({ ...BARE, nodeArch: 'loong64' }), { code: 'unsupported-arch', nodeArch: 'loong64' })
})

t.test('prefers the device-tree model, which names ARM boards exactly', async (t) => {
  const inventory = buildInventory({
    ...BARE,
    cpu: { manufacturer: 'ARM', brand: 'Cortex-A72', cores: 4, speed: 1.8 },
    system: { manufacturer: 'Raspberry Pi Foundation', model: 'BCM2835' },
    deviceTreeModel: 'Raspberry Pi 4 Model B Rev 1.4\u0000',
  })
  t.same(inventory.hardware, { manufacturer: 'Raspberry Pi Foundation', model: 'Raspberry Pi 4 Model B Rev 1.4' })
  t.same(inventory.cpu, { model: 'ARM Cortex-A72', cores: 4, speedGHz: 1.8 })
  t.equal(inventory.arch, 'arm64')
})

t.test('drops BIOS placeholder strings and truncates over-long ones', async (t) => {
  const inventory = buildInventory({
    ...BARE,
    nodeArch: 'x64',
    hostname: 'h'.repeat(300),
    system: { manufacturer: 'To Be Filled By O.E.M.', model: 'x'.repeat(500) },
    osInfo: { platform: 'linux', distro: 'd'.repeat(300), release: '12', kernel: '6.1.0' },
  })
  t.equal(inventory.hostname.length, 253)
  t.equal(inventory.hardware.manufacturer, undefined, 'placeholder manufacturer dropped')
  t.equal(inventory.hardware.model?.length, 200)
  t.equal(inventory.os.distro.length, 128)
  t.ok(Inventory.safeParse(inventory).success)
})

t.test('lists GPUs with their memory, and finds the integrated GPU of a Jetson', async (t) => {
  const server = buildInventory({
    ...BARE,
    nodeArch: 'x64',
    graphics: [
      { vendor: 'NVIDIA Corporation', model: 'GA100 [A100 SXM4 80GB]', vram: 81920 },
      { vendor: 'Matrox Electronics Systems Ltd.', model: 'G200eW3', vram: null },
      { vendor: '', model: '', vram: null },
    ],
  })
  t.same(server.gpus, [
    { vendor: 'NVIDIA Corporation', model: 'GA100 [A100 SXM4 80GB]', memoryBytes: 85_899_345_920 },
    { vendor: 'Matrox Electronics Systems Ltd.', model: 'G200eW3' },
  ])

  const jetson = buildInventory({
    ...BARE,
    graphics: [],
    deviceTreeModel: 'NVIDIA Jetson Orin Nano Developer Kit\u0000',
    deviceTreeCompatible: 'nvidia,p3768-0000+p3767-0005\u0000nvidia,p3767-0005\u0000nvidia,tegra234\u0000',
  })
  t.same(jetson.gpus, [{ vendor: 'NVIDIA', model: 'tegra234 integrated GPU' }])
  t.equal(jetson.hardware.model, 'NVIDIA Jetson Orin Nano Developer Kit')
})

t.test('keeps real filesystems, hides container layers, bounds the list', async (t) => {
  const layers = Array.from({ length: 100 }, (_, i) => ({ mount: `/data/${i}`, size: 1024, type: 'ext4' }))
  const inventory = buildInventory({
    ...BARE,
    filesystems: [
      { mount: '/', size: 31_268_536_320, type: 'ext4' },
      { mount: '/', size: 31_268_536_320, type: 'ext4' },
      { mount: '/var/lib/docker/overlay2/abc/merged', size: 31_268_536_320, type: 'overlay' },
      { mount: '/boot/firmware', size: 535_805_952, type: 'vfat' },
      { mount: '/empty', size: 0, type: 'tmpfs' },
      ...layers,
    ],
    dockerVersion: '27.3.1',
  })
  t.equal(inventory.disks.length, 64, 'at most 64 disks')
  t.same(inventory.disks.slice(0, 2), [
    { mount: '/', sizeBytes: 31_268_536_320, type: 'ext4' },
    { mount: '/boot/firmware', sizeBytes: 535_805_952, type: 'vfat' },
  ])
  t.same(inventory.runtime, { name: 'docker', version: '27.3.1' })
})

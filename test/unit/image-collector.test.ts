import pino from 'pino'
import t from 'tap'
import { ImageCollector } from '../../agent/image-collector.js'
import type { ContainerRuntime, ImageInfo, RuntimeDiskUsage } from '../../agent/runtime/runtime.js'

// The collector's shell (which images, what is reported, what a failed removal does) over an
// in-memory engine that keeps the three calls' contract: removal frees the image's bytes, an
// image in use is refused. planImageGc's own rules are in image-gc.test.ts; the real engine's
// side of removal is in the Docker runtime tests.

const GiB = 1024 ** 3
const image = (id: string, tag: string, sizeGiB: number, day: number): ImageInfo => ({
  id,
  tags: [tag],
  sizeBytes: sizeGiB * GiB,
  createdAt: new Date(Date.UTC(2026, 0, day)),
})

class InMemoryImages implements Pick<ContainerRuntime, 'diskUsage' | 'listImages' | 'removeImage'> {
  readonly removedIds: string[] = []
  constructor(
    private images: ImageInfo[],
    private usage: RuntimeDiskUsage | null,
    private readonly inUse: ReadonlySet<string> = new Set(),
  ) {}
  async diskUsage(): Promise<RuntimeDiskUsage | null> {
    return this.usage
  }
  async listImages(): Promise<ImageInfo[]> {
    return [...this.images]
  }
  async removeImage(id: string): Promise<void> {
    if (this.inUse.has(id)) throw new Error(`conflict: image ${id} is in use`)
    const found = this.images.find((i) => i.id === id)
    this.images = this.images.filter((i) => i.id !== id)
    if (found && this.usage) this.usage = { ...this.usage, usedBytes: this.usage.usedBytes - found.sizeBytes }
    this.removedIds.push(id)
  }
}

const logger = pino({ level: 'silent' })
const thresholds = { highPercent: 85, lowPercent: 70 }

t.test('removes unused images above the threshold, keeps the wanted ones, reports each removal', async (t) => {
  const runtime = new InMemoryImages([image('a', 'old:1', 10, 1), image('b', 'web:2', 10, 2), image('c', 'mid:1', 10, 3)], {
    usedBytes: 90 * GiB,
    totalBytes: 100 * GiB,
  })
  const reported: string[] = []
  const collector = new ImageCollector({ runtime, thresholds, wantedImages: () => ['web:2'], removed: (name) => reported.push(name), logger })
  t.equal(await collector.collect(), 2)
  t.same(runtime.removedIds, ['a', 'c'], 'oldest unused first; the wanted image stays')
  t.same(reported, ['old:1', 'mid:1'])
})

t.test('an untagged reference in a template protects the :latest image', async (t) => {
  const runtime = new InMemoryImages([image('a', 'web:latest', 50, 1)], { usedBytes: 95 * GiB, totalBytes: 100 * GiB })
  const collector = new ImageCollector({ runtime, thresholds, wantedImages: () => ['web'], removed: () => {}, logger })
  t.equal(await collector.collect(), 0)
  t.same(runtime.removedIds, [])
})

t.test('an image the engine refuses (in use) is skipped, not reported, and the rest go on', async (t) => {
  const runtime = new InMemoryImages([image('a', 'busy:1', 10, 1), image('b', 'idle:1', 10, 2)], { usedBytes: 90 * GiB, totalBytes: 100 * GiB }, new Set(['a']))
  const reported: string[] = []
  const collector = new ImageCollector({ runtime, thresholds, wantedImages: () => [], removed: (name) => reported.push(name), logger })
  t.equal(await collector.collect(), 1)
  t.same(reported, ['idle:1'])
})

t.test('no disk figures (a runtime that cannot tell) means no collection, and a failing engine never throws', async (t) => {
  const silent = new InMemoryImages([image('a', 'old:1', 10, 1)], null)
  t.equal(await new ImageCollector({ runtime: silent, thresholds, wantedImages: () => [], removed: () => {}, logger }).collect(), 0)
  const broken: Pick<ContainerRuntime, 'diskUsage' | 'listImages' | 'removeImage'> = {
    diskUsage: async () => {
      throw new Error('engine down')
    },
    listImages: async () => [],
    removeImage: async () => {},
  }
  t.equal(await new ImageCollector({ runtime: broken, thresholds, wantedImages: () => [], removed: () => {}, logger }).collect(), 0)
})

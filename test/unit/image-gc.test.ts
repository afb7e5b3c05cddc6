import t from 'tap'
import { normaliseImageRef, planImageGc } from '../../agent/image-gc.js'
import type { ImageInfo } from '../../agent/runtime/runtime.js'

const GiB = 1024 ** 3
const image = (id: string, tag: string, sizeGiB: number, day: number): ImageInfo => ({
  id,
  tags: [tag],
  sizeBytes: sizeGiB * GiB,
  createdAt: new Date(Date.UTC(2026, 0, day)),
})
const thresholds = { highPercent: 85, lowPercent: 70 }

t.test('removes nothing while usage is below the high threshold', async (t) => {
  const plan = planImageGc([image('a', 'old:1', 5, 1)], new Set(), { usedBytes: 84 * GiB, totalBytes: 100 * GiB }, thresholds)
  t.same(plan, [])
})

t.test('removes unused images oldest first until usage reaches the low threshold', async (t) => {
  const images = [image('c', 'new:1', 5, 3), image('a', 'old:1', 5, 1), image('e', 'latest:1', 5, 5), image('b', 'mid:1', 5, 2), image('d', 'newest:1', 5, 4)]
  const plan = planImageGc(images, new Set(), { usedBytes: 90 * GiB, totalBytes: 100 * GiB }, thresholds)
  t.same(
    plan.map((i) => i.id),
    ['a', 'b', 'c', 'd'],
    '90% -> 85 -> 80 -> 75 -> 70: four removed, the newest kept',
  )
})

t.test('never removes an image a desired workload names, however old', async (t) => {
  const images = [image('a', 'keep:1', 50, 1), image('b', 'drop:1', 5, 2)]
  const plan = planImageGc(images, new Set(['keep:1']), { usedBytes: 95 * GiB, totalBytes: 100 * GiB }, thresholds)
  t.same(
    plan.map((i) => i.id),
    ['b'],
  )
})

t.test('stops as soon as the low threshold is reached', async (t) => {
  const images = [image('a', 'big:1', 30, 1), image('b', 'small:1', 1, 2)]
  const plan = planImageGc(images, new Set(), { usedBytes: 90 * GiB, totalBytes: 100 * GiB }, thresholds)
  t.same(
    plan.map((i) => i.id),
    ['a'],
  )
})

t.test('an unknown disk size collects nothing', async (t) => {
  t.same(planImageGc([image('a', 'x:1', 1, 1)], new Set(), { usedBytes: 0, totalBytes: 0 }, thresholds), [])
})

t.test('normalises untagged references to :latest', async (t) => {
  t.equal(normaliseImageRef('busybox'), 'busybox:latest')
  t.equal(normaliseImageRef('127.0.0.1:5000/busybox'), '127.0.0.1:5000/busybox:latest')
  t.equal(normaliseImageRef('127.0.0.1:5000/busybox:1'), '127.0.0.1:5000/busybox:1')
  t.equal(normaliseImageRef('busybox@sha256:abc'), 'busybox@sha256:abc')
})

import type { ImageInfo, RuntimeDiskUsage } from './runtime/runtime.js'

export interface ImageGcThresholds {
  /** Disk usage (percent) at which collection starts. */
  readonly highPercent: number
  /** Collection stops once usage would be at or below this. */
  readonly lowPercent: number
}

/**
 * Which images to remove, kubelet-style: nothing below the high threshold; above it, images no
 * desired workload names, oldest first, until usage would fall to the low threshold. Images a
 * container still uses are refused by the engine itself, so the caller skips those. Pure.
 */
export function planImageGc(images: readonly ImageInfo[], keep: ReadonlySet<string>, usage: RuntimeDiskUsage, thresholds: ImageGcThresholds): ImageInfo[] {
  if (usage.totalBytes <= 0) return []
  const percent = (100 * usage.usedBytes) / usage.totalBytes
  if (percent < thresholds.highPercent) return []
  const target = (thresholds.lowPercent / 100) * usage.totalBytes
  const candidates = images
    .filter((image) => !image.tags.some((tag) => keep.has(tag)))
    .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || (a.id < b.id ? -1 : 1))
  const chosen: ImageInfo[] = []
  let used = usage.usedBytes
  for (const image of candidates) {
    if (used <= target) break
    chosen.push(image)
    used -= image.sizeBytes
  }
  return chosen
}

/** Docker names an image without a tag `:latest`; compare like with like. */
export function normaliseImageRef(ref: string): string {
  const lastSlash = ref.lastIndexOf('/')
  const hasTag = ref.slice(lastSlash + 1).includes(':') || ref.includes('@')
  return hasTag ? ref : `${ref}:latest`
}

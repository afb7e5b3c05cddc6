import type { PullProgress } from '../runtime/runtime.js'

interface LayerBytes {
  current: number
  total: number | null
  done: boolean
}

/**
 * The bytes one image pull fetched, from the engine's progress: per layer, its compressed size
 * once downloaded (or as far as it got), so layers the node already had ("Already exists") count
 * nothing. Progress lines without a layer id (the tag, the digest) carry no bytes.
 */
export class PullByteTally {
  private readonly layers = new Map<string, LayerBytes>()

  add(progress: PullProgress): void {
    if (progress.layer === undefined) return
    const layer = this.layers.get(progress.layer) ?? { current: 0, total: null, done: false }
    if (progress.status === 'Downloading') {
      if (progress.currentBytes !== undefined) layer.current = Math.max(layer.current, progress.currentBytes)
      if (progress.totalBytes !== undefined && progress.totalBytes > 0) layer.total = progress.totalBytes
    } else if (progress.status === 'Download complete') {
      layer.done = true
    }
    this.layers.set(progress.layer, layer)
  }

  get bytes(): number {
    let sum = 0
    for (const layer of this.layers.values()) sum += layer.done && layer.total !== null ? Math.max(layer.total, layer.current) : layer.current
    return sum
  }
}

import type { Logger } from 'pino'
import { type ImageGcThresholds, normaliseImageRef, planImageGc } from './image-gc.js'
import type { ContainerRuntime } from './runtime/runtime.js'

export interface ImageCollectorOptions {
  readonly runtime: Pick<ContainerRuntime, 'diskUsage' | 'listImages' | 'removeImage'>
  readonly thresholds: ImageGcThresholds
  /** The images the node's desired workloads name, as written in their templates. */
  readonly wantedImages: () => readonly string[]
  /** Called once per image removed, for the node's event stream. */
  readonly removed: (image: string, bytes: number) => void
  readonly logger: Logger
  /** Disk pressure builds slowly: every five minutes costs one statfs and one list. */
  readonly intervalMs?: number
}

/** Removes unused images when the disk passes the profile's threshold (the plan is planImageGc). */
export class ImageCollector {
  private timer: NodeJS.Timeout | null = null

  constructor(private readonly options: ImageCollectorOptions) {}

  start(): void {
    this.timer = setInterval(() => void this.collect(), this.options.intervalMs ?? 5 * 60_000)
    this.timer.unref()
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer)
    this.timer = null
  }

  /** One collection; never throws (a failure is logged and the next interval retries). */
  async collect(): Promise<number> {
    const { runtime, logger } = this.options
    let removed = 0
    try {
      const usage = await runtime.diskUsage()
      if (!usage) return 0
      const keep = new Set(this.options.wantedImages().map(normaliseImageRef))
      for (const image of planImageGc(await runtime.listImages(), keep, usage, this.options.thresholds)) {
        const name = image.tags[0] ?? image.id
        try {
          await runtime.removeImage(image.id)
        } catch (error) {
          logger.debug({ err: error, image: image.id }, 'image still in use or already gone; skipped')
          continue
        }
        removed++
        logger.info({ image: name, bytes: image.sizeBytes }, "removed an unused image (disk above the profile's threshold)")
        this.options.removed(name, image.sizeBytes)
      }
    } catch (error) {
      logger.warn({ err: error }, 'image garbage collection failed; will retry')
    }
    return removed
  }
}

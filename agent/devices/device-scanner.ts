import { readdir } from 'node:fs/promises'
import { dirname } from 'node:path'
import type { Logger } from 'pino'
import { devicePatternMatches } from '../../protocol/index.js'

/**
 * The device paths present on this machine that the patterns match, sorted. Each pattern's
 * directory is listed once (a glob's `*` stays within one segment, so only the last one may
 * hold it); a directory that does not exist simply contributes nothing.
 */
export async function scanDevices(patterns: readonly string[]): Promise<string[]> {
  const byDir = new Map<string, string[]>()
  for (const pattern of patterns) {
    const dir = dirname(pattern)
    byDir.set(dir, [...(byDir.get(dir) ?? []), pattern])
  }
  const found = new Set<string>()
  for (const [dir, dirPatterns] of byDir) {
    let names: string[]
    try {
      names = await readdir(dir)
    } catch {
      continue
    }
    for (const name of names) {
      const path = `${dir === '/' ? '' : dir}/${name}`
      if (dirPatterns.some((pattern) => devicePatternMatches(pattern, path))) found.add(path)
    }
  }
  return [...found].sort()
}

export interface DeviceWatchOptions {
  readonly patterns: readonly string[]
  readonly logger: Logger
  /** Called with the new set after it changed (not for the first scan). */
  readonly onChange: (devices: readonly string[]) => void
  readonly intervalMs?: number
}

/** Polls the device directories: udev renames and USB re-plugs show up within intervalMs. */
export class DeviceWatch {
  private present: readonly string[] = []
  private timer: NodeJS.Timeout | null = null
  private scanning = false
  private readonly logger: Logger

  constructor(private readonly options: DeviceWatchOptions) {
    this.logger = options.logger.child({ component: 'devices' })
  }

  /** The devices of the latest scan. */
  get devices(): readonly string[] {
    return this.present
  }

  /** Scans once (so the first status already has them), then keeps watching. */
  async start(): Promise<void> {
    this.present = await scanDevices(this.options.patterns)
    this.logger.info({ devices: this.present, patterns: this.options.patterns }, 'devices found')
    this.timer = setInterval(() => void this.rescan(), this.options.intervalMs ?? 2_000)
    this.timer.unref()
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer)
    this.timer = null
  }

  private async rescan(): Promise<void> {
    if (this.scanning) return
    this.scanning = true
    try {
      const next = await scanDevices(this.options.patterns)
      if (next.join('\n') === this.present.join('\n')) return
      const added = next.filter((path) => !this.present.includes(path))
      const removed = this.present.filter((path) => !next.includes(path))
      this.present = next
      this.logger.info({ added, removed }, 'devices changed')
      this.options.onChange(next)
    } catch (error) {
      this.logger.warn({ err: error }, 'device scan failed; keeping the last set')
    } finally {
      this.scanning = false
    }
  }
}

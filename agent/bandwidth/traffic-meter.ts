import type { Logger } from 'pino'
import { TRAFFIC_CATEGORIES, type TrafficCategory, type TrafficUsage } from '../../protocol/index.js'
import type { Clock } from '../../common/clock.js'
import { monthKey } from './local-time.js'

/** Where the meter keeps its months (the agent's SQLite: AgentStore). */
export interface TrafficStore {
  traffic(month: string): Record<string, number>
  saveTraffic(month: string, bytes: Readonly<Record<string, number>>, keepFrom: string): void
}

/**
 * Bytes counted but not saved before the meter writes: a SIGKILL or power cut loses at most this
 * much (the month then reads low by it). An idle node spends ~100 KB an hour on heartbeats, so
 * this is one small write every few hours, not one per heartbeat.
 */
export const UNSAVED_LIMIT_BYTES = 256 * 1024

export interface TrafficMeterOptions {
  readonly store: TrafficStore
  readonly clock: Clock
  /** The node's zone: months are its calendar months. */
  readonly zone: string
  readonly logger: Logger
  readonly unsavedLimitBytes?: number
}

/**
 * The agent's bytes per category this calendar month, in memory, saved to the store when the
 * unsaved bytes pass a bound, when the month turns, after each image pull and on stop.
 */
export class TrafficMeter {
  private month: string
  private bytes: Record<TrafficCategory, number>
  private unsaved = 0
  private readonly limit: number

  constructor(private readonly options: TrafficMeterOptions) {
    this.limit = options.unsavedLimitBytes ?? UNSAVED_LIMIT_BYTES
    this.month = monthKey(options.clock.now(), options.zone)
    this.bytes = this.load(this.month)
  }

  /** Counts bytes sent or received under a category; `save` writes at once (a finished image pull). */
  add(category: TrafficCategory, count: number, save = false): void {
    if (!(count > 0)) return
    this.turnMonth()
    this.bytes[category] += count
    this.unsaved += count
    if (save || this.unsaved >= this.limit) this.save()
  }

  /** This month's bytes, all categories together. */
  total(): number {
    this.turnMonth()
    return TRAFFIC_CATEGORIES.reduce((sum, category) => sum + this.bytes[category], 0)
  }

  /** What a heartbeat carries. */
  usage(budgetBytes: number | null): TrafficUsage {
    this.turnMonth()
    return { month: this.month, bytes: { ...this.bytes }, ...(budgetBytes !== null ? { budgetBytes } : {}) }
  }

  /** Writes the month's totals if anything is unsaved; a failure is logged and retried at the next save. */
  save(): void {
    if (this.unsaved === 0) return
    try {
      this.options.store.saveTraffic(this.month, this.bytes, previousMonth(this.month))
      this.unsaved = 0
    } catch (error) {
      this.options.logger.warn({ err: error, month: this.month }, 'could not save the traffic counters; they stay in memory and are saved again later')
    }
  }

  private turnMonth(): void {
    const now = monthKey(this.options.clock.now(), this.options.zone)
    if (now === this.month) return
    this.save()
    this.month = now
    this.bytes = this.load(now)
    this.unsaved = 0
  }

  private load(month: string): Record<TrafficCategory, number> {
    const saved = this.options.store.traffic(month)
    return Object.fromEntries(TRAFFIC_CATEGORIES.map((category) => [category, saved[category] ?? 0])) as Record<TrafficCategory, number>
  }
}

/** "2026-01" → "2025-12". */
export function previousMonth(month: string): string {
  const [year = 1970, number = 1] = month.split('-').map(Number)
  return number === 1 ? `${year - 1}-12` : `${year}-${String(number - 1).padStart(2, '0')}`
}

import { TRAFFIC_CATEGORIES, type TrafficUsage } from '../../protocol/index.js'

/** A category must move this much since the last report for the next heartbeat to carry the figures again. */
export const REPORT_STEP_BYTES = 64 * 1024
/** However little moved, the figures go out at least this often. */
export const REPORT_MAX_AGE_MS = 3_600_000

export interface LastReport {
  readonly usage: TrafficUsage
  readonly at: number
}

/**
 * Whether a heartbeat carries the month's figures: the first time, when the month or the budget
 * changed, when a category moved by REPORT_STEP_BYTES, or an hour after the last. Heartbeats in
 * between leave the field out (the hub keeps the last figures), so an idle node does not spend
 * ~100 bytes a heartbeat saying its heartbeats cost bytes. Pure.
 */
export function shouldReport(last: LastReport | null, usage: TrafficUsage, now: number): boolean {
  if (last === null || now - last.at >= REPORT_MAX_AGE_MS || now < last.at) return true
  if (last.usage.month !== usage.month || last.usage.budgetBytes !== usage.budgetBytes) return true
  return TRAFFIC_CATEGORIES.some((category) => usage.bytes[category] - last.usage.bytes[category] >= REPORT_STEP_BYTES)
}

/** The figures for the next heartbeat, or undefined when they have not moved enough to be news. */
export class TrafficReports {
  private last: LastReport | null = null

  next(usage: TrafficUsage, now: number): TrafficUsage | undefined {
    if (!shouldReport(this.last, usage, now)) return undefined
    this.last = { usage, at: now }
    return usage
  }
}

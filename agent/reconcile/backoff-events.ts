/**
 * Restarts of a crash-looping workload, aggregated the way Kubernetes aggregates BackOff events:
 * the first restart in the loop is reported at once, later ones at most once per interval, each
 * event with how many restarts it stands for. A loop that lasts for days adds one event a
 * minute, never one per crash, so it cannot fill the outbox; the status carries the exact count.
 */
export const BACKOFF_EVENT_INTERVAL_MS = 60_000

export interface BackOffTally {
  readonly lastEmittedAt: number | null
  /** Restarts since the last event. */
  readonly pending: number
}

export const NO_BACKOFF: BackOffTally = { lastEmittedAt: null, pending: 0 }

/** Counts one restart at `now`; `emit` is the count the event reports, or null when it waits. Pure. */
export function tallyRestart(tally: BackOffTally, now: number, intervalMs = BACKOFF_EVENT_INTERVAL_MS): { tally: BackOffTally; emit: number | null } {
  const pending = tally.pending + 1
  if (tally.lastEmittedAt === null || now - tally.lastEmittedAt >= intervalMs) return { tally: { lastEmittedAt: now, pending: 0 }, emit: pending }
  return { tally: { lastEmittedAt: tally.lastEmittedAt, pending }, emit: null }
}

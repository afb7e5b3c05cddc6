import type { NodeEvent } from '../../protocol/index.js'

/** The profile's bound on what an offline node may hold for the hub. */
export interface OutboxLimits {
  readonly maxRecords: number
  readonly maxBytes: number
}

export interface OutboxOccupancy {
  readonly records: number
  readonly bytes: number
}

export type OutboxKind = 'status' | 'event'

/** What the rule needs to know of the outbox when a record arrives. */
export interface OutboxState {
  /** Read only for an event: a status needs no count, so the store does not pay for one. */
  readonly occupancy: () => OutboxOccupancy
  /** Events dropped since the last notice. */
  readonly dropped: number
}

/** The rule's answer for one arriving record; the store applies it in field order, in one transaction. */
export interface OutboxPlacement {
  /** Delete every unsent record of this kind first; null: nothing is superseded. */
  readonly supersede: OutboxKind | null
  /** Append the "events dropped" notice (dropNotice) before the record. */
  readonly notice: boolean
  /** Append the record itself; false: it is dropped and counted. */
  readonly append: boolean
  /** Events dropped since the last notice, once this record is placed. */
  readonly dropped: number
}

/**
 * Compaction and the bound, as one rule. Status is never dropped: only the newest one matters,
 * so it supersedes every unsent older status and always fits, even over the bound. An event is
 * appended while it fits and dropped (counted) past the bound. The count is reported by a notice
 * of its own once there is room for both the notice and the event that follows it, so a notice
 * never squeezes out the next event; until then that event is dropped and counted too.
 * `noticeBytes` is the size of the notice for `state.dropped` (unused when nothing was dropped).
 */
export function placeInOutbox(kind: OutboxKind, bytes: number, state: OutboxState, limits: OutboxLimits, noticeBytes: number): OutboxPlacement {
  if (kind === 'status') return { supersede: 'status', notice: false, append: true, dropped: state.dropped }
  const occupancy = state.occupancy()
  const noticeFirst = state.dropped > 0
  const kept = noticeFirst ? fits(occupancy, 2, noticeBytes + bytes, limits) : fits(occupancy, 1, bytes, limits)
  if (!kept) return { supersede: null, notice: false, append: false, dropped: state.dropped + 1 }
  return { supersede: null, notice: noticeFirst, append: true, dropped: 0 }
}

function fits(occupancy: OutboxOccupancy, records: number, bytes: number, limits: OutboxLimits): boolean {
  return occupancy.records + records <= limits.maxRecords && occupancy.bytes + bytes <= limits.maxBytes
}

/** The event that reports `count` dropped events, sent ahead of the event that found room. */
export function dropNotice(nodeId: string, count: number, at: string): NodeEvent {
  return {
    nodeId,
    type: 'EventsDropped',
    severity: 'warning',
    message: `${count} event(s) were dropped because the outbox reached its bound while the hub was unreachable`,
    at,
    data: { count },
  }
}

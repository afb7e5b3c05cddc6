/** The profile's bound on what an offline node may hold for the hub. */
export interface OutboxLimits {
  readonly maxRecords: number
  readonly maxBytes: number
}

export interface OutboxOccupancy {
  readonly records: number
  readonly bytes: number
}

export type Admission = 'insert' | 'drop'

/**
 * Whether a new record fits. Status is never dropped: only the newest one matters and it
 * replaces the older ones (compaction), so it always fits. Events past the bound are dropped
 * and counted; the count is reported as an event of its own once there is room again.
 */
export function admitToOutbox(kind: 'status' | 'event', bytes: number, occupancy: OutboxOccupancy, limits: OutboxLimits): Admission {
  if (kind === 'status') return 'insert'
  const fits = occupancy.records + 1 <= limits.maxRecords && occupancy.bytes + bytes <= limits.maxBytes
  return fits ? 'insert' : 'drop'
}

/** Room for the "events dropped" notice and the event that follows it. */
export function hasRoomForDropNotice(occupancy: OutboxOccupancy, limits: OutboxLimits, noticeBytes: number, nextBytes: number): boolean {
  return occupancy.records + 2 <= limits.maxRecords && occupancy.bytes + noticeBytes + nextBytes <= limits.maxBytes
}

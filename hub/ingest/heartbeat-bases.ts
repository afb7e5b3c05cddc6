import { HeartbeatMergeError, mergeHeartbeat, type Heartbeat, type HeartbeatBasis, type HeartbeatDelta } from '../../protocol/index.js'

/** What one heartbeat message comes to: the whole heartbeat (null: a delta with no base here), and the basis to tell the node, if any. */
export interface HeartbeatOutcome {
  readonly heartbeat: Heartbeat | null
  readonly reply: HeartbeatBasis | null
  /** Why a delta could not be merged, for the log. */
  readonly unmerged?: string
}

/**
 * The whole heartbeat the hub holds per node (the last full one, or the last delta merged into
 * it), into which that node's next delta merges (see protocol/heartbeat-delta.ts). In memory: a hub that restarts holds none, says so to the first
 * delta it gets, and the node sends a full one. A node is told the base once per connection (the
 * first full heartbeat after it connects), and again whenever it sent a delta the hub could not
 * merge, so an agent from before deltas hears it at most once per connection.
 */
export class HeartbeatBases {
  private readonly full = new Map<string, Heartbeat>()
  /** Nodes told, on their current connection, that the hub holds their latest full heartbeat. */
  private readonly told = new Set<string>()

  /** A full heartbeat: it becomes the node's base. */
  receiveFull(heartbeat: Heartbeat): HeartbeatOutcome {
    const nodeId = heartbeat.nodeId
    this.full.set(nodeId, heartbeat)
    if (this.told.has(nodeId)) return { heartbeat, reply: null }
    this.told.add(nodeId)
    return { heartbeat, reply: { kind: 'heartbeat-basis', nodeId, base: heartbeat.at } }
  }

  /** A delta: merged into the node's base, which it then becomes; or (no such base here) the node is told what the hub holds. */
  receiveDelta(delta: HeartbeatDelta): HeartbeatOutcome {
    const nodeId = delta.nodeId
    const base = this.full.get(nodeId) ?? null
    try {
      if (!base) throw new HeartbeatMergeError(nodeId, `no full heartbeat of ${nodeId} held (the hub restarted, or it was lost)`)
      const merged = mergeHeartbeat(base, delta)
      this.full.set(nodeId, merged)
      return { heartbeat: merged, reply: null }
    } catch (error) {
      if (!(error instanceof HeartbeatMergeError)) throw error
      this.told.delete(nodeId)
      return { heartbeat: null, reply: { kind: 'heartbeat-basis', nodeId, base: base?.at ?? null }, unmerged: error.message }
    }
  }

  /** The node connected or went away: its next full heartbeat is confirmed to it again. */
  reconnected(nodeId: string): void {
    this.told.delete(nodeId)
  }

  forget(nodeId: string): void {
    this.full.delete(nodeId)
    this.told.delete(nodeId)
  }
}

import type { HubStore } from '../store/hub-store.js'

/**
 * Writes the latest heartbeats held in memory to the store in one transaction (NodeRepository
 * keeps them as soft state: one synchronous FULL commit per heartbeat was ~10 KB of disk writes
 * each). A failed write (a full disk) is logged and the heartbeats kept for the next try; it
 * never throws, so a timer can call it. Returns how many it wrote.
 */
export function heartbeatFlusher(store: Pick<HubStore, 'nodes'>, logger: { error(details: unknown, message: string): void }): () => number {
  return () => {
    try {
      return store.nodes.flushHeartbeats()
    } catch (error) {
      logger.error({ err: error }, 'cannot write heartbeats; keeping them for the next try')
      return 0
    }
  }
}

import type { HubStore } from '../store/hub-store.js'
import type { HeartbeatFlushScope } from '../store/node-repository.js'

/**
 * Writes the soft state NodeRepository holds in memory (latest heartbeats, last seen) in one
 * transaction: on the timer only the nodes whose heartbeat changed something durable (an idle
 * fleet writes nothing), at shutdown every node (scope 'all'). A failed write (a full disk) is
 * logged and the state kept for the next try; it never throws, so a timer can call it.
 * Returns how many nodes it wrote.
 */
export function heartbeatFlusher(
  store: Pick<HubStore, 'nodes'>,
  logger: { error(details: unknown, message: string): void },
): (scope?: HeartbeatFlushScope) => number {
  return (scope = 'changed') => {
    try {
      return store.nodes.flushHeartbeats(scope)
    } catch (error) {
      logger.error({ err: error }, 'cannot write heartbeats; keeping them for the next try')
      return 0
    }
  }
}

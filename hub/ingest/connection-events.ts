import { isoNow, type Clock } from '../../common/clock.js'
import type { HubStore } from '../store/hub-store.js'
import type { HubTransportHandlers } from '../transport/hub-transport.js'
import type { Ingester } from './ingester.js'

/**
 * What the hub does with what its transport sees: every message goes to the ingester; a
 * connection opening or closing marks an enrolled node online or offline (a client that is no
 * node, such as the hub itself or a revoked device, changes nothing).
 */
export function connectionEvents(
  store: Pick<HubStore, 'nodes'>,
  ingester: Pick<Ingester, 'handle' | 'markOnline' | 'markOffline'>,
  clock: Clock,
): HubTransportHandlers {
  return {
    onMessage: (nodeId, channel, payload) => ingester.handle(nodeId, channel, payload),
    onNodeConnected: (nodeId) => {
      if (store.nodes.exists(nodeId)) ingester.markOnline(nodeId, isoNow(clock))
    },
    onNodeDisconnected: (nodeId) => {
      if (store.nodes.exists(nodeId)) ingester.markOffline(nodeId, isoNow(clock), 'its broker connection closed')
    },
  }
}

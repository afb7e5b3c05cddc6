import { isoNow, type Clock } from '../../common/clock.js'
import type { HubStore } from '../store/hub-store.js'
import type { HubTransportHandlers } from '../transport/hub-transport.js'
import type { SessionRelay } from '../sessions/session-relay.js'
import type { Ingester } from './ingester.js'

/**
 * What the hub does with what its transport sees: every message goes to the ingester (session
 * frames to the session relay, which also hears of a node's connection closing at once); a
 * connection opening or closing marks an enrolled node online or offline (a client that is no
 * node, such as the hub itself or a revoked device, changes nothing).
 */
export function connectionEvents(
  store: Pick<HubStore, 'nodes'>,
  ingester: Pick<Ingester, 'handle' | 'markOnline' | 'markOffline'>,
  clock: Clock,
  sessions: Pick<SessionRelay, 'receive' | 'nodeOffline' | 'linkDown'>,
): HubTransportHandlers {
  return {
    onMessage: (nodeId, channel, payload) => ingester.handle(nodeId, channel, payload),
    onSessionFrame: (nodeId, payload) => sessions.receive(nodeId, payload),
    onLinkDown: (why) => sessions.linkDown(why),
    onNodeConnected: (nodeId) => {
      if (store.nodes.exists(nodeId)) ingester.markOnline(nodeId, isoNow(clock))
    },
    onNodeDisconnected: (nodeId) => {
      sessions.nodeOffline(nodeId, 'its broker connection closed')
      if (store.nodes.exists(nodeId)) ingester.markOffline(nodeId, isoNow(clock), 'its broker connection closed')
    },
  }
}

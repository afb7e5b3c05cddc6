import { isoNow, type Clock } from '../../common/clock.js'
import type { HubStore } from '../store/hub-store.js'
import type { NodeRecord } from '../store/node-repository.js'

/** Missing heartbeats past this many intervals (and at least the floor) mean the node is gone. */
export const OFFLINE_AFTER_INTERVALS = 4
export const OFFLINE_FLOOR_MS = 60_000

/**
 * Nodes the hub still thinks are online but has not heard from for too long. The broker's will
 * message (MQTT) usually says so first; this catches NATS, half-open TCP and lost wills. Pure.
 */
export function silentNodes(nodes: readonly NodeRecord[], now: number): NodeRecord[] {
  return nodes.filter((node) => {
    if (!node.online || !node.lastSeenAt) return false
    const silence = now - Date.parse(node.lastSeenAt)
    return silence > Math.max(OFFLINE_FLOOR_MS, OFFLINE_AFTER_INTERVALS * node.heartbeatIntervalMs)
  })
}

/**
 * One sweep of the presence monitor: every silent node is marked offline (the ingester records
 * the event and asks for a pass). Returns the ids it marked.
 */
export function sweepSilentNodes(store: Pick<HubStore, 'nodes'>, markOffline: (nodeId: string, at: string, why: string) => void, clock: Clock): string[] {
  const silent = silentNodes(store.nodes.list(), clock.now())
  for (const node of silent) markOffline(node.id, isoNow(clock), 'no heartbeat or message for too long')
  return silent.map((node) => node.id)
}

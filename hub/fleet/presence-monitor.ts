import { isoNow, type Clock } from '../../common/clock.js'
import type { HubStore } from '../store/hub-store.js'
import type { NodeRecord } from '../store/node-repository.js'

/** Missing heartbeats past this many intervals (and at least the floor) mean the node is gone. */
export const OFFLINE_AFTER_INTERVALS = 4
export const OFFLINE_FLOOR_MS = 60_000

/** How long a node may stay silent before it is offline: its grace period. */
export function offlineAfterMs(node: Pick<NodeRecord, 'heartbeatIntervalMs'>): number {
  return Math.max(OFFLINE_FLOOR_MS, OFFLINE_AFTER_INTERVALS * node.heartbeatIntervalMs)
}

/**
 * How long the hub has not heard from a node, counted from its last sighting but never from
 * before `watchingSince` (when this hub process started): while the hub was down nobody could
 * hear the node, and last seen is soft state that may be older still, so a restarted hub gives
 * every node a whole grace period to come back. Null: never seen. Pure.
 */
export function silenceMs(lastSeenAt: string | null, now: number, watchingSince: number): number | null {
  if (lastSeenAt === null) return null
  return now - Math.max(Date.parse(lastSeenAt), watchingSince)
}

/**
 * Nodes the hub still thinks are online but has not heard from for too long. The broker's will
 * message (MQTT) usually says so first; this catches NATS, half-open TCP and lost wills. Pure.
 */
export function silentNodes(nodes: readonly NodeRecord[], now: number, watchingSince: number): NodeRecord[] {
  return nodes.filter((node) => {
    if (!node.online) return false
    const silence = silenceMs(node.lastSeenAt, now, watchingSince)
    return silence !== null && silence > offlineAfterMs(node)
  })
}

/**
 * One sweep of the presence monitor: every silent node is marked offline (the ingester records
 * the event and asks for a pass). `watchingSince`: when the hub started (see silenceMs). Returns
 * the ids it marked.
 */
export function sweepSilentNodes(
  store: Pick<HubStore, 'nodes'>,
  markOffline: (nodeId: string, at: string, why: string) => void,
  clock: Clock,
  watchingSince: number,
): string[] {
  const silent = silentNodes(store.nodes.list(), clock.now(), watchingSince)
  for (const node of silent) markOffline(node.id, isoNow(clock), 'no heartbeat or message for too long')
  return silent.map((node) => node.id)
}

import { skewReason } from '../ingest/clock-offset.js'
import type { NodeRecord } from '../store/node-repository.js'
import type { WorkloadStatusRecord } from '../store/status-repository.js'

export type ConditionType = 'Ready' | 'Offline' | 'Degraded'

export interface NodeCondition {
  readonly type: ConditionType
  readonly since: string | null
  readonly reasons: readonly string[]
}

/** A heartbeat later than this many intervals makes a node Degraded (never lost on its own). */
export const LATE_HEARTBEAT_INTERVALS = 3

/**
 * Ready, Offline (since) or Degraded (with reasons), from the node's presence, heartbeats,
 * clock and workloads. Every time here is the hub's own (last seen is when the hub heard from
 * the node), so a node's wrong clock cannot make it look late or fresh; a clock too far from
 * the hub's is itself a reason (ClockSkew, decided from heartbeats at ingest). Pure: `now` and
 * the records are passed in.
 */
export function nodeCondition(node: NodeRecord, workloads: readonly WorkloadStatusRecord[], latestGeneration: number, now: number): NodeCondition {
  if (!node.online) return { type: 'Offline', since: node.offlineSince, reasons: node.offlineSince ? [] : ['never connected'] }
  const reasons: string[] = []
  const lastSeen = node.lastSeenAt ? Date.parse(node.lastSeenAt) : null
  if (lastSeen !== null && now - lastSeen > LATE_HEARTBEAT_INTERVALS * node.heartbeatIntervalMs) {
    reasons.push(`no heartbeat for ${Math.round((now - lastSeen) / 1000)}s`)
  }
  for (const workload of workloads) {
    if (workload.state === 'crash-loop' || workload.state === 'failed') reasons.push(`${workload.name} is ${workload.state}`)
  }
  if (node.lastHeartbeat && node.lastHeartbeat.outboxDepth > 1000) reasons.push(`${node.lastHeartbeat.outboxDepth} reports waiting in its outbox`)
  if (node.clockSkewSince && node.clockOffsetMs !== undefined && node.clockOffsetMs !== null) reasons.push(skewReason(node.clockOffsetMs))
  if (reasons.length > 0) return { type: 'Degraded', since: null, reasons }
  if (latestGeneration > node.observedGeneration)
    return { type: 'Ready', since: null, reasons: [`applying generation ${latestGeneration} (has ${node.observedGeneration})`] }
  return { type: 'Ready', since: null, reasons: [] }
}

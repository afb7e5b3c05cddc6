import type { Heartbeat } from '../../protocol/index.js'

/**
 * Why a heartbeat must be written to the store. Only what a restarted hub must know is durable:
 * the generation the node has seen, the encodings it reads its documents in, its hardware's
 * totals, its traffic month and budget. The rest of a heartbeat (when it was sent, uptime,
 * load, used bytes, outbox depth, workload counts, traffic counters) is soft: served from
 * memory, replaced by the next heartbeat, written only with a durable change or at shutdown.
 */
export type DurableHeartbeatChange =
  | 'first-heartbeat'
  | 'observed-generation'
  | 'desired-encodings'
  | 'memory-total'
  | 'disk-total'
  | 'traffic-month'
  | 'traffic-budget'

/**
 * The durable differences between the heartbeat last written (null: none yet) and the latest.
 * Empty means an idle heartbeat: nothing to write. Pure.
 */
export function durableHeartbeatChanges(stored: Heartbeat | null, latest: Heartbeat): DurableHeartbeatChange[] {
  if (stored === null) return ['first-heartbeat']
  const changes: DurableHeartbeatChange[] = []
  if (stored.observedGeneration !== latest.observedGeneration) changes.push('observed-generation')
  if (!sameEncodings(stored.desiredEncodings, latest.desiredEncodings)) changes.push('desired-encodings')
  if (stored.memory.totalBytes !== latest.memory.totalBytes) changes.push('memory-total')
  if ((stored.disk?.totalBytes ?? null) !== (latest.disk?.totalBytes ?? null)) changes.push('disk-total')
  if ((stored.traffic?.month ?? null) !== (latest.traffic?.month ?? null)) changes.push('traffic-month')
  if ((stored.traffic?.budgetBytes ?? null) !== (latest.traffic?.budgetBytes ?? null)) changes.push('traffic-budget')
  return changes
}

/** As sets: the order a node lists them in means nothing; absent and empty both mean none. */
function sameEncodings(a: Heartbeat['desiredEncodings'], b: Heartbeat['desiredEncodings']): boolean {
  const left = new Set(a ?? [])
  const right = new Set(b ?? [])
  return left.size === right.size && [...left].every((encoding) => right.has(encoding))
}

import { z } from 'zod'
import { NodeId, Seq } from './primitives.js'
import { NodeEvent, NodeStatus } from './status.js'

/**
 * A record from an agent's durable outbox. `seq` grows within one outbox epoch of a node; the hub
 * deduplicates on (nodeId, epoch, seq) and acknowledges, after which the agent deletes the record.
 */
export const OutboxRecord = z.discriminatedUnion('kind', [
  z.strictObject({ nodeId: NodeId, seq: Seq, kind: z.literal('status'), body: NodeStatus }),
  z.strictObject({ nodeId: NodeId, seq: Seq, kind: z.literal('event'), body: NodeEvent }),
])
export type OutboxRecord = z.infer<typeof OutboxRecord>
export type OutboxKind = OutboxRecord['kind']

/**
 * Names one incarnation of an agent's outbox (its database). A fresh database after corruption
 * gets a new epoch, so its seqs need not exceed the old ones: the board's clock may be in the past.
 */
export const OutboxEpoch = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9_-]+$/, 'must be letters, digits, "_" or "-" (max 64)')

/** Agents from before epochs send none; their records belong to this epoch. */
export const LEGACY_EPOCH = ''

/** Several records in one message, in seq order; batching keeps small links efficient. */
export const OutboxBatch = z.strictObject({
  nodeId: NodeId,
  /** Absent for the legacy epoch, so an old hub still accepts batches of an upgraded agent's old database. */
  epoch: OutboxEpoch.optional(),
  records: z.array(OutboxRecord).min(1).max(500),
})
export type OutboxBatch = z.infer<typeof OutboxBatch>

/**
 * Cumulative: the hub has durably stored every record of this node's `epoch` up to and including
 * `seq`. `epoch` is absent for the legacy epoch, so agents from before epochs still accept it.
 */
export const Ack = z.strictObject({
  nodeId: NodeId,
  epoch: OutboxEpoch.optional(),
  seq: z.number().int().nonnegative(),
})
export type Ack = z.infer<typeof Ack>

/**
 * Bounds of the reconnect cap a hub may hint: never below 1 s (a node reconnecting faster than
 * that only burns its link while the hub is down) and never above 60 s, the cap agents use when
 * they have no hint, so a hint (which, like an ack, is not signed) can only bring a node back
 * sooner than an agent from before hints would come, never later.
 */
export const RECONNECT_CAP_BOUNDS_MS = { min: 1_000, max: 60_000 } as const

/**
 * The hub's advice for this node's reconnect backoff: the cap of its full-jitter delay, chosen
 * from the fleet's size so that a whole fleet reconnecting after a hub restart arrives spread out
 * at a rate the hub takes. Sent on the ack channel when the node comes online (and to every node
 * when the advice changes); `kind` tells it from an `Ack`. Agents from before hints refuse it as
 * a malformed ack and carry on; docs/protocol.md says so.
 */
export const ReconnectHint = z.strictObject({
  kind: z.literal('reconnect-hint'),
  nodeId: NodeId,
  reconnectCapMs: z.number().int().min(RECONNECT_CAP_BOUNDS_MS.min).max(RECONNECT_CAP_BOUNDS_MS.max),
})
export type ReconnectHint = z.infer<typeof ReconnectHint>

/** Whether a parsed message on the ack channel means to be a reconnect hint (then it must validate as one). */
export function isReconnectHintShaped(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && (value as { kind?: unknown }).kind === 'reconnect-hint'
}

/** The epoch a batch or ack belongs to, legacy when it names none. */
export function epochOf(message: { readonly epoch?: string | undefined }): string {
  return message.epoch ?? LEGACY_EPOCH
}

/**
 * The hub's dedupe rule for one batch, given the highest seq it has stored for the batch's
 * (node, epoch): records at or below it are duplicates (at-least-once resends), the rest are new.
 * Seqs only compare within an epoch; a new epoch starts from 0. Pure, so the rule is testable apart.
 */
export function dedupeBatch<R extends { readonly seq: number }>(records: readonly R[], lastSeq: number): { fresh: R[]; duplicates: number; ackSeq: number } {
  let last = lastSeq
  const fresh: R[] = []
  for (const record of [...records].sort((a, b) => a.seq - b.seq)) {
    if (record.seq <= last) continue
    fresh.push(record)
    last = record.seq
  }
  return { fresh, duplicates: records.length - fresh.length, ackSeq: last }
}

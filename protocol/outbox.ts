import { z } from 'zod'
import { NodeId, Seq } from './primitives.js'
import { NodeEvent, NodeStatus } from './status.js'

/**
 * A record from an agent's durable outbox. `seq` grows per node; the hub deduplicates on
 * (nodeId, seq) and acknowledges, after which the agent deletes the record.
 */
export const OutboxRecord = z.discriminatedUnion('kind', [
  z.strictObject({ nodeId: NodeId, seq: Seq, kind: z.literal('status'), body: NodeStatus }),
  z.strictObject({ nodeId: NodeId, seq: Seq, kind: z.literal('event'), body: NodeEvent }),
])
export type OutboxRecord = z.infer<typeof OutboxRecord>
export type OutboxKind = OutboxRecord['kind']

/** Several records in one message, in seq order; batching keeps small links efficient. */
export const OutboxBatch = z.strictObject({
  nodeId: NodeId,
  records: z.array(OutboxRecord).min(1).max(500),
})
export type OutboxBatch = z.infer<typeof OutboxBatch>

/** Cumulative: the hub has durably stored every record of this node up to and including `seq`. */
export const Ack = z.strictObject({
  nodeId: NodeId,
  seq: z.number().int().nonnegative(),
})
export type Ack = z.infer<typeof Ack>

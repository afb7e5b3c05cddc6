import { z } from 'zod'
import { LabelKey, LabelValue, Name, NodeId } from '../primitives.js'

/** The most nodes one bulk request may name: a fleet's worth, within the request size bound. */
export const MAX_BULK_NODES = 10_000

const target = {
  nodes: z.array(NodeId).min(1, 'name at least one node').max(MAX_BULK_NODES, `at most ${MAX_BULK_NODES} nodes per request`),
  dryRun: z.boolean().optional().describe('true: answer what would change and which copies would move where; change nothing'),
}

/** POST /api/v1/nodes/bulk: one action on many nodes, as `shoal label`, `cordon`, `uncordon` and `drain` do on one. */
export const BulkNodeRequest = z.discriminatedUnion('action', [
  z.strictObject({
    ...target,
    action: z.literal('label'),
    labels: z.record(LabelKey, LabelValue).refine((labels) => Object.keys(labels).length > 0, 'give at least one label to set'),
  }),
  z.strictObject({ ...target, action: z.literal('unlabel'), keys: z.array(LabelKey).min(1, 'give at least one label key to remove') }),
  z.strictObject({ ...target, action: z.literal('cordon') }),
  z.strictObject({ ...target, action: z.literal('uncordon') }),
  z.strictObject({ ...target, action: z.literal('drain') }),
])
export type BulkNodeRequest = z.infer<typeof BulkNodeRequest>
export type BulkNodeAction = BulkNodeRequest['action']

const Count = z.number().int().nonnegative()

/** What the action did (or would do) to one node. */
export const BulkNodeOutcome = z.strictObject({
  id: NodeId,
  outcome: z.enum(['changed', 'unchanged', 'not-found']),
  message: z.string(),
})
export type BulkNodeOutcome = z.infer<typeof BulkNodeOutcome>

/** A copy that moves: from null is a new copy, to null one that stops or waits for a node that can take it. */
export const CopyMove = z.strictObject({
  deployment: Name,
  workload: Name,
  replica: Count,
  from: NodeId.nullable(),
  to: NodeId.nullable(),
})
export type CopyMove = z.infer<typeof CopyMove>

export const BulkNodeResult = z.strictObject({
  action: z.enum(['label', 'unlabel', 'cordon', 'uncordon', 'drain']),
  dryRun: z.boolean(),
  nodes: z.array(BulkNodeOutcome),
  /** Where the scheduler sends copies because of the change (for a dry run: would send). */
  moves: z.array(CopyMove),
  /** Drain only: every-node copies that stay on their node. */
  kept: z.array(z.strictObject({ deployment: Name, workload: Name, node: NodeId, reason: z.string() })),
})
export type BulkNodeResult = z.infer<typeof BulkNodeResult>

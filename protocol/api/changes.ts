import { z } from 'zod'
import { IsoTime, Name, NodeId } from '../primitives.js'

/**
 * One message of GET /api/v1/stream (server-sent events: `event:` is its type, `data:` this
 * JSON). It says what changed, not how: clients fetch what they show again.
 */
export const Change = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('node'), nodeId: NodeId, reason: z.string() }),
  z.strictObject({ type: z.literal('deployment'), name: Name, reason: z.string() }),
  /** A Job or CronJob was applied (created, changed) or deleted; its runs' news come as events. */
  z.strictObject({ type: z.literal('job'), name: Name, reason: z.string() }),
  z.strictObject({ type: z.literal('cronjob'), name: Name, reason: z.string() }),
  z.strictObject({
    type: z.literal('event'),
    id: z.number().int().min(1),
    nodeId: NodeId.nullable(),
    eventType: z.string(),
    message: z.string(),
    /** When the hub recorded it, on its own clock. */
    receivedAt: IsoTime.optional(),
  }),
  /** An alert fired, resolved, was acknowledged or closed (GET /api/v1/alerts). */
  z.strictObject({ type: z.literal('alert'), id: z.number().int().min(1), state: z.enum(['firing', 'resolved', 'closed']) }),
])
export type Change = z.infer<typeof Change>

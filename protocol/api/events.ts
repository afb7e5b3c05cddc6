import { z } from 'zod'
import { IsoTime, NodeId } from '../primitives.js'
import { NodeEvent } from '../status.js'
import { listOf } from './envelopes.js'

/**
 * An event as the hub stored it: what a node reported (or the hub recorded itself: nodeId and
 * seq null), with the hub's id and the time it arrived on the hub's clock.
 */
export const EventView = NodeEvent.omit({ nodeId: true }).extend({
  id: z.number().int().min(1),
  nodeId: NodeId.nullable(),
  /** The agent's outbox seq it arrived with; null for events the hub recorded itself. */
  seq: z.number().int().min(1).nullable(),
  receivedAt: IsoTime,
})
export type EventView = z.infer<typeof EventView>

export const EventList = listOf(EventView)
export type EventList = z.infer<typeof EventList>

const SINCE = 'since must be an event id (a whole number ≥ 0)'
const LIMIT = 'limit must be between 1 and 1000'

/**
 * GET /api/v1/events. With `since`: the oldest events after that id, so a client pages forward
 * without gaps; without: the latest ones.
 */
export const EventsQuery = z.object({
  since: z.coerce
    .number({ error: SINCE })
    .int({ error: SINCE })
    .min(0, { error: SINCE })
    .optional()
    .describe('an event id: answer the events after it, oldest first'),
  limit: z.coerce.number({ error: LIMIT }).int({ error: LIMIT }).min(1, { error: LIMIT }).max(1000, { error: LIMIT }).default(200),
  node: z.string().optional().describe("only this node's events"),
})
export type EventsQuery = z.infer<typeof EventsQuery>

/** Every mutating API call, who made it and on what. */
export const AuditEntry = z.strictObject({
  id: z.number().int().min(1),
  at: IsoTime,
  actor: z.string(),
  action: z.string(),
  target: z.string(),
  /** JSON text of what changed, or null. */
  detail: z.string().nullable(),
})
export type AuditEntry = z.infer<typeof AuditEntry>

export const AuditList = listOf(AuditEntry)
export type AuditList = z.infer<typeof AuditList>

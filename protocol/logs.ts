import { z } from 'zod'
import { IsoTime, Name, NodeId } from './primitives.js'

/** Follow is bounded so a forgotten `logs -f` never streams forever over a metered link. */
export const MAX_FOLLOW_SECONDS = 600

export const LogRequest = z.strictObject({
  requestId: z.string().regex(/^[A-Za-z0-9-]{8,64}$/),
  nodeId: NodeId,
  workload: Name,
  tail: z.number().int().min(0).max(10_000).optional(),
  since: IsoTime.optional(),
  follow: z.boolean().default(false),
  followSeconds: z.number().int().min(1).max(MAX_FOLLOW_SECONDS).default(60),
})
export type LogRequest = z.infer<typeof LogRequest>

/** One bounded, ordered piece of a log stream; the last one has `end: true` (and `error` if it failed). */
export const LogChunk = z.strictObject({
  requestId: z.string().regex(/^[A-Za-z0-9-]{8,64}$/),
  nodeId: NodeId,
  seq: z.number().int().nonnegative(),
  lines: z
    .array(z.strictObject({ stream: z.enum(['stdout', 'stderr']), text: z.string().max(16_384), at: IsoTime.optional() }))
    .max(1000),
  end: z.boolean().default(false),
  error: z.string().max(2000).optional(),
})
export type LogChunk = z.infer<typeof LogChunk>

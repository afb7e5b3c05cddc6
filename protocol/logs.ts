import { z } from 'zod'
import { IsoTime, Name, NodeId } from './primitives.js'

/** Follow is bounded so a forgotten `logs -f` never streams forever over a metered link. */
export const MAX_FOLLOW_SECONDS = 600
/** Longest text of one line in a chunk (UTF-16 code units); longer lines travel in pieces. */
export const MAX_LOG_LINE_TEXT = 16_384
/** Most lines in one chunk. */
export const MAX_CHUNK_LINES = 1000

export const LogRequest = z.strictObject({
  requestId: z.string().regex(/^[A-Za-z0-9-]{8,64}$/),
  nodeId: NodeId,
  workload: Name,
  /** Which container of a several-container copy (default: its first); a one-container copy's is its deployment's name. */
  container: Name.optional(),
  tail: z.number().int().min(0).max(10_000).optional(),
  since: IsoTime.optional(),
  follow: z.boolean().default(false),
  followSeconds: z.number().int().min(1).max(MAX_FOLLOW_SECONDS).default(60),
  /** Stop serving this requestId (its client went away). The agent answers a cancel with silence. */
  cancel: z.boolean().optional(),
})
export type LogRequest = z.infer<typeof LogRequest>

/** One bounded, ordered piece of a log stream; the last one has `end: true` (and `error` if it failed). */
export const LogChunk = z.strictObject({
  requestId: z.string().regex(/^[A-Za-z0-9-]{8,64}$/),
  nodeId: NodeId,
  seq: z.number().int().nonnegative(),
  lines: z
    .array(z.strictObject({ stream: z.enum(['stdout', 'stderr']), text: z.string().max(MAX_LOG_LINE_TEXT), at: IsoTime.optional() }))
    .max(MAX_CHUNK_LINES),
  end: z.boolean().default(false),
  error: z.string().max(2000).optional(),
  /** With `error`: no container for the workload here, too many requests at once, or reading failed. */
  errorCode: z.enum(['not-found', 'busy', 'failed']).optional(),
})
export type LogChunk = z.infer<typeof LogChunk>

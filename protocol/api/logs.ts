import { z } from 'zod'
import { MAX_FOLLOW_SECONDS } from '../logs.js'
import { IsoTime, Name, NodeId } from '../primitives.js'

/**
 * GET /api/v1/deployments/:name/logs. Without tail or since, the last 1000 lines; since is a
 * duration back from now ("10m") or an RFC 3339 time. (hub/api/log-query.ts checks it and
 * says what is wrong in words.)
 */
export const LogsQuery = z.object({
  node: z.string().optional().describe("only this node's copy"),
  container: z.string().optional().describe('a container of a several-container copy (default: its first, init containers aside)'),
  tail: z.string().regex(/^\d+$/).optional().describe('the last this many lines (0 to 10000)'),
  since: z.string().optional().describe('a duration back from now ("10m") or an RFC 3339 time'),
  follow: z.enum(['true', 'false', '1', '0', '']).optional().describe('keep streaming new lines'),
  followSeconds: z.string().regex(/^\d+$/).optional().describe(`how long to follow (1 to ${MAX_FOLLOW_SECONDS})`),
})

const Where = { node: NodeId, workload: Name }

/**
 * One line of the NDJSON answer (application/x-ndjson): start (whose logs), then lines, gaps
 * and per-node errors as they come, then end. Blank lines are keep-alives.
 */
export const LogStreamRecord = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('start'), targets: z.array(z.strictObject(Where)) }),
  z.strictObject({ type: z.literal('line'), ...Where, stream: z.enum(['stdout', 'stderr']), text: z.string(), at: IsoTime.optional() }),
  z.strictObject({ type: z.literal('gap'), ...Where, missing: z.number().int().min(1) }),
  z.strictObject({ type: z.literal('error'), ...Where, code: z.string(), message: z.string() }),
  z.strictObject({ type: z.literal('end') }),
])
export type LogStreamRecord = z.infer<typeof LogStreamRecord>

import { z } from 'zod'

/**
 * The encodings an agent reads a desired document in besides plain JSON, declared in its
 * heartbeats (`Heartbeat.desiredEncodings`). The hub compresses a node's document only when
 * the node's latest heartbeat names the encoding: an agent from before compression never names
 * one and only ever gets plain JSON. The codec itself is in desired-compression.ts (kept apart so
 * that what loads this schema, the CLI among them, does not load zlib).
 */
export const DESIRED_GZIP = 'gzip'

/** What this agent reads (the codec's inflateDesired): said in every heartbeat. */
export const READABLE_DESIRED_ENCODINGS: readonly string[] = [DESIRED_GZIP]

/**
 * Any short token, not an enum: a heartbeat naming an encoding this hub does not know stays
 * valid (a strict enum would refuse the whole heartbeat), and the hub uses only those it knows.
 */
export const DesiredEncodings = z
  .array(z.string().regex(/^[a-z0-9-]{1,16}$/, 'an encoding is 1-16 of a-z, 0-9 and -'))
  .max(8)
  .describe('encodings besides plain JSON this agent reads a desired document in (absent: plain JSON only)')
export type DesiredEncodings = z.infer<typeof DesiredEncodings>

/** Whether a node that declared `declared` (its latest heartbeat's field; undefined: not declared) reads gzip. */
export function readsGzip(declared: readonly string[] | undefined): boolean {
  return declared?.includes(DESIRED_GZIP) ?? false
}

import { gunzipSync, gzipSync } from 'node:zlib'
import { MAX_BYTES, encodeMessage } from './codec.js'
import { readsGzip } from './desired-encoding.js'
import { ProtocolError } from './errors.js'

/**
 * A desired document on the wire: its JSON, or that JSON gzipped, in the same MQTT retained
 * message or NATS KV entry, with no envelope. A gzip stream starts with the bytes 0x1f 0x8b and
 * JSON never does (it starts with `{`, or whitespace before it), so the first two bytes tell the
 * two apart and nothing pays for base64. The signature covers the canonical JSON of the document
 * (signing.ts) and the agent verifies the inflated text, so compression changes neither what is
 * signed nor what is stored. gzip rather than raw deflate for its CRC-32: corrupt data is refused
 * by the inflater before the JSON parser sees it.
 */

/** The first two bytes of every gzip stream (RFC 1952). */
const GZIP_MAGIC = [0x1f, 0x8b] as const

/**
 * Documents of fewer JSON bytes go plain (docs/benchmarks.md, "Compressed desired documents"):
 * a one-workload document (~460 bytes) would save under 100 bytes, once per generation, while
 * three workloads (~880) already save 45%. Above it gzip costs the hub ~50-100 µs and the agent
 * ~15-30 µs per document up to 50 workloads, a tenth of verifying the signature.
 */
export const COMPRESS_DESIRED_FROM_BYTES = 512

/**
 * zlib's default level: at 256 workloads level 9 saves another 3% of the bytes for 60% more
 * hub CPU, level 1 costs a third more bytes (docs/benchmarks.md).
 */
export const DESIRED_GZIP_LEVEL = 6

export function isGzipped(payload: Buffer | Uint8Array | string): boolean {
  return typeof payload !== 'string' && payload.length >= 2 && payload[0] === GZIP_MAGIC[0] && payload[1] === GZIP_MAGIC[1]
}

export interface DesiredEncodingOptions {
  /** Compress from this many JSON bytes on (default COMPRESS_DESIRED_FROM_BYTES). */
  readonly fromBytes?: number
  readonly level?: number
}

/**
 * The bytes to publish for a node's document: gzipped when the node's latest heartbeat says it
 * reads gzip (`declared`: its `desiredEncodings`) and the JSON is at least `fromBytes` long and
 * shrinks; plain JSON otherwise. Pure.
 */
export function encodeDesired(document: unknown, declared: readonly string[] | undefined, options: DesiredEncodingOptions = {}): Buffer {
  const json = encodeMessage(document)
  if (!readsGzip(declared) || json.length < (options.fromBytes ?? COMPRESS_DESIRED_FROM_BYTES)) return json
  const gzipped = gzipSync(json, { level: options.level ?? DESIRED_GZIP_LEVEL })
  return gzipped.length < json.length ? gzipped : json
}

/**
 * The JSON text of a desired document as received: a gzipped payload inflated to at most
 * `maxBytes` (a zip bomb stops there, refused `oversize`; truncated or corrupt data is refused
 * `bad-compression`), anything else returned as it is, for decodeJson's own checks. Pure.
 */
export function inflateDesired<P extends Buffer | Uint8Array | string>(payload: P, maxBytes: number = MAX_BYTES.desired): P | Buffer {
  if (!isGzipped(payload)) return payload
  if (payload.length > maxBytes) throw new ProtocolError('oversize', `compressed payload of ${payload.length} bytes exceeds the limit of ${maxBytes} bytes`)
  try {
    // Z_FINISH (the default flush) refuses a stream that ends early instead of returning what it has.
    return gunzipSync(payload, { maxOutputLength: maxBytes })
  } catch (cause) {
    const code = (cause as { code?: unknown }).code
    if (code === 'ERR_BUFFER_TOO_LARGE')
      throw new ProtocolError('oversize', `compressed payload of ${payload.length} bytes inflates past the limit of ${maxBytes} bytes`)
    throw new ProtocolError('bad-compression', `compressed payload of ${payload.length} bytes cannot be inflated: ${(cause as Error).message}`)
  }
}

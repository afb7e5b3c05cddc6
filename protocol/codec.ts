import type { z } from 'zod'
import { ProtocolError, describeIssues, issuesFromZod, readableIssue } from './errors.js'
import { describeDepthExceeded, jsonDepthExceeded } from './input-bounds.js'
import { SESSION_MAX_FRAME_BYTES } from './session-limits.js'

export { MAX_NESTING_DEPTH } from './input-bounds.js'

/** Upper bounds per message, so one bad publisher cannot make a small device allocate megabytes. */
export const MAX_BYTES = {
  desired: 1024 * 1024,
  outbox: 512 * 1024,
  ack: 1024,
  heartbeat: 8 * 1024,
  presence: 1024,
  'logs-request': 4 * 1024,
  'logs-chunk': 256 * 1024,
  'session-in': SESSION_MAX_FRAME_BYTES,
  'session-out': SESSION_MAX_FRAME_BYTES,
  manifest: 1024 * 1024,
} as const

export function encodeMessage(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value))
}

/**
 * Parses JSON bytes without validating, after the size and nesting checks (both on the text, before
 * the parser sees it): for callers that must verify a signature first.
 */
export function decodeJson(payload: Buffer | Uint8Array | string, maxBytes: number): unknown {
  const size = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.byteLength
  if (size > maxBytes) throw new ProtocolError('oversize', `payload of ${size} bytes exceeds the limit of ${maxBytes} bytes`)
  const text = typeof payload === 'string' ? payload : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('utf8')
  const tooDeep = jsonDepthExceeded(text)
  if (tooDeep) throw new ProtocolError('too-deep', describeDepthExceeded(tooDeep))
  let value: unknown
  try {
    // The reviver costs time on every key: only text that could spell the key (directly or
    // through \u escapes) pays for it.
    value = text.includes('__proto__') || text.includes('\\u') ? JSON.parse(text, refuseProtoKey) : JSON.parse(text)
  } catch (cause) {
    if (cause instanceof ProtocolError) throw cause
    throw new ProtocolError('malformed-json', `payload is not JSON: ${(cause as Error).message}`)
  }
  return value
}

/**
 * JSON.parse keeps "__proto__" as an own key, but every object built from it by assignment (zod
 * records among them) drops it without a word: refuse it where the text comes in.
 */
function refuseProtoKey(key: string, value: unknown): unknown {
  if (key === '__proto__') throw new ProtocolError('invalid', '"__proto__" cannot be a key: it would be dropped without a word')
  return value
}

export function validate<S extends z.ZodType>(schema: S, value: unknown, what: string): z.infer<S> {
  const result = schema.safeParse(value, { error: readableIssue })
  if (result.success) return result.data
  const issues = issuesFromZod(result.error)
  throw new ProtocolError('invalid', `invalid ${what}: ${describeIssues(issues)}`, issues)
}

/** Size and nesting checks, JSON parse and schema validation in one; every refusal is a typed ProtocolError. */
export function decodeMessage<S extends z.ZodType>(schema: S, payload: Buffer | Uint8Array | string, options: { maxBytes: number; what: string }): z.infer<S> {
  return validate(schema, decodeJson(payload, options.maxBytes), options.what)
}

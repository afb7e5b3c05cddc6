import type { z } from 'zod'
import { MAX_BYTES, ProtocolError, decodeMessage } from '../../protocol/index.js'
import { badRequest } from './http-errors.js'
import type { RequestContext } from './router.js'

/** A JSON body checked with its contract schema; an empty body reads as `{}`; a refusal is a 400 with every issue. */
export async function jsonBody<S extends z.ZodType>(context: RequestContext, schema: S, what: string): Promise<z.infer<S>> {
  const body = await context.body()
  try {
    return decodeMessage(schema, body.byteLength === 0 ? '{}' : body, { maxBytes: MAX_BYTES.manifest, what })
  } catch (error) {
    if (error instanceof ProtocolError) throw badRequest(error.message, error.issues)
    throw error
  }
}

export type JsonBody = typeof jsonBody

/**
 * A query checked with its schema: each of the schema's keys read once (the first value wins,
 * as URLSearchParams.get has it); a refusal is a 400 with the first problem's message.
 */
export function queryOf<S extends z.ZodObject>(context: RequestContext, schema: S): z.infer<S> {
  const raw: Record<string, string> = {}
  for (const key of Object.keys(schema.shape)) {
    const value = context.url.searchParams.get(key)
    if (value !== null) raw[key] = value
  }
  const parsed = schema.safeParse(raw)
  if (!parsed.success) throw badRequest(parsed.error.issues[0]?.message ?? 'bad query')
  return parsed.data
}

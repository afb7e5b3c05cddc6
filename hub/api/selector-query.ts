import { z } from 'zod'
import { SelectorSyntaxError, parseSelectorString, type LabelSelector } from '../../protocol/index.js'
import { SelectorQuery } from '../../protocol/api/index.js'
import { badRequest } from './http-errors.js'
import { queryOf } from './request.js'
import type { RequestContext } from './router.js'

/** A list's `?selector=` as a label selector; a malformed one is a 400. */
export function selectorOf(context: RequestContext): LabelSelector | undefined {
  const text = queryOf(context, SelectorQuery).selector
  try {
    return text ? parseSelectorString(text) : undefined
  } catch (error) {
    if (error instanceof SelectorSyntaxError || error instanceof z.ZodError) throw badRequest(`bad selector: ${(error as Error).message}`)
    throw error
  }
}

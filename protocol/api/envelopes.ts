import { z } from 'zod'

/** Every list the API answers is `{ items: [...] }`, so a field can join it without breaking clients. */
export function listOf<T extends z.ZodType>(item: T) {
  return z.strictObject({ items: z.array(item) })
}

/** `?selector=` on a list: nodes by their labels, deployments by theirs. */
export const SelectorQuery = z.object({
  selector: z.string().optional().describe('a label selector, as kubectl writes one: "site=a,tier in (edge,core),!gpu"'),
})

/**
 * One problem the hub found in a request. Manifests add where it is (document, dotted path,
 * 1-based line and column); other refusals may carry other fields.
 */
export const ErrorDetail = z.looseObject({
  documentIndex: z.number().int().nonnegative().optional(),
  path: z.string().optional(),
  message: z.string().optional(),
  line: z.number().int().min(1).optional(),
  column: z.number().int().min(1).optional(),
})
export type ErrorDetail = z.infer<typeof ErrorDetail>

/** One problem in posted manifests: which document, the field's dotted path, and where (1-based). */
export const ManifestIssue = z.strictObject({
  documentIndex: z.number().int().nonnegative(),
  path: z.string(),
  message: z.string(),
  line: z.number().int().min(1).optional(),
  column: z.number().int().min(1).optional(),
})
export type ManifestIssue = z.infer<typeof ManifestIssue>

/** Every refusal: a stable code, a message that says what to do, and the problems found. */
export const ApiErrorBody = z.strictObject({
  error: z.strictObject({
    code: z.string(),
    message: z.string(),
    details: z.array(ErrorDetail).optional(),
  }),
})
export type ApiErrorBody = z.infer<typeof ApiErrorBody>

import type { z } from 'zod'

/** One thing wrong with an input, with the dotted path of the offending field ("spec.template.image"). */
export interface ValidationIssue {
  readonly path: string
  readonly message: string
  /** The raw path, for locating the field in a source file (label keys may hold dots). */
  readonly segments?: readonly PropertyKey[]
  /** The field itself is the fault (an unknown or malformed key), not its value. */
  readonly unknownField?: boolean
}

/** `bad-compression`: a gzipped desired document that is truncated or corrupt (desired-compression.ts). */
export type ProtocolErrorCode = 'oversize' | 'too-deep' | 'malformed-json' | 'bad-compression' | 'invalid' | 'bad-signature' | 'unknown-kind'

/** Any input the protocol refuses: the code says what kind of fault, `issues` say where. */
export class ProtocolError extends Error {
  constructor(
    readonly code: ProtocolErrorCode,
    message: string,
    readonly issues: readonly ValidationIssue[] = [],
  ) {
    super(message)
    this.name = 'ProtocolError'
  }

  /** The first offending path, or '' for faults of the whole payload. */
  get path(): string {
    return this.issues[0]?.path ?? ''
  }
}

export function formatPath(path: readonly PropertyKey[]): string {
  let text = ''
  for (const segment of path) {
    if (typeof segment === 'number') text += `[${segment}]`
    else text += text === '' ? String(segment) : `.${String(segment)}`
  }
  return text
}

/**
 * Flattens zod issues into one issue per offending field. Unknown keys become one issue each,
 * with the key in the path, so an editor can point at the typo itself.
 */
export function issuesFromZod(error: z.ZodError): ValidationIssue[] {
  const issues: ValidationIssue[] = []
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const segments = [...issue.path, key]
        issues.push({ path: formatPath(segments), message: `unknown field "${key}"`, segments, unknownField: true })
      }
    } else if (issue.code === 'invalid_key') {
      // A record key (label key, env name) that fails its own schema: say why, and point at the key.
      const key = issue.path[issue.path.length - 1]
      const reason = issue.issues.map((inner) => inner.message).join('; ') || issue.message
      issues.push({ path: formatPath(issue.path), message: `invalid key ${JSON.stringify(String(key))}: ${reason}`, segments: issue.path, unknownField: true })
    } else if (issue.code === 'invalid_union' && issue.errors.length > 0) {
      // The one branch the value has the shape of (its faults are inside it) says what is wrong;
      // else the union's own message, when the schema gave one.
      const inside = issue.errors.filter((branch) => branch.every((inner) => inner.path.length > 0 || inner.code === 'custom'))
      const [only] = inside.length === 1 ? inside : [closestObjectBranch(issue.errors)]
      if (only) {
        const nested = issuesFromZod({ issues: only.map((inner) => ({ ...inner, path: [...issue.path, ...inner.path] })) } as z.ZodError)
        issues.push(...nested)
      } else {
        const message = issue.message !== 'Invalid input' ? issue.message : describeUnion(issue.errors)
        issues.push({ path: formatPath(issue.path), message: namedMissing(message, issue.path), segments: issue.path })
      }
    } else {
      issues.push({ path: formatPath(issue.path), message: namedMissing(issue.message, issue.path), segments: issue.path })
    }
  }
  return issues
}

const MISSING_VALUE = 'a value is required'

/** A union's branches judge a missing value before they know the field's name: name it here. */
function namedMissing(message: string, path: readonly PropertyKey[]): string {
  const field = path[path.length - 1]
  return message === MISSING_VALUE && typeof field === 'string' ? `required field ${JSON.stringify(field)} is missing` : message
}

/**
 * Error map for `schema.safeParse(value, { error: readableIssue })`: says "missing" for a missing
 * field and what was given for a wrong constant or enum value, where zod's defaults say neither.
 * Everything else keeps zod's message.
 */
export function readableIssue(issue: z.core.$ZodRawIssue): string | undefined {
  if (issue.code === 'invalid_type' && issue.input === undefined) {
    const field = issue.path?.[issue.path.length - 1]
    return field === undefined ? MISSING_VALUE : `required field ${JSON.stringify(String(field))} is missing`
  }
  if (issue.code === 'invalid_value') {
    const allowed = issue.values.map((value) => JSON.stringify(value))
    const expected = allowed.length === 1 ? `must be ${allowed[0]}` : `must be one of ${allowed.slice(0, -1).join(', ')} or ${allowed.at(-1)}`
    return `${expected}, not ${shortJson(issue.input)}`
  }
  return undefined
}

function shortJson(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value)
  return text.length > 40 ? `${text.slice(0, 37)}...` : text
}

/**
 * Of a union of objects (a template: one container or several), the branch the value is closest
 * to: the one not missing a field it needs, then the one with the fewest faults (each unknown field
 * one), then the first. Undefined when a branch is not an object's (a value of another type).
 */
function closestObjectBranch(branches: readonly (readonly z.core.$ZodIssue[])[]): readonly z.core.$ZodIssue[] | undefined {
  const objectFaults = (branch: readonly z.core.$ZodIssue[]): boolean =>
    branch.length > 0 && branch.every((inner) => inner.path.length > 0 || inner.code === 'unrecognized_keys' || inner.code === 'custom')
  if (branches.length < 2 || !branches.every(objectFaults)) return undefined
  const missing = (branch: readonly z.core.$ZodIssue[]): number =>
    branch.filter((inner) => inner.code === 'invalid_type' && inner.path.length === 1 && inner.input === undefined).length
  const faults = (branch: readonly z.core.$ZodIssue[]): number =>
    branch.reduce((sum, inner) => sum + (inner.code === 'unrecognized_keys' ? inner.keys.length : 1), 0)
  return [...branches].sort((a, b) => missing(a) - missing(b) || faults(a) - faults(b))[0]
}

function describeUnion(branches: readonly (readonly z.core.$ZodIssue[])[]): string {
  const messages = new Set(branches.flat().map((issue) => issue.message))
  return [...messages].join('; or ')
}

export function describeIssues(issues: readonly ValidationIssue[]): string {
  return issues.map((issue) => (issue.path === '' ? issue.message : `${issue.path}: ${issue.message}`)).join('; ')
}

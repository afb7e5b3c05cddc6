import { z } from 'zod'
import { describeIssues, issuesFromZod } from './errors.js'
import { LabelKey, LabelValue, Labels } from './primitives.js'

export const SelectorOperator = z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist'])
export type SelectorOperator = z.infer<typeof SelectorOperator>

export const MatchExpression = z
  .strictObject({
    key: LabelKey,
    operator: SelectorOperator,
    values: z.array(LabelValue).optional(),
  })
  .superRefine((expression, ctx) => {
    const needsValues = expression.operator === 'In' || expression.operator === 'NotIn'
    if (needsValues && (expression.values === undefined || expression.values.length === 0)) {
      ctx.addIssue({ code: 'custom', path: ['values'], message: `operator ${expression.operator} needs at least one value` })
    }
    if (!needsValues && expression.values !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['values'], message: `operator ${expression.operator} takes no values` })
    }
  })
export type MatchExpression = z.infer<typeof MatchExpression>

/** A Kubernetes-style label selector; every term must hold (AND). An empty selector matches everything. */
export const LabelSelector = z.strictObject({
  matchLabels: Labels.optional(),
  matchExpressions: z.array(MatchExpression).max(64).optional(),
})
export type LabelSelector = z.infer<typeof LabelSelector>

export function expressionMatches(expression: MatchExpression, labels: Readonly<Record<string, string>>): boolean {
  const has = Object.hasOwn(labels, expression.key)
  const value = labels[expression.key]
  switch (expression.operator) {
    case 'In':
      return has && (expression.values ?? []).includes(value ?? '')
    case 'NotIn':
      return !has || !(expression.values ?? []).includes(value ?? '')
    case 'Exists':
      return has
    case 'DoesNotExist':
      return !has
    default: {
      const unreachable: never = expression.operator
      throw new Error(`unknown selector operator ${String(unreachable)}`)
    }
  }
}

export function selectorMatches(selector: LabelSelector | undefined, labels: Readonly<Record<string, string>>): boolean {
  return selectorMismatches(selector, labels).length === 0
}

/** The terms of a selector that these labels fail, in words, so a scheduler can say why a node was left out. */
export function selectorMismatches(selector: LabelSelector | undefined, labels: Readonly<Record<string, string>>): string[] {
  if (!selector) return []
  const failures: string[] = []
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (labels[key] !== value) failures.push(`${key}=${value}`)
  }
  for (const expression of selector.matchExpressions ?? []) {
    if (!expressionMatches(expression, labels)) failures.push(describeExpression(expression))
  }
  return failures
}

export function describeExpression(expression: MatchExpression): string {
  switch (expression.operator) {
    case 'In':
      return `${expression.key} in (${(expression.values ?? []).join(',')})`
    case 'NotIn':
      return `${expression.key} notin (${(expression.values ?? []).join(',')})`
    case 'Exists':
      return expression.key
    case 'DoesNotExist':
      return `!${expression.key}`
  }
}

/**
 * Parses the kubectl selector syntax used by `-l`: `a=b,c!=d,e in (x,y),f notin (z),g,!h`.
 * Returns the selector, or throws a SelectorSyntaxError naming the term that could not be read.
 */
export function parseSelectorString(text: string): LabelSelector {
  const matchLabels: Record<string, string> = {}
  const matchExpressions: MatchExpression[] = []
  for (const term of splitTerms(text)) {
    const read = readTerm(term)
    if (read === null) throw new SelectorSyntaxError(term)
    const checked = MatchExpression.safeParse(read.expression)
    if (!checked.success) throw new SelectorSyntaxError(term, describeIssues(issuesFromZod(checked.error)))
    const { key, values } = checked.data
    // `k=v` goes to matchLabels as kubectl does; a second `k=w` must then match nothing (every
    // term holds), so it stays an expression instead of overwriting the first.
    if (read.equality && !Object.hasOwn(matchLabels, key)) matchLabels[key] = values?.[0] ?? ''
    else matchExpressions.push(checked.data)
  }
  return { matchLabels, matchExpressions }
}

/** One term as an expression (`k=v` read as `k In (v)`), or null when it follows no known form. */
function readTerm(term: string): { expression: MatchExpression; equality: boolean } | null {
  let match: RegExpExecArray | null
  if ((match = /^([^\s=!(),]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(term))) {
    const values = (match[3] ?? '')
      .split(',')
      .map((v) => v.trim())
      .filter((v) => v !== '')
    return { expression: { key: match[1] ?? '', operator: match[2] === 'in' ? 'In' : 'NotIn', values }, equality: false }
  }
  if ((match = /^([^\s=!(),]+)\s*!=\s*([^\s=!(),]*)$/.exec(term))) {
    return { expression: { key: match[1] ?? '', operator: 'NotIn', values: [match[2] ?? ''] }, equality: false }
  }
  if ((match = /^([^\s=!(),]+)\s*==?\s*([^\s=!(),]*)$/.exec(term))) {
    return { expression: { key: match[1] ?? '', operator: 'In', values: [match[2] ?? ''] }, equality: true }
  }
  if ((match = /^!\s*([^\s=!(),]+)$/.exec(term))) return { expression: { key: match[1] ?? '', operator: 'DoesNotExist' }, equality: false }
  if ((match = /^([^\s=!(),]+)$/.exec(term))) return { expression: { key: match[1] ?? '', operator: 'Exists' }, equality: false }
  return null
}

export class SelectorSyntaxError extends Error {
  readonly code = 'selector-syntax'
  constructor(
    readonly term: string,
    reason = 'use k=v, k!=v, k in (a,b), k notin (a), k or !k',
  ) {
    super(`cannot read selector term ${JSON.stringify(term)}: ${reason}`)
    this.name = 'SelectorSyntaxError'
  }
}

function splitTerms(text: string): string[] {
  const terms: string[] = []
  let depth = 0
  let current = ''
  for (const char of text) {
    if (char === '(') depth++
    if (char === ')') depth--
    if (char === ',' && depth === 0) {
      terms.push(current.trim())
      current = ''
    } else {
      current += char
    }
  }
  if (current.trim() !== '') terms.push(current.trim())
  return terms.filter((term) => term !== '')
}

import { selectorMatches, type CanaryStep } from '../../protocol/index.js'
import type { RolloutCopy } from './rollout-types.js'

/**
 * The copies a canary reaches by the end of step `upTo` (0-based). Steps are cumulative: a
 * `count` or `percent` is the total by then, topped up from the copies not yet reached in node
 * order; a `selector` adds the copies on matching nodes. Deterministic, so every pass agrees.
 */
export function canaryMembers(steps: readonly CanaryStep[], upTo: number, copies: readonly RolloutCopy[]): Set<string> {
  const ordered = [...copies].sort((a, b) => a.nodeId.localeCompare(b.nodeId) || a.key.localeCompare(b.key))
  const members = new Set<string>()
  for (const step of steps.slice(0, upTo + 1)) {
    if (step.selector !== undefined) {
      for (const copy of ordered) if (selectorMatches(step.selector, copy.nodeLabels)) members.add(copy.key)
      continue
    }
    const total = step.count ?? Math.ceil(((step.percent ?? 0) * copies.length) / 100)
    for (const copy of ordered) {
      if (members.size >= total) break
      members.add(copy.key)
    }
  }
  return members
}

export function describeStep(step: CanaryStep): string {
  if (step.selector !== undefined) {
    const labels = Object.entries(step.selector.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`)
    return labels.length > 0 && !step.selector.matchExpressions?.length ? labels.join(',') : 'selector'
  }
  return step.count !== undefined ? `${step.count} copies` : `${step.percent}%`
}

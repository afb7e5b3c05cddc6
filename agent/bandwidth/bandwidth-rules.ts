import { LINK_LABEL, memoryBytes, type BandwidthRules, type NodeBandwidth } from '../../protocol/index.js'
import type { PullRules } from './pull-decision.js'

/**
 * The rules in force: each field the hub sends for this node (its shoal.io/* labels) replaces the
 * firmware profile's; the link is the hub's `link` label for the node, else the agent's own
 * (--label link=...). Pure.
 */
export function effectiveRules(profile: BandwidthRules | undefined, node: NodeBandwidth | undefined, localLabels: Readonly<Record<string, string>>): PullRules {
  const budget = node?.monthlyBudget ?? profile?.monthlyBudget
  return {
    budgetBytes: budget === undefined ? null : memoryBytes(budget),
    windows: node?.pullWindows ?? profile?.pullWindows ?? null,
    links: node?.pullOnLinks ?? profile?.pullOnLinks ?? null,
    link: node?.link ?? localLabels[LINK_LABEL] ?? null,
  }
}

/** Whether any rule limits pulls at all (with none, the agent never asks). */
export function hasPullRules(rules: PullRules): boolean {
  return rules.budgetBytes !== null || rules.windows !== null || rules.links !== null
}

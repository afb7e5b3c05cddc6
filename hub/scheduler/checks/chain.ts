import type { Demand } from '../demand.js'
import type { Amounts, Rejection, SchedulerNode } from '../types.js'
import type { Checker, CheckKind } from './checker.js'
import { dataAffinityCheck } from './data-affinity.js'
import { devicesCheck, policyCheck } from './node-policy.js'
import { cordonedCheck, readyCheck } from './node-state.js'
import { archCheck, capabilitiesCheck, profileCheck } from './requirements.js'
import { resourcesCheck } from './resources.js'
import { selectorCheck } from './selector.js'

/**
 * Every feasibility check in the order a node meets them: what the node is first (its policy
 * among that), then what it has plugged in, its state, then its room. A node is counted under
 * the first check it fails.
 */
export const CHECKS: readonly Checker[] = [
  selectorCheck,
  archCheck,
  capabilitiesCheck,
  profileCheck,
  dataAffinityCheck,
  policyCheck,
  devicesCheck,
  cordonedCheck,
  readyCheck,
  resourcesCheck,
]

export function checksOf(...kinds: CheckKind[]): readonly Checker[] {
  return CHECKS.filter((checker) => kinds.includes(checker.kind))
}

export const ELIGIBILITY = checksOf('eligibility')
export const ADMISSION = checksOf('admission')
export const CAPACITY = checksOf('capacity')

export function firstRejection(checks: readonly Checker[], node: SchedulerNode, demand: Demand, used: Amounts): Rejection | null {
  for (const checker of checks) {
    const rejection = checker.check(node, demand, used)
    if (rejection !== null) return rejection
  }
  return null
}

export function allRejections(checks: readonly Checker[], node: SchedulerNode, demand: Demand, used: Amounts): Rejection[] {
  const rejections: Rejection[] = []
  for (const checker of checks) {
    const rejection = checker.check(node, demand, used)
    if (rejection !== null) rejections.push(rejection)
  }
  return rejections
}

import { selectorMismatches } from '../../../protocol/selector.js'
import type { Checker } from './checker.js'

/** The node's labels satisfy every term of the deployment's selector; the failing terms are named. */
export const selectorCheck: Checker = {
  name: 'selector',
  kind: 'eligibility',
  check(node, demand) {
    const failing = selectorMismatches(demand.spec.selector, node.labels)
    if (failing.length === 0) return null
    return { check: 'selector', reason: `do not match selector ${failing.join(', ')}` }
  },
}

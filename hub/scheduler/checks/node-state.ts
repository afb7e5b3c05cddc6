import type { Checker } from './checker.js'

/** A cordoned node takes no new copies; those it already runs stay. */
export const cordonedCheck: Checker = {
  name: 'cordoned',
  kind: 'admission',
  check(node) {
    return node.cordoned ? { check: 'cordoned', reason: 'are cordoned' } : null
  },
}

/**
 * Only an online node takes new copies. What happens to copies on an offline node
 * (kept within grace, moved or waiting after it) is the reconcile step's business.
 */
export const readyCheck: Checker = {
  name: 'ready',
  kind: 'admission',
  check(node) {
    return node.online ? null : { check: 'ready', reason: 'are offline' }
  },
}

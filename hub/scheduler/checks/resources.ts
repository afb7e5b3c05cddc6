import { freeOn } from '../usage.js'
import type { Checker } from './checker.js'

/**
 * The copy's requests fit in the node's capacity minus its profile's reservation minus what
 * other placements on it already use (including those made earlier in the same pass).
 * A resource the deployment does not request never rejects a node.
 */
export const resourcesCheck: Checker = {
  name: 'resources',
  kind: 'capacity',
  check(node, demand, used) {
    const free = freeOn(node, used)
    const { request } = demand
    const short: string[] = []
    if (request.cpuMillis > 0 && request.cpuMillis > free.cpuMillis) short.push('cpu')
    if (request.memoryBytes > 0 && request.memoryBytes > free.memoryBytes) short.push('memory')
    if (request.gpus > 0 && request.gpus > free.gpus) short.push('gpu')
    if (short.length === 0) return null
    return { check: 'resources', reason: `have insufficient ${short.join(', ')}` }
  },
}

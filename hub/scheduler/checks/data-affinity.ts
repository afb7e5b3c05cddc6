import { holdsData } from '../demand.js'
import { listed, type Checker } from './checker.js'

/** `affinity.data.required`: the node holds every data set listed (label `data=X` or key `data/X`). */
export const dataAffinityCheck: Checker = {
  name: 'data-affinity',
  kind: 'eligibility',
  check(node, demand) {
    const missing = demand.dataRequired.filter((dataSet) => !holdsData(node, dataSet))
    if (missing.length === 0) return null
    return { check: 'data-affinity', reason: `lack ${listed('data set', 'data sets', missing)}` }
  },
}

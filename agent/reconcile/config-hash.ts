import { createHash } from 'node:crypto'
import { canonicalJson, type Workload } from '../../protocol/index.js'

/**
 * A short hash of everything that shapes the container. Stored as a label at create time, so
 * after a restart the agent can tell which containers still match without recreating them.
 * The revision is left out: a new revision with an identical template needs no new container.
 */
export function configHash(workload: Workload, nodeId: string): string {
  const shaping = { name: workload.name, nodeId, template: workload.template }
  return createHash('sha256').update(canonicalJson(shaping)).digest('hex').slice(0, 16)
}

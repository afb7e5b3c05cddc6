import { createHash } from 'node:crypto'
import { canonicalJson, type Workload, type WorkloadValues } from '../../protocol/index.js'

/**
 * A short hash of everything that shapes the container. Stored as a label at create time, so
 * after a restart the agent can tell which containers still match without recreating them.
 * The revision is left out: a new revision with an identical template needs no new container.
 * Values count by what the container gets: a Config's data (not its version: a version whose data
 * for this node is unchanged restarts nothing), a Secret's version and the overrides applied to it
 * (never its sealed bytes, which the hub may seal again for the same value). A workload without
 * values hashes exactly as before they existed, so an agent upgrade restarts nothing.
 */
export function configHash(workload: Workload, nodeId: string): string {
  const values = valuesShape(workload.values)
  const shaping = values ? { name: workload.name, nodeId, template: workload.template, values } : { name: workload.name, nodeId, template: workload.template }
  return createHash('sha256').update(canonicalJson(shaping)).digest('hex').slice(0, 16)
}

function valuesShape(values: WorkloadValues | undefined): object | undefined {
  const configs = Object.entries(values?.configs ?? {})
  const secrets = Object.entries(values?.secrets ?? {})
  if (configs.length === 0 && secrets.length === 0) return undefined
  return {
    configs: Object.fromEntries(configs.map(([name, config]) => [name, { data: config.data }])),
    secrets: Object.fromEntries(secrets.map(([name, secret]) => [name, { version: secret.version, overrides: secret.overrides }])),
  }
}

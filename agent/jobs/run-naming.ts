import { CRON_RUN_STEM, STATIC_PREFIX } from '../static-names.js'
import { cronKeyParts } from './cron-source.js'

/**
 * How a cron job's runs are named as workloads: `static-cron-<job>-<id>` for a static cron job,
 * `cron-<job>-<id>` for one the hub sent, where `id` is the run's row id in the agent's database,
 * unique over all cron jobs and never reused (AUTOINCREMENT). Since the id comes last and is
 * unique, two runs never share a name, also when long job names are cut to fit the 63-character
 * limit. Neither static nor hub Deployments may be named `cron-…` (static-workloads.ts and the
 * hub's apply refuse them), so a run cannot take a Deployment's copy's name either.
 */
export const CRON_RUN_PREFIX = `${STATIC_PREFIX}${CRON_RUN_STEM}`

/** The prefix of a hub cron job's runs. */
export const HUB_CRON_RUN_PREFIX = CRON_RUN_STEM

const NAME_MAX = 63

function prefixOf(key: string): { prefix: string; name: string } {
  const { source, name } = cronKeyParts(key)
  return { prefix: source === 'hub' ? HUB_CRON_RUN_PREFIX : CRON_RUN_PREFIX, name }
}

/** The workload name of run `runId` of the cron job keyed `key` (cron-source.ts). */
export function runWorkloadName(key: string, runId: number): string {
  const { prefix, name } = prefixOf(key)
  const suffix = `-${runId}`
  const room = NAME_MAX - prefix.length - suffix.length
  return `${prefix}${trimmed(name, room)}${suffix}`
}

/** The `deployment` of a cron job's run workloads: the same for every run of one cron job (`static-cron-<job>`, `cron-<job>`). */
export function runDeployment(key: string): string {
  const { prefix, name } = prefixOf(key)
  return `${prefix}${trimmed(name, NAME_MAX - prefix.length)}`
}

/** Cut to `room` characters, without a trailing hyphen (a name ends with a letter or digit). */
function trimmed(name: string, room: number): string {
  return name.slice(0, room).replace(/-+$/, '')
}

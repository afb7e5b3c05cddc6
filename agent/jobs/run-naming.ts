import { CRON_RUN_STEM, STATIC_PREFIX } from '../static-names.js'

/**
 * How a cron job's runs are named as workloads: `static-cron-<job>-<id>`, where `id` is the run's
 * row id in the agent's database, unique over all cron jobs and never reused (AUTOINCREMENT).
 * Since the id comes last and is unique, two runs never share a name, also when long job names
 * are cut to fit the 63-character limit. Static Deployments may not be named `cron-…`
 * (static-workloads.ts refuses them), so a run cannot take a static Deployment's name either.
 */
export const CRON_RUN_PREFIX = `${STATIC_PREFIX}${CRON_RUN_STEM}`

const NAME_MAX = 63

/** The workload name of run `runId` of cron job `cronJob`. */
export function runWorkloadName(cronJob: string, runId: number): string {
  const suffix = `-${runId}`
  const room = NAME_MAX - CRON_RUN_PREFIX.length - suffix.length
  return `${CRON_RUN_PREFIX}${trimmed(cronJob, room)}${suffix}`
}

/** The `deployment` of a cron job's run workloads: the same for every run of one cron job (`static-cron-<job>`). */
export function runDeployment(cronJob: string): string {
  return `${CRON_RUN_PREFIX}${trimmed(cronJob, NAME_MAX - CRON_RUN_PREFIX.length)}`
}

/** Cut to `room` characters, without a trailing hyphen (a name ends with a letter or digit). */
function trimmed(name: string, room: number): string {
  return name.slice(0, room).replace(/-+$/, '')
}

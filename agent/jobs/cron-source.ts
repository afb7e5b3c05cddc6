import type { CronJob, DesiredCronJob, NodeCronJobSpec } from '../../protocol/index.js'

/** Where a cron job comes from: the agent's --static-dir, or the hub's signed desired document. */
export type CronSource = 'static' | 'hub'

/** A cron job the runner fires, whichever source gave it. */
export interface SourcedCronJob {
  readonly source: CronSource
  readonly name: string
  readonly spec: NodeCronJobSpec
}

/**
 * A hub cron job's key in the runner's tables: `hub/<name>`. A static one's is its bare name (as
 * before hub cron jobs existed, so no stored state moves). Names are DNS labels and hold no `/`,
 * so a hub cron job and a static one of the same name never share a fire state or a run.
 */
const HUB_KEY_PREFIX = 'hub/'

export function cronKey(source: CronSource, name: string): string {
  return source === 'hub' ? `${HUB_KEY_PREFIX}${name}` : name
}

export function cronKeyParts(key: string): { readonly source: CronSource; readonly name: string } {
  return key.startsWith(HUB_KEY_PREFIX) ? { source: 'hub', name: key.slice(HUB_KEY_PREFIX.length) } : { source: 'static', name: key }
}

export function staticCronJob(job: CronJob): SourcedCronJob {
  return { source: 'static', name: job.metadata.name, spec: job.spec }
}

export function hubCronJob(job: DesiredCronJob): SourcedCronJob {
  return { source: 'hub', name: job.name, spec: job.spec }
}

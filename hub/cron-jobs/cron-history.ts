import type { NodeEvent } from '../../protocol/index.js'
import type { HubStore } from '../store/hub-store.js'
import { cronRecordOf } from './cron-run-record.js'

/**
 * Keeps the hub's per-node history of its cron jobs from a node's freshly ingested events: each
 * JobRun*, CronJobSkipped or CronJobMissed event about a cron job the hub holds becomes one
 * record (cron_runs), once, cut to that job's history limits. Events about cron jobs the hub does
 * not hold (a static one, one deleted since) are left to the event log. Run inside the ingest's
 * transaction. Returns how many records were new.
 */
export function recordCronEvents(store: Pick<HubStore, 'cronJobs'>, nodeId: string, events: readonly NodeEvent[], at: string): number {
  let recorded = 0
  for (const event of events) {
    const record = cronRecordOf(event)
    if (record === null) continue
    const job = store.cronJobs.get(record.cronJob)
    if (job === null) continue
    const limits = { successful: job.manifest.spec.successfulJobsHistoryLimit, failed: job.manifest.spec.failedJobsHistoryLimit }
    if (store.cronJobs.record(nodeId, record, at, limits)) recorded++
  }
  return recorded
}

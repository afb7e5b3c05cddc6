import { isoNow, type Clock } from '../../common/clock.js'
import type { ChangeFeed } from '../ingest/change-feed.js'
import { ZoneClocks } from '../../protocol/cron/time-zone.js'
import { type LabelSelector, selectorMatches } from '../../protocol/index.js'
import type { CronJobDeleted, CronJobDetail, CronJobView } from '../../protocol/api/index.js'
import type { HubStore } from '../store/hub-store.js'
import { CronJobNotFoundError } from '../store/not-found.js'
import { cronJobDetail, cronJobView, type CronViewNode } from './cron-job-views.js'

/** What the fleet controller offers: a pass on demand, and which nodes carry a cron job as of the last one. */
export interface CronJobFleet {
  request(reason: string): Promise<void>
  cronNodes(name: string): readonly string[] | null
}

/** The hub's cron jobs for the API: list, one with its nodes' runs, delete. Applying goes through the manifests route. */
export class CronJobService {
  /** One clock per zone for the next-firing sums (each holds ICU memory: kept, not remade). */
  private readonly zones = new ZoneClocks()

  constructor(private readonly options: { readonly store: HubStore; readonly fleet: CronJobFleet; readonly clock: Clock; readonly feed: ChangeFeed }) {}

  list(selector: LabelSelector | undefined): CronJobView[] {
    const { store, fleet } = this.options
    return store.cronJobs
      .list()
      .filter((job) => selectorMatches(selector, job.manifest.metadata.labels ?? {}))
      .map((job) => cronJobView(job, fleet.cronNodes(job.name) ?? [], store.cronJobs.history(job.name)))
  }

  detail(name: string): CronJobDetail {
    const { store, fleet, clock } = this.options
    const job = store.cronJobs.get(name)
    if (!job) throw new CronJobNotFoundError(name)
    const nodes = new Map<string, CronViewNode>(
      store.nodes.list().map((node) => [node.id, { id: node.id, online: node.online, timeZone: node.inventory.timeZone ?? null }]),
    )
    return cronJobDetail(job, fleet.cronNodes(name) ?? [], store.cronJobs.history(name), nodes, clock.now(), this.zones)
  }

  /** Removes it and its nodes' reports; the pass that follows takes it out of their documents, and the agents forget it. */
  async delete(name: string, actor: string): Promise<CronJobDeleted> {
    const { store, fleet, clock } = this.options
    const deleted = store.transaction(() => {
      const removed = store.cronJobs.delete(name)
      if (removed) store.audit.append({ at: isoNow(clock), actor, action: 'cronjob.delete', target: name, detail: null })
      return removed
    })
    if (!deleted) throw new CronJobNotFoundError(name)
    await fleet.request('cronjob-deleted')
    this.options.feed.publish({ type: 'cronjob', name, reason: 'deleted' })
    return { deleted: name }
  }
}

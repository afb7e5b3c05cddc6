import type { Logger } from 'pino'
import { allContainerTemplates, type CronJob, type Workload, type WorkloadTemplate } from '../protocol/index.js'
import type { DesiredView } from './reconcile/reconciler.js'
import type { RevertRecord } from './reconcile/local-revert.js'
import type { StaticLoadResult } from './static-workloads.js'
import type { StoredDesired } from './store/agent-store.js'

/**
 * What the reconciler works towards: the hub's workloads and the static ones. With a hub
 * configured but no document from it yet, containers the agent cannot account for are kept.
 */
export function composeDesiredView(
  desired: StoredDesired | null,
  staticWorkloads: readonly Workload[],
  hubConfigured: boolean,
  cronRuns: readonly Workload[] = [],
): DesiredView {
  return {
    workloads: [...(desired?.document.workloads ?? []), ...staticWorkloads, ...cronRuns],
    generation: desired?.generation ?? 0,
    keepUnknown: hubConfigured && desired === null,
  }
}

/**
 * The images garbage collection must keep: every desired workload's, its fallback's (a fallback's
 * image must survive until its window closes: offline, it could not be pulled again), the next
 * revision's a rollout asked to pull ahead (prefetch) and every local revert's.
 */
export function wantedImages(workloads: readonly Workload[], localReverts: readonly Pick<RevertRecord, 'template'>[]): string[] {
  const images = (template: WorkloadTemplate): string[] => allContainerTemplates(template).map((container) => container.image)
  return [
    ...workloads.flatMap((w) => [
      ...images(w.template),
      ...(w.fallback ? images(w.fallback.template) : []),
      ...(w.prefetch ? images(w.prefetch.template) : []),
    ]),
    ...localReverts.flatMap((r) => images(r.template)),
  ]
}

/**
 * The static directory's workloads, read by the YAML-capable loader, which is loaded only when
 * there is a directory: the yaml package costs an agent without one about 3 MiB for good.
 */
export async function staticWorkloadsFor(dir: string | null, logger: Logger): Promise<StaticWorkloads> {
  if (!dir) return new StaticWorkloads(null, logger, () => ({ workloads: [], cronJobs: [], errors: [] }))
  const { loadStaticWorkloads } = await import('./static-workloads.js')
  return new StaticWorkloads(dir, logger, loadStaticWorkloads)
}

/** The static directory's workloads and cron jobs as last read; a manifest that does not load is logged and left out. */
export class StaticWorkloads {
  private loaded: Workload[] = []
  private loadedCronJobs: CronJob[] = []

  constructor(
    private readonly dir: string | null,
    private readonly logger: Logger,
    private readonly load: (dir: string) => StaticLoadResult,
  ) {}

  current(): readonly Workload[] {
    return this.loaded
  }

  cronJobs(): readonly CronJob[] {
    return this.loadedCronJobs
  }

  /** Reads the directory again; without one, nothing changes. */
  reload(): void {
    if (!this.dir) return
    const result = this.load(this.dir)
    for (const error of result.errors) this.logger.error({ staticDir: this.dir }, `static manifest: ${error}`)
    this.loaded = result.workloads
    this.loadedCronJobs = result.cronJobs
  }
}

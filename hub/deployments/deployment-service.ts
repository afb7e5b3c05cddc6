import type { Deployment } from '../../protocol/index.js'
import type { ApplyResponse, DeploymentDeleted, DryRunResponse } from '../../protocol/api/index.js'
import { isoNow, type Clock } from '../../common/clock.js'
import type { ChangeFeed } from '../ingest/change-feed.js'
import type { DeploymentOutcome, ScheduleResult } from '../scheduler/types.js'
import type { HubStore } from '../store/hub-store.js'
import { DeploymentNotFoundError } from '../store/not-found.js'

/** What the fleet controller offers this service: a pass on demand, its last outcome, a preview. */
export interface DeploymentFleet {
  request(reason: string): Promise<void>
  outcome(name: string): DeploymentOutcome | null
  preview(manifests: readonly Deployment[]): ScheduleResult
}

export interface DeploymentServiceOptions {
  readonly store: HubStore
  readonly fleet: DeploymentFleet
  readonly feed: ChangeFeed
  readonly clock: Clock
}

/**
 * Deployment use cases for the API: preview an apply, apply (a new revision where the template
 * changed, an audit entry per change, all in one transaction, then a fleet pass so the answer
 * says where the copies went) and delete.
 */
export class DeploymentService {
  constructor(private readonly options: DeploymentServiceOptions) {}

  /** Where the copies would go with these manifests applied; stores nothing. */
  preview(manifests: readonly Deployment[]): DryRunResponse {
    const preview = this.options.fleet.preview(manifests)
    return {
      dryRun: true,
      results: manifests.map((m) => {
        const outcome = preview.perDeployment.get(m.metadata.name)
        return {
          kind: m.kind,
          name: m.metadata.name,
          placements: preview.placements.filter((p) => p.deployment === m.metadata.name),
          desired: outcome?.desired ?? 0,
          pending: outcome?.pending ?? 0,
          why: outcome?.explanation ?? null,
        }
      }),
    }
  }

  /** All or nothing; answers once a pass has placed the copies (the documents are stored, maybe not yet sent). */
  async apply(manifests: readonly Deployment[], actor: string): Promise<ApplyResponse> {
    const { store, fleet, feed, clock } = this.options
    const at = isoNow(clock)
    const applied = store.transaction(() =>
      manifests.map((manifest) => {
        const result = store.deployments.apply(manifest, at)
        if (result.outcome !== 'unchanged')
          store.audit.append({
            at,
            actor,
            action: `deployment.${result.outcome}`,
            target: manifest.metadata.name,
            detail: JSON.stringify({ revision: result.revision }),
          })
        return { kind: manifest.kind, name: manifest.metadata.name, ...result }
      }),
    )
    await fleet.request('apply')
    for (const result of applied) feed.publish({ type: 'deployment', name: result.name, reason: result.outcome })
    return {
      results: applied.map((result) => {
        const outcome = fleet.outcome(result.name)
        return { ...result, desired: outcome?.desired ?? 0, placed: outcome?.placed ?? 0, pending: outcome?.pending ?? 0, why: outcome?.explanation ?? null }
      }),
    }
  }

  /** Removes the deployment (its placements and revisions go with it); the next pass stops its copies. */
  async delete(name: string, actor: string): Promise<DeploymentDeleted> {
    const { store, fleet, feed, clock } = this.options
    const deleted = store.transaction(() => {
      const removed = store.deployments.delete(name)
      if (removed) store.audit.append({ at: isoNow(clock), actor, action: 'deployment.delete', target: name, detail: null })
      return removed
    })
    if (!deleted) throw new DeploymentNotFoundError(name)
    await fleet.request('deployment-deleted')
    feed.publish({ type: 'deployment', name, reason: 'deleted' })
    return { deleted: name }
  }
}

import type { ConfigObject, CronJob, Deployment, Job, Manifest } from '../../protocol/index.js'
import type { ApplyResponse, DeploymentDeleted, DryRunResponse } from '../../protocol/api/index.js'
import { isoNow, type Clock } from '../../common/clock.js'
import type { ConfigObjectService } from '../config-objects/config-object-service.js'
import type { ChangeFeed } from '../ingest/change-feed.js'
import type { DeploymentOutcome, ScheduleResult } from '../scheduler/types.js'
import type { HubStore } from '../store/hub-store.js'
import { DeploymentNotFoundError } from '../store/not-found.js'
import { applyJob } from '../jobs/job-apply.js'
import { jobSummary } from '../jobs/job-views.js'
import { type AppliedManifest, ManifestsRefusedError } from './read-manifests.js'

/** What the fleet controller offers this service: a pass on demand, its last outcome, a preview. */
export interface DeploymentFleet {
  request(reason: string): Promise<void>
  outcome(name: string): DeploymentOutcome | null
  preview(manifests: readonly Deployment[]): ScheduleResult
  /** The nodes that carry a cron job as of the last pass (hub/cron-jobs/); absent where no cron jobs are wanted. */
  cronNodes?(name: string): readonly string[] | null
}

export interface DeploymentServiceOptions {
  readonly store: HubStore
  readonly fleet: DeploymentFleet
  readonly feed: ChangeFeed
  readonly clock: Clock
  readonly objects: ConfigObjectService
}

const isDeployment = (manifest: Manifest): manifest is Deployment => manifest.kind === 'Deployment'
const isCronJob = (manifest: Manifest): manifest is CronJob => manifest.kind === 'CronJob'
const isConfigObject = (manifest: Manifest): manifest is ConfigObject => manifest.kind === 'Config' || manifest.kind === 'Secret'
const isJob = (manifest: Manifest): manifest is Job => manifest.kind === 'Job'

/**
 * Deployment use cases for the API: preview an apply, apply (a new revision where the template
 * changed, an audit entry per change, all in one transaction, then a fleet pass so the answer
 * says where the copies went) and delete.
 */
export class DeploymentService {
  constructor(private readonly options: DeploymentServiceOptions) {}

  /** Where the copies would go with these manifests applied; stores nothing. Configs and Secrets place nothing. */
  preview(manifests: readonly Manifest[]): DryRunResponse {
    const preview = this.options.fleet.preview(manifests.filter(isDeployment))
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

  /**
   * All or nothing; answers once a pass has placed the copies (the documents are stored, maybe not
   * yet sent). Configs and Secrets first, so deployments in the same apply may use them; then the
   * deployments, each revision pinning the versions it refers to; then a new revision for every
   * other deployment that uses a changed Config or Secret.
   */
  async apply(documents: readonly AppliedManifest[], actor: string, options: { readonly pullNow?: boolean } = {}): Promise<ApplyResponse> {
    const { store, fleet, feed, clock, objects } = this.options
    const at = isoNow(clock)
    const manifests = documents.map((d) => d.manifest)
    const deployments = documents.flatMap(({ manifest, written }, index) => (isDeployment(manifest) ? [{ manifest, written, index }] : []))
    const configObjects = manifests.filter(isConfigObject)
    const jobs = documents.flatMap(({ manifest, written }) => (isJob(manifest) ? [{ manifest, written }] : []))
    /** Every change an apply makes is audited; an unchanged manifest is not. */
    const auditChange = (noun: string, target: string, result: { outcome: string }, detail: Record<string, number>): void => {
      if (result.outcome !== 'unchanged') store.audit.append({ at, actor, action: `${noun}.${result.outcome}`, target, detail: JSON.stringify(detail) })
    }
    const applied = store.transaction(() => {
      const objectResults = objects.applyObjects(configObjects, at, actor)
      const problems = objects.refProblems(deployments, objectResults)
      if (problems.length > 0) {
        throw new ManifestsRefusedError(
          `${problems.length} problem(s) with Config and Secret references: ${problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`,
          problems.map((p) => ({
            documentIndex: p.manifestIndex ?? 0,
            path: p.path,
            message: p.message,
          })),
        )
      }
      const deploymentResults = deployments.map(({ manifest, written }) => {
        const result = store.deployments.apply(manifest, at, objects.pinsFor(manifest.spec.template), written)
        // --pull-now: this revision's copies pull whatever their nodes' bandwidth rules say, also when the apply changed nothing.
        if (options.pullNow === true) {
          store.deployments.allowPullNow(manifest.metadata.name, result.revision)
          store.audit.append({
            at,
            actor,
            action: 'deployment.pull-now',
            target: manifest.metadata.name,
            detail: JSON.stringify({ revision: result.revision }),
          })
        }
        auditChange('deployment', manifest.metadata.name, result, { revision: result.revision })
        return { kind: manifest.kind, name: manifest.metadata.name, ...result }
      })
      objects.rollUsers(objectResults, new Set(deployments.map((d) => d.manifest.metadata.name)), at, actor)
      // Cron jobs: stored with a revision per change; the pass puts them in their nodes' documents.
      const cronResults = documents.flatMap(({ manifest, written }) => {
        if (!isCronJob(manifest)) return []
        const result = store.cronJobs.apply(manifest, at, written)
        auditChange('cronjob', manifest.metadata.name, result, { revision: result.revision })
        return [{ kind: manifest.kind, name: manifest.metadata.name, ...result }]
      })
      const jobResults = jobs.map(({ manifest, written }) => {
        const result = applyJob(store.jobs, manifest, written, clock.now())
        auditChange('job', result.name, result, { uid: result.revision })
        return result
      })
      return manifests.map((manifest) => {
        const result = [...deploymentResults, ...objectResults, ...cronResults, ...jobResults].find(
          (r) => r.kind === manifest.kind && r.name === manifest.metadata.name,
        )
        if (!result) throw new Error(`no result for ${manifest.kind} ${manifest.metadata.name}`)
        return result
      })
    })
    await fleet.request('apply')
    for (const result of applied) {
      if (result.kind === 'Deployment') feed.publish({ type: 'deployment', name: result.name, reason: result.outcome })
      if ((result.kind === 'Job' || result.kind === 'CronJob') && result.outcome !== 'unchanged')
        feed.publish({ type: result.kind === 'Job' ? 'job' : 'cronjob', name: result.name, reason: result.outcome })
      for (const name of 'rolled' in result ? result.rolled : []) feed.publish({ type: 'deployment', name, reason: 'configured' })
    }
    return {
      results: applied.map((result) => {
        if (result.kind === 'CronJob') {
          // Every matching node runs the schedule: desired and placed are those nodes.
          const nodes = fleet.cronNodes?.(result.name)?.length ?? 0
          return { ...result, desired: nodes, placed: nodes, pending: 0, why: `runs on ${nodes} node(s)` }
        }
        if (result.kind === 'Job') {
          const job = store.jobs.get(result.name)
          const summary = job ? jobSummary(job, store.jobs.runs(job.uid)) : null
          return {
            ...result,
            desired: summary?.desired ?? 0,
            placed: summary?.active ?? 0,
            pending: summary?.pending ?? 0,
            why: summary?.condition.message ?? null,
          }
        }
        if (result.kind !== 'Deployment') return { ...result, desired: 0, placed: 0, pending: 0, why: null }
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

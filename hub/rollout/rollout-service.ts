import { canonicalJson, templateImages, type Deployment } from '../../protocol/index.js'
import { samePins, type RevisionPins } from '../config-objects/template-refs.js'
import { isoNow, type Clock } from '../../common/clock.js'
import type { ChangeFeed } from '../ingest/change-feed.js'
import type { HubStore } from '../store/hub-store.js'
import { DeploymentNotFoundError } from '../store/not-found.js'
import { budgetFor } from './plan-rollout.js'
import { applyRolloutAction, RolloutActionError, type RolloutAction } from './rollout-actions.js'
import type { CopyPlan, RolloutPlan, RolloutRecord } from './rollout-types.js'

/** The annotation `rollout restart` sets on the template: a new revision that changes nothing else. */
export const RESTARTED_AT_ANNOTATION = 'shoal.dev/restartedAt'

/** What the fleet controller offers this service: a pass on demand, and its last step per deployment. */
export interface RolloutFleet {
  request(reason: string): Promise<void>
  rolloutPlan(name: string): RolloutPlan | null
}

export interface RolloutServiceOptions {
  readonly store: HubStore
  readonly fleet: RolloutFleet
  readonly feed: ChangeFeed
  readonly clock: Clock
}

/**
 * Rollout use cases for the API (and so the CLI and console): read a rollout, act on it, undo
 * and restart. Each change is stored with its audit entry in one transaction, then a fleet pass
 * carries it out; nothing here decides which copy moves (the planner does).
 */
export class RolloutService {
  constructor(private readonly options: RolloutServiceOptions) {}

  status(name: string) {
    const { store, fleet } = this.options
    const deployment = store.deployments.get(name)
    if (!deployment) throw new DeploymentNotFoundError(name)
    const record = store.rollouts.get(name)
    const plan = fleet.rolloutPlan(name)
    const copies: readonly CopyPlan[] = plan?.copies ?? []
    const placements = new Map(
      store.deployments
        .placements()
        .filter((p) => p.deployment === name)
        .map((p) => [`${p.nodeId}/${p.workload}`, p]),
    )
    const strategy = deployment.manifest.spec.strategy
    return {
      deployment: name,
      revision: deployment.revision,
      /** The revision the stored rollout is about; behind `revision` until a pass picks a new one up. */
      observedRevision: record?.revision ?? null,
      stableRevision: record?.stableRevision ?? null,
      phase: record?.phase ?? 'complete',
      paused: record?.paused ?? false,
      strategy,
      step: record?.step ?? 0,
      steps: strategy.steps?.length ?? 0,
      startedAt: record ? new Date(record.startedAt).toISOString() : null,
      failure: record?.failure ?? null,
      /** A canary step holding: `manual` until promoted, `timed` until its pause ends. */
      hold: plan?.hold ?? null,
      conditions: record?.conditions ?? [],
      counts: {
        total: copies.length,
        updated: copies.filter((c) => c.gate === 'updated').length,
        onRevision: copies.filter((c) => c.revision === deployment.revision).length,
        failed: copies.filter((c) => c.gate === 'failed').length,
        maxUnavailable: budgetFor(strategy, copies.length),
      },
      copies: copies.map((c) => ({
        nodeId: c.nodeId,
        workload: placements.get(c.key)?.workload ?? c.key.slice(c.nodeId.length + 1),
        revision: c.revision,
        gate: c.gate,
        reason: c.reason,
        wave: c.wave,
        readySince: c.readySince === null ? null : new Date(c.readySince).toISOString(),
        prefetch: c.prefetch,
      })),
    }
  }

  /** The kept revisions, newest first, with how many copies run each. */
  history(name: string) {
    const { store } = this.options
    const deployment = store.deployments.get(name)
    if (!deployment) throw new DeploymentNotFoundError(name)
    const record = store.rollouts.get(name)
    const placements = store.deployments.placements().filter((p) => p.deployment === name)
    return {
      deployment: name,
      items: store.deployments.revisions(name).map((r) => ({
        revision: r.revision,
        image: templateImages(r.template),
        createdAt: r.createdAt,
        current: r.revision === deployment.revision,
        stable: r.revision === (record?.phase === 'complete' ? record.revision : record?.stableRevision),
        copies: placements.filter((p) => p.revision === r.revision).length,
        template: r.template,
      })),
    }
  }

  /** pause, resume or promote: stored, audited, then acted on by a pass. */
  async act(name: string, action: RolloutAction, actor: string): Promise<RolloutRecord> {
    const { store, clock, fleet, feed } = this.options
    const record = store.transaction(() => {
      if (!store.deployments.get(name)) throw new DeploymentNotFoundError(name)
      const current = store.rollouts.get(name)
      if (current === null) throw new RolloutActionError(action, name, 'it has no rollout yet')
      const next = applyRolloutAction(current, action, clock.now())
      const at = isoNow(clock)
      store.rollouts.save(next, at)
      store.audit.append({ at, actor, action: `rollout.${action}`, target: name, detail: JSON.stringify({ revision: next.revision }) })
      store.status.appendEvent(
        {
          nodeId: null,
          workload: name,
          type: `Rollout${action[0]?.toUpperCase()}${action.slice(1)}d`,
          severity: 'info',
          message: `${actor} ran rollout ${action} on revision ${next.revision}`,
          at,
          data: { deployment: name, revision: next.revision },
        },
        at,
      )
      return next
    })
    await fleet.request(`rollout-${action}`)
    feed.publish({ type: 'deployment', name, reason: `rollout-${action}` })
    return record
  }

  /**
   * A new revision with an older revision's template (the last fully available one by default),
   * rolled out like any other: undo is a rollout forward to old content, as in Kubernetes.
   */
  async undo(name: string, toRevision: number | null, actor: string): Promise<{ revision: number; from: number }> {
    return this.replaceTemplate(name, actor, 'undo', (deployment, record) => {
      // While a rollout runs or after it failed, back to the last fully available revision;
      // once it completed (stable = current), to the newest older revision with another template.
      const stable = record !== null && record.phase !== 'complete' ? record.stableRevision : null
      const target = toRevision ?? stable ?? this.previousRevision(name, deployment)
      if (target === null) throw new RolloutActionError('undo', name, 'there is no earlier revision to go back to')
      const content = this.options.store.deployments.revisionContent(name, target)
      if (content === null) throw new RolloutActionError('undo', name, `revision ${target} is not kept (see shoal rollout history ${name})`)
      return { ...content, from: target }
    })
  }

  /** A new revision that differs only in an annotation: every copy is replaced, within the strategy. */
  async restart(name: string, actor: string): Promise<{ revision: number; from: number }> {
    return this.replaceTemplate(name, actor, 'restart', (deployment) => {
      const template = deployment.manifest.spec.template
      return {
        template: { ...template, annotations: { ...template.annotations, [RESTARTED_AT_ANNOTATION]: isoNow(this.options.clock) } },
        pins: this.options.store.deployments.pins(name, deployment.revision),
        from: deployment.revision,
      }
    })
  }

  private previousRevision(name: string, deployment: { revision: number; manifest: Deployment }): number | null {
    const content = (revision: { template: unknown; pins: RevisionPins }) => canonicalJson({ template: revision.template, pins: revision.pins })
    const current = content({ template: deployment.manifest.spec.template, pins: this.options.store.deployments.pins(name, deployment.revision) })
    return this.options.store.deployments.revisions(name).find((r) => r.revision < deployment.revision && content(r) !== current)?.revision ?? null
  }

  private async replaceTemplate(
    name: string,
    actor: string,
    action: 'undo' | 'restart',
    choose: (
      deployment: { revision: number; manifest: Deployment },
      record: RolloutRecord | null,
    ) => { template: Deployment['spec']['template']; pins: RevisionPins; from: number },
  ): Promise<{ revision: number; from: number }> {
    const { store, clock, fleet, feed } = this.options
    const result = store.transaction(() => {
      const deployment = store.deployments.get(name)
      if (!deployment) throw new DeploymentNotFoundError(name)
      const { template, pins, from } = choose(deployment, store.rollouts.get(name))
      const running = store.deployments.pins(name, deployment.revision)
      if (canonicalJson(template) === canonicalJson(deployment.manifest.spec.template) && samePins(pins, running)) {
        throw new RolloutActionError(
          action,
          name,
          `revision ${from} has the template (and Config and Secret versions) revision ${deployment.revision} already runs`,
        )
      }
      const at = isoNow(clock)
      const applied = store.deployments.apply({ ...deployment.manifest, spec: { ...deployment.manifest.spec, template } }, at, pins)
      store.audit.append({ at, actor, action: `rollout.${action}`, target: name, detail: JSON.stringify({ revision: applied.revision, from }) })
      return { revision: applied.revision, from }
    })
    await fleet.request(`rollout-${action}`)
    feed.publish({ type: 'deployment', name, reason: `rollout-${action}` })
    return result
  }
}

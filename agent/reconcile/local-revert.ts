import {
  isPodTemplate,
  templateImages,
  type HealthState,
  type RestartPolicy,
  type Workload,
  type WorkloadState,
  type WorkloadTemplate,
  type WorkloadValues,
} from '../../protocol/index.js'
import { shouldRestart } from './crash-policy.js'

/** When the agent first ran a copy's new revision that came with a fallback. */
export interface RevertWindow {
  readonly workload: string
  readonly revision: number
  /** Epoch ms on the reconciler's steady timeline (stored; brought back to now at start if it lies ahead). */
  readonly startedAt: number
}

/** A copy the agent put back on its fallback revision by itself. */
export interface RevertRecord {
  readonly workload: string
  readonly fromRevision: number
  readonly toRevision: number
  /** The fallback's template, kept so the revert holds even if a later document drops the fallback. */
  readonly template: WorkloadTemplate
  /** The fallback's Configs and Secrets (Secrets still sealed), kept with its template. */
  readonly values?: WorkloadValues
  readonly reason: string
  readonly at: string
}

/** What the agent last recorded about a workload, as far as its health gate goes. */
export interface RevisionObservation {
  /** The revision the record was written for. */
  readonly revision: number
  readonly state: WorkloadState
  readonly health: HealthState
  readonly exitCode: number | null
  /** The engine shows a container with this revision's config, or none at all (so the state is about this revision). */
  readonly current: boolean
  /** The latest pull of this revision's image failed. */
  readonly pullFailed: boolean
}

export interface LocalRevertInput {
  /** What the documents ask for (hub and static), fallbacks included. */
  readonly workloads: readonly Workload[]
  readonly reverts: ReadonlyMap<string, RevertRecord>
  readonly windows: ReadonlyMap<string, RevertWindow>
  readonly observed: ReadonlyMap<string, RevisionObservation>
  /** Where windows are measured: the reconciler's steady timeline (epoch-like ms no clock step moves). */
  readonly now: number
  /** The wall clock, for the `at` a revert reports; `now` when absent. */
  readonly wallNow?: number
  readonly hubReachable: boolean
}

export interface LocalRevertDecision {
  /** What the node must run: the desired workloads, reverted copies replaced by their fallback. */
  readonly workloads: readonly Workload[]
  /** Every revert in force after this decision, by workload. */
  readonly active: ReadonlyMap<string, RevertRecord>
  /** Reverts decided now: store them and report them. */
  readonly revert: readonly RevertRecord[]
  /** Reverts a newer document superseded. */
  readonly clearReverts: readonly RevertRecord[]
  /** Windows that start now. */
  readonly startWindows: readonly RevertWindow[]
  /** Workloads whose window no longer applies (no fallback any more, or no longer desired). */
  readonly clearWindows: readonly string[]
}

const REASON_MAX = 500

/**
 * Whether a copy failed its health gate, and why. Only a record written for this revision
 * counts, and only while the engine shows this revision's container (or none): the state of
 * the container a rollout is about to replace says nothing about the new revision. Pure.
 */
export function healthGateFailure(workload: Workload, observation: RevisionObservation | undefined): string | null {
  if (!observation || observation.revision !== workload.revision) return null
  if (observation.pullFailed) return `image ${templateImages(workload.template)} cannot be pulled`
  if (!observation.current) return null
  const exit = `exit code ${observation.exitCode ?? 'unknown'}`
  switch (observation.state) {
    case 'crash-loop':
      return `crash-loop (${exit})`
    case 'failed':
      return 'failed to start'
    case 'exited':
      // An exit the policy restarts is on its way back; only a final, non-zero one is a failure.
      if (observation.exitCode !== 0 && !shouldRestart(restartPolicyOf(workload), observation.exitCode)) {
        return `exited (${exit}) under restart policy ${restartPolicyOf(workload)}`
      }
      break
    case 'pending':
    case 'pull-deferred':
    case 'pulling':
    case 'starting':
    case 'running':
    case 'stopped':
      break
    default: {
      const unreachable: never = observation.state
      throw new Error(`unknown workload state ${String(unreachable)}`)
    }
  }
  return observation.health === 'unhealthy' ? 'health check unhealthy' : null
}

/**
 * Decides, for the whole desired state at once, which copies run their fallback. A copy reverts
 * when its new revision fails its health gate inside the revert window while the hub cannot be
 * reached (when it can, the hub's rollout controller decides). A revert holds for as long as the
 * documents ask for the revision it reverted from, so the bad revision never comes back on its
 * own; a different revision clears it. Pure: the reconciler stores and applies the result.
 */
export function decideLocalRevert(input: LocalRevertInput): LocalRevertDecision {
  const workloads: Workload[] = []
  const active = new Map<string, RevertRecord>()
  const revert: RevertRecord[] = []
  const clearReverts: RevertRecord[] = []
  const startWindows: RevertWindow[] = []
  const clearWindows: string[] = []
  const desiredNames = new Set(input.workloads.map((w) => w.name))

  for (const workload of input.workloads) {
    const existing = input.reverts.get(workload.name)
    if (existing && existing.fromRevision === workload.revision) {
      active.set(workload.name, existing)
      workloads.push(reverted(workload, existing))
      continue
    }
    if (existing) clearReverts.push(existing)

    const fallback = workload.fallback
    if (!fallback || fallback.revision === workload.revision) {
      if (input.windows.has(workload.name)) clearWindows.push(workload.name)
      workloads.push(workload)
      continue
    }
    let window = input.windows.get(workload.name)
    if (!window || window.revision !== workload.revision) {
      window = { workload: workload.name, revision: workload.revision, startedAt: input.now }
      startWindows.push(window)
    }
    // A start after now (a window stored before the clock was stepped back, if the reconciler
    // had not brought it back to now at start; see stored-times.ts) counts as inside the window.
    const inWindow = input.now - window.startedAt < fallback.revertWindowSeconds * 1000
    const failure = inWindow && !input.hubReachable ? healthGateFailure(workload, input.observed.get(workload.name)) : null
    if (failure === null) {
      workloads.push(workload)
      continue
    }
    const record: RevertRecord = {
      workload: workload.name,
      fromRevision: workload.revision,
      toRevision: fallback.revision,
      template: fallback.template,
      ...(fallback.values ? { values: fallback.values } : {}),
      reason: failure.slice(0, REASON_MAX),
      at: new Date(input.wallNow ?? input.now).toISOString(),
    }
    revert.push(record)
    active.set(workload.name, record)
    workloads.push(reverted(workload, record))
  }

  for (const [name, record] of input.reverts) if (!desiredNames.has(name)) clearReverts.push(record)
  for (const name of input.windows.keys()) if (!desiredNames.has(name)) clearWindows.push(name)
  return { workloads, active, revert, clearReverts, startWindows, clearWindows }
}

/** Whether a decision changes anything that must be stored. */
export function changesStore(decision: LocalRevertDecision): boolean {
  return decision.revert.length + decision.clearReverts.length + decision.startWindows.length + decision.clearWindows.length > 0
}

/** The copy as it runs after a revert: the fallback's revision, template and values, no fallback of its own. */
/** A several-container copy exits for good as its first container does. */
function restartPolicyOf(workload: Workload): RestartPolicy {
  const { template } = workload
  return isPodTemplate(template) ? (template.containers[0]?.restartPolicy ?? 'always') : template.restartPolicy
}

function reverted(workload: Workload, record: RevertRecord): Workload {
  return {
    name: workload.name,
    deployment: workload.deployment,
    revision: record.toRevision,
    template: record.template,
    ...(record.values ? { values: record.values } : {}),
  }
}

import type { ConditionType, RolloutCondition, RolloutRecord, StepHold } from './rollout-types.js'

export interface RolloutCounts {
  readonly total: number
  readonly updated: number
  readonly available: number
  readonly maxUnavailable: number
}

type Draft = Omit<RolloutCondition, 'lastTransitionTime' | 'observedRevision'>

/**
 * The deployment's conditions as Kubernetes users read them. A condition keeps its transition
 * time while its status stays the same, whatever its reason or message do.
 */
export function rolloutConditions(record: RolloutRecord, counts: RolloutCounts, hold: StepHold, steps: number, now: number): RolloutCondition[] {
  const drafts: Draft[] = [progressing(record, counts), available(counts), paused(record, hold, steps), failed(record)]
  const previous = new Map(record.conditions.map((c) => [c.type, c]))
  const at = new Date(now).toISOString()
  return drafts.map((draft) => {
    const before = previous.get(draft.type)
    return { ...draft, observedRevision: record.revision, lastTransitionTime: before && before.status === draft.status ? before.lastTransitionTime : at }
  })
}

export function condition(conditions: readonly RolloutCondition[], type: ConditionType): RolloutCondition | undefined {
  return conditions.find((c) => c.type === type)
}

function progressing(record: RolloutRecord, counts: RolloutCounts): Draft {
  const done = `${counts.updated}/${counts.total} copies on revision ${record.revision}`
  if (record.phase === 'failed' && record.failure)
    return { type: 'Progressing', status: 'False', reason: record.failure.reason, message: record.failure.message }
  if (record.phase === 'complete') return { type: 'Progressing', status: 'True', reason: 'RolloutComplete', message: done }
  return { type: 'Progressing', status: 'True', reason: 'NewRevisionRolling', message: done }
}

function available(counts: RolloutCounts): Draft {
  const message = `${counts.available}/${counts.total} copies available (at most ${counts.maxUnavailable} may be down)`
  return counts.available >= counts.total - counts.maxUnavailable
    ? { type: 'Available', status: 'True', reason: 'MinimumCopiesAvailable', message }
    : { type: 'Available', status: 'False', reason: 'MinimumCopiesUnavailable', message }
}

function paused(record: RolloutRecord, hold: StepHold, steps: number): Draft {
  if (record.phase === 'progressing' && record.paused)
    return { type: 'RolloutPaused', status: 'True', reason: 'Paused', message: 'paused by an operator; shoal rollout resume continues' }
  if (record.phase === 'progressing' && hold?.kind === 'manual') {
    return {
      type: 'RolloutPaused',
      status: 'True',
      reason: 'AwaitingPromotion',
      message: `canary step ${hold.step + 1} of ${steps} holds until shoal rollout promote`,
    }
  }
  if (record.phase === 'progressing' && hold?.kind === 'timed') {
    return {
      type: 'RolloutPaused',
      status: 'True',
      reason: 'CanaryPause',
      message: `canary step ${hold.step + 1} of ${steps} holds until ${new Date(hold.until).toISOString()}`,
    }
  }
  return { type: 'RolloutPaused', status: 'False', reason: 'NotPaused', message: '' }
}

function failed(record: RolloutRecord): Draft {
  if (record.failure === null) return { type: 'RolloutFailed', status: 'False', reason: 'NoFailure', message: '' }
  return { type: 'RolloutFailed', status: 'True', reason: record.failure.reason, message: record.failure.message }
}

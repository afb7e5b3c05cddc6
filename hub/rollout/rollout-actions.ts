import type { RolloutRecord } from './rollout-types.js'

export type RolloutAction = 'pause' | 'resume' | 'promote'

/** The operator asked for something the rollout's phase does not allow. */
export class RolloutActionError extends Error {
  constructor(
    readonly action: string,
    readonly deployment: string,
    reason: string,
  ) {
    super(`cannot ${action} the rollout of ${deployment}: ${reason}`)
    this.name = 'RolloutActionError'
  }
}

/**
 * An operator's action on a stored rollout, as a new record; the next controller pass acts on it.
 * Pure: the caller stores the result and records the audit entry.
 */
export function applyRolloutAction(record: RolloutRecord, action: RolloutAction, now: number): RolloutRecord {
  if (record.phase !== 'progressing') {
    const why =
      record.phase === 'complete'
        ? `revision ${record.revision} is already rolled out`
        : `the rollout of revision ${record.revision} failed; apply a new revision or shoal rollout undo`
    throw new RolloutActionError(action, record.deployment, why)
  }
  switch (action) {
    case 'pause':
      return { ...record, paused: true }
    case 'resume':
      // The progress deadline counts from the resume, not from before the pause.
      return { ...record, paused: false, lastProgressAt: now }
    case 'promote':
      if (record.stepDoneAt === null) throw new RolloutActionError(action, record.deployment, 'no canary step is holding (its copies are not all updated yet)')
      return { ...record, promoted: true, paused: false }
  }
}

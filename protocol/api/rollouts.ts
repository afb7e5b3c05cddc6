import { z } from 'zod'
import { WorkloadTemplate } from '../pod-template.js'
import { IsoTime, Name, NodeId } from '../primitives.js'
import { RolloutStrategy } from '../rollout-strategy.js'
import { PrefetchState } from '../status.js'

const Revision = z.number().int().min(1)
const Count = z.number().int().nonnegative()

export const RolloutPhase = z.enum(['progressing', 'complete', 'failed'])
export type RolloutPhase = z.infer<typeof RolloutPhase>

/** What an operator may do to a running rollout: POST .../rollout/{action}. */
export const RolloutAction = z.enum(['pause', 'resume', 'promote'])
export type RolloutAction = z.infer<typeof RolloutAction>

/**
 * Where one copy stands against the revision being rolled out: still told to run another
 * revision (old), moving (progressing), ready for minReadySeconds (updated), failing its gate
 * (failed), or its node is offline.
 */
export const GateState = z.enum(['old', 'progressing', 'updated', 'failed', 'offline'])
export type GateState = z.infer<typeof GateState>

/** Kubernetes-style: which revision the condition is about, and since when it holds. */
export const RolloutCondition = z.strictObject({
  type: z.enum(['Progressing', 'Available', 'RolloutPaused', 'RolloutFailed']),
  status: z.enum(['True', 'False']),
  reason: z.string(),
  message: z.string(),
  observedRevision: Revision,
  lastTransitionTime: IsoTime,
})
export type RolloutCondition = z.infer<typeof RolloutCondition>

export const RolloutFailure = z.strictObject({
  /** `HealthGateFailed` or `ProgressDeadlineExceeded`. */
  reason: z.string(),
  message: z.string(),
  nodes: z.array(z.strictObject({ nodeId: NodeId, reason: z.string() })),
  /** Every updated copy was sent back to the stable revision. */
  rolledBack: z.boolean(),
})
export type RolloutFailure = z.infer<typeof RolloutFailure>

/** A canary step whose copies are all updated and whose pause holds the rollout; `until` is hub time in ms. */
export const StepHold = z
  .discriminatedUnion('kind', [
    z.strictObject({ kind: z.literal('manual'), step: Count }),
    z.strictObject({ kind: z.literal('timed'), step: Count, until: z.number().int() }),
  ])
  .nullable()
export type StepHold = z.infer<typeof StepHold>

export const RolloutCopyView = z.strictObject({
  nodeId: NodeId,
  workload: Name,
  /** The revision this copy is told to run now. */
  revision: Revision,
  gate: GateState,
  /** Why the copy is where it is: "waiting for shoal rollout promote (canary step 1)". */
  reason: z.string().nullable(),
  /** Canary step ("step 1: 1 copies", "rest") or partition value ("site=a"); null for a plain rolling update. */
  wave: z.string().nullable(),
  readySince: IsoTime.nullable(),
  /** strategy.prefetch: how the pull-ahead of this rollout's revision stands on the copy's node; null when not asked for or not reported. */
  prefetch: PrefetchState.nullable(),
})
export type RolloutCopyView = z.infer<typeof RolloutCopyView>

/** GET /api/v1/deployments/:name/rollout, and the answer of pause, resume and promote. */
export const RolloutStatus = z.strictObject({
  deployment: Name,
  revision: Revision,
  /** The revision the stored rollout is about; behind `revision` until a pass picks a new one up. */
  observedRevision: Revision.nullable(),
  /** The last fully available revision; null before the first rollout completed. */
  stableRevision: Revision.nullable(),
  phase: RolloutPhase,
  paused: z.boolean(),
  strategy: RolloutStrategy,
  /** Canary: the step being worked on (0-based); equal to `steps` once past the last. */
  step: Count,
  steps: Count,
  startedAt: IsoTime.nullable(),
  failure: RolloutFailure.nullable(),
  hold: StepHold,
  conditions: z.array(RolloutCondition),
  counts: z.strictObject({ total: Count, updated: Count, onRevision: Count, failed: Count, maxUnavailable: Count }),
  copies: z.array(RolloutCopyView),
})
export type RolloutStatus = z.infer<typeof RolloutStatus>

/** One kept revision of a deployment. */
export const RevisionView = z.strictObject({
  revision: Revision,
  image: z.string(),
  createdAt: IsoTime,
  current: z.boolean(),
  stable: z.boolean(),
  /** Copies the hub tells to run this revision now. */
  copies: Count,
  template: WorkloadTemplate,
})
export type RevisionView = z.infer<typeof RevisionView>

/** GET /api/v1/deployments/:name/revisions: the kept revisions, newest first. */
export const RevisionHistory = z.strictObject({
  deployment: Name,
  items: z.array(RevisionView),
})
export type RevisionHistory = z.infer<typeof RevisionHistory>

/** POST .../rollout/undo: back to `toRevision`, else to the last fully available one. */
export const UndoRequest = z.strictObject({ toRevision: Revision.optional() })
export type UndoRequest = z.infer<typeof UndoRequest>

/** What undo and restart answer: the new revision, the one its template came from, and the rollout. */
export const RevisionChange = z.strictObject({
  revision: Revision,
  from: Revision,
  rollout: RolloutStatus,
})
export type RevisionChange = z.infer<typeof RevisionChange>

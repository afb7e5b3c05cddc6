import { z } from 'zod'
import { Deployment, DeploymentSpec } from '../manifest.js'
import { IsoTime, Labels, Name } from '../primitives.js'
import { listOf } from './envelopes.js'
import { PlacementView, WorkloadStatusView } from './nodes.js'
import { RolloutPhase } from './rollouts.js'

const Count = z.number().int().nonnegative()

/** The rollout in one line's worth of fields; the whole of it is at .../rollout. */
export const RolloutSummary = z.strictObject({
  revision: z.number().int().min(1),
  stableRevision: z.number().int().min(1).nullable(),
  phase: RolloutPhase,
  paused: z.boolean(),
  /** "HealthGateFailed, rolled back to revision 2", or null. */
  failed: z.string().nullable(),
})
export type RolloutSummary = z.infer<typeof RolloutSummary>

export const DeploymentMode = DeploymentSpec.shape.mode.unwrap()
export type DeploymentMode = z.infer<typeof DeploymentMode>

export const DeploymentView = z.strictObject({
  name: Name,
  /** The manifest's metadata.labels ({} when it has none). */
  labels: Labels,
  revision: z.number().int().min(1),
  mode: DeploymentMode,
  desired: Count,
  placed: Count,
  /** Running and not unhealthy at the revision its rollout assigned it. */
  ready: Count,
  /** Ready at the deployment's current revision. */
  upToDate: Count,
  pending: Count,
  /** The scheduler's explanation: "1/3 replicas placed, 2 pending; 3 lack capability gpu". */
  why: z.string().nullable(),
  /** Null before the hub planned a rollout. */
  rollout: RolloutSummary.nullable(),
  createdAt: IsoTime,
  updatedAt: IsoTime,
})
export type DeploymentView = z.infer<typeof DeploymentView>

export const DeploymentPlacement = PlacementView.extend({ status: WorkloadStatusView.nullable() })
export type DeploymentPlacement = z.infer<typeof DeploymentPlacement>

export const DeploymentDetail = DeploymentView.extend({
  /** The manifest as stored: parsed, defaults filled in. */
  manifest: Deployment,
  /** The manifest for people, as YAML: as last applied, fields in the order written (no defaults, no comments); the stored one after a rollout undo or restart. */
  manifestYaml: z.string(),
  placements: z.array(DeploymentPlacement),
  /** Nodes turned down, counted by the reason of the first check each failed, written for a count ("lack device /dev/ttyUSB0": 3). */
  filtered: z.record(z.string(), Count),
})
export type DeploymentDetail = z.infer<typeof DeploymentDetail>

export const DeploymentList = listOf(DeploymentView)
export type DeploymentList = z.infer<typeof DeploymentList>

export const DeploymentDeleted = z.strictObject({ deleted: Name })
export type DeploymentDeleted = z.infer<typeof DeploymentDeleted>

import { z } from 'zod'
import { WorkloadTemplate } from './pod-template.js'
import { Config, Secret } from './config-objects.js'
import { CronJob } from './cron-job.js'
import { API_VERSION, ObjectMeta } from './object-meta.js'
import { Duration } from './primitives.js'
import { Job } from './job.js'
import { PlacementFields } from './placement.js'
import { RolloutStrategy } from './rollout-strategy.js'

export { API_VERSION, ObjectMeta }

export { DataAffinity } from './placement.js'
export { Requirements } from './requirements.js'

export const DeploymentSpec = z
  .strictObject({
    mode: z.enum(['replicated', 'every-node']).default('replicated'),
    replicas: z.number().int().min(0).max(10_000).optional(),
    ...PlacementFields,
    offlineGrace: Duration.default('5m'),
    strategy: RolloutStrategy.prefault({}),
    revisionHistoryLimit: z.number().int().min(1).max(100).default(10).describe('revisions kept for rollout undo, besides any still running'),
    template: WorkloadTemplate,
  })
  .superRefine((spec, ctx) => {
    if (spec.mode === 'every-node' && spec.replicas !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['replicas'], message: 'replicas cannot be set with mode: every-node (one copy runs on each matching node)' })
    }
    const surge = spec.strategy.maxSurge
    if (spec.mode === 'every-node' && surge !== undefined && surge !== 0 && surge !== '0%') {
      ctx.addIssue({
        code: 'custom',
        path: ['strategy', 'maxSurge'],
        message: 'maxSurge needs mode: replicated (an every-node deployment has one copy per matching node and no spare node to surge onto)',
      })
    }
  })
export type DeploymentSpec = z.infer<typeof DeploymentSpec>

export const Deployment = z.strictObject({
  apiVersion: z.literal(API_VERSION),
  kind: z.literal('Deployment'),
  metadata: ObjectMeta,
  spec: DeploymentSpec,
})
export type Deployment = z.infer<typeof Deployment>
export type DeploymentInput = z.input<typeof Deployment>

/** Every kind an operator can apply; new kinds join this table. */
export const MANIFEST_KINDS = { Deployment, Config, Secret, CronJob, Job } as const
export type ManifestKind = keyof typeof MANIFEST_KINDS
export type Manifest = Deployment | Config | Secret | CronJob | Job

/** Replica count the operator asked for; every-node deployments have none. */
export function desiredReplicas(spec: DeploymentSpec): number {
  return spec.replicas ?? 1
}

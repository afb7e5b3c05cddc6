import { z } from 'zod'
import { MANIFEST_KINDS, type ManifestKind } from '../manifest.js'
import { Name, NodeId } from '../primitives.js'

const Count = z.number().int().nonnegative()
const ManifestKind = z.literal(Object.keys(MANIFEST_KINDS) as ManifestKind[])

/** What applying one manifest did, and where the scheduler got with it. */
export const AppliedManifest = z.strictObject({
  kind: ManifestKind,
  name: Name,
  outcome: z.enum(['created', 'configured', 'unchanged']),
  revision: z.number().int().min(1),
  desired: Count,
  placed: Count,
  pending: Count,
  why: z.string().nullable(),
  rolled: z.array(Name).optional().describe('Config and Secret: the deployments this change gave a new revision (and so a rollout)'),
})
export type AppliedManifest = z.infer<typeof AppliedManifest>

export const ApplyResponse = z.strictObject({ results: z.array(AppliedManifest) })
export type ApplyResponse = z.infer<typeof ApplyResponse>

/** With ?dryRun=true: where each manifest's copies would go; nothing is stored. */
export const PreviewedManifest = z.strictObject({
  kind: ManifestKind,
  name: Name,
  placements: z.array(z.strictObject({ deployment: Name, nodeId: NodeId, workload: Name, replica: Count })),
  desired: Count,
  pending: Count,
  why: z.string().nullable(),
})
export type PreviewedManifest = z.infer<typeof PreviewedManifest>

export const DryRunResponse = z.strictObject({ dryRun: z.literal(true), results: z.array(PreviewedManifest) })
export type DryRunResponse = z.infer<typeof DryRunResponse>

/** POST /api/v1/manifests answers one or the other, as `dryRun` asked. */
export const ManifestsResponse = z.union([ApplyResponse, DryRunResponse])
export type ManifestsResponse = z.infer<typeof ManifestsResponse>

export const ManifestsQuery = z.object({
  dryRun: z.string().optional().describe('"true": answer where the copies would go and store nothing; anything else applies'),
  pullNow: z
    .string()
    .optional()
    .describe('"true": the revisions this apply makes or keeps pull their images whatever the nodes\' bandwidth rules say (that revision only)'),
})

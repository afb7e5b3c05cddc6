import { z } from 'zod'
import { ObjectData } from './config-objects.js'
import { DesiredCronJob, MAX_NODE_CRON_JOBS } from './cron-job.js'
import { WorkloadTemplate } from './pod-template.js'
import { API_VERSION } from './manifest.js'
import { Generation, IsoTime, Name, NodeId } from './primitives.js'
import { SealedBox } from './sealing.js'
import { NodeBandwidth } from './bandwidth.js'

/**
 * The revision a copy ran before a rollout moved it: if the new revision fails its health gate on
 * the node within the window while the hub cannot be reached, the agent puts this one back itself.
 */
export const MAX_REVERT_WINDOW_SECONDS = 7 * 24 * 3600

const ObjectVersion = z.number().int().min(1)
/** Which overrides of the object applied to this node, by index: part of what the copy runs. */
const AppliedOverrides = z.array(z.number().int().nonnegative()).max(64)

/** A Config as this node gets it: the version's base data with the overrides for its labels laid over. */
export const ConfigValues = z.strictObject({ version: ObjectVersion, overrides: AppliedOverrides, data: ObjectData })
export type ConfigValues = z.infer<typeof ConfigValues>

/** A Secret as this node gets it: the same, sealed to the node's key (the data's canonical JSON). */
export const SecretValues = z.strictObject({ version: ObjectVersion, overrides: AppliedOverrides, sealed: SealedBox })
export type SecretValues = z.infer<typeof SecretValues>

/** The Configs and Secrets a template refers to, by name, resolved for this node. */
export const WorkloadValues = z.strictObject({
  configs: z.record(Name, ConfigValues).optional(),
  secrets: z.record(Name, SecretValues).optional(),
})
export type WorkloadValues = z.infer<typeof WorkloadValues>

export const WorkloadFallback = z.strictObject({
  revision: z.number().int().min(1),
  template: WorkloadTemplate,
  values: WorkloadValues.optional(),
  revertWindowSeconds: z.number().int().min(1).max(MAX_REVERT_WINDOW_SECONDS),
})
export type WorkloadFallback = z.infer<typeof WorkloadFallback>

/**
 * The revision a rollout will move this copy to, sent ahead when the deployment's strategy says
 * `prefetch: true`: the agent pulls its images now (within the node's bandwidth rules), so the
 * switch needs no download, and reports them present; the hub moves the copy only then.
 */
export const WorkloadPrefetch = z.strictObject({
  revision: z.number().int().min(1),
  template: WorkloadTemplate,
  values: WorkloadValues.optional().describe('only the Secrets its pull credentials refer to'),
  pullNow: z.literal(true).optional().describe('that revision was applied with --pull-now'),
})
export type WorkloadPrefetch = z.infer<typeof WorkloadPrefetch>

/** One copy a node must run (one container or several): a deployment's template at one revision. */
export const Workload = z.strictObject({
  name: Name.describe('unique on the node: the deployment name, or name-N when a node holds several replicas'),
  deployment: Name,
  revision: z.number().int().min(1),
  template: WorkloadTemplate,
  values: WorkloadValues.optional().describe('the Configs and Secrets the template refers to, at the versions this revision pins'),
  fallback: WorkloadFallback.optional().describe('present while a rollout moves this copy to a new revision'),
  pullNow: z.literal(true).optional().describe("this revision was applied with --pull-now: its image is pulled whatever the node's bandwidth rules say"),
  prefetch: WorkloadPrefetch.optional().describe("present while a rollout with prefetch has not moved this copy yet: the next revision's images to pull ahead"),
})
export type Workload = z.infer<typeof Workload>

/**
 * Everything one node must run, as of one generation. Delivered with latest-value semantics
 * (MQTT retained / NATS KV); the agent applies it only if the generation is newer than its own.
 */
export const DesiredDocument = z.strictObject({
  apiVersion: z.literal(API_VERSION),
  kind: z.literal('NodeDesiredState'),
  nodeId: NodeId,
  generation: Generation,
  issuedAt: IsoTime,
  workloads: z.array(Workload).max(256),
  bandwidth: NodeBandwidth.optional().describe(
    "this node's own bandwidth rules (from its shoal.io/* labels) and its link label; they take precedence over its firmware profile's",
  ),
  cronJobs: z
    .array(DesiredCronJob)
    .max(MAX_NODE_CRON_JOBS)
    .optional()
    .describe("the hub's cron jobs whose placement matches this node, sorted by name; the agent fires each by itself (docs/jobs.md)"),
  keyId: z.string().min(1).max(64),
  signature: z.string().min(1).max(256).describe('Ed25519 over the canonical JSON of every other field, base64'),
})
export type DesiredDocument = z.infer<typeof DesiredDocument>
export type UnsignedDesiredDocument = Omit<DesiredDocument, 'signature' | 'keyId'>

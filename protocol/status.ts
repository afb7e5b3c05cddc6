import { z } from 'zod'
import { IsoTime, Name, NodeId } from './primitives.js'
import { DevicePath, NodePolicy } from './node-policy.js'
import { SealingPublicKey } from './sealing.js'
import { TrafficUsage } from './bandwidth.js'
import { DesiredEncodings } from './desired-encoding.js'

/** `pull-deferred`: its image pull waits for the node's bandwidth rules (budget, window, link); the message says why and until when. */
export const WorkloadState = z.enum(['pending', 'pull-deferred', 'pulling', 'starting', 'running', 'exited', 'crash-loop', 'failed', 'stopped'])
export type WorkloadState = z.infer<typeof WorkloadState>

export const HealthState = z.enum(['none', 'starting', 'healthy', 'unhealthy'])
export type HealthState = z.infer<typeof HealthState>

/** The agent put a copy's fallback revision back on its own (the hub was unreachable). */
export const LocalRevert = z.strictObject({
  fromRevision: z.number().int().min(1),
  toRevision: z.number().int().min(1),
  reason: z.string().max(500),
  at: IsoTime,
})
export type LocalRevert = z.infer<typeof LocalRevert>

/** Where the pull-ahead of a copy's next revision stands (strategy.prefetch): every image of it on the node is `present`. */
export const PrefetchState = z.enum(['pulling', 'pull-deferred', 'present', 'failed'])
export type PrefetchState = z.infer<typeof PrefetchState>

export const PrefetchStatus = z.strictObject({
  revision: z.number().int().min(1),
  state: PrefetchState,
  message: z.string().max(500).optional().describe('what is pulled, why it waits (the bandwidth rules) or why it failed'),
})
export type PrefetchStatus = z.infer<typeof PrefetchStatus>

/** One container of a several-container copy, as the agent last saw it. */
export const ContainerStatus = z.strictObject({
  name: Name,
  init: z.boolean().describe('an init container: done when it has exited 0'),
  state: WorkloadState,
  health: HealthState,
  ready: z.boolean(),
  restarts: z.number().int().nonnegative(),
  exitCode: z.number().int().optional(),
  message: z.string().max(500).optional(),
})
export type ContainerStatus = z.infer<typeof ContainerStatus>

/** What one workload is doing on its node, as the agent last saw it. */
export const WorkloadStatus = z.strictObject({
  name: Name,
  deployment: Name,
  revision: z.number().int().min(1),
  state: WorkloadState,
  health: HealthState,
  ready: z
    .boolean()
    .optional()
    .describe('running, not unhealthy, and passing its readiness check if it has one (absent from older agents: judged from state and health)'),
  containerId: z.string().max(128).optional(),
  restarts: z.number().int().nonnegative(),
  exitCode: z.number().int().optional(),
  message: z.string().max(2000).optional(),
  lastLogLines: z.array(z.string().max(1000)).max(20).optional(),
  since: IsoTime,
  revert: LocalRevert.optional().describe('set while the copy runs its fallback after a local revert'),
  configVersions: z.record(Name, z.number().int().min(1)).optional().describe('the version of each Config the running container was given'),
  secretVersions: z.record(Name, z.number().int().min(1)).optional().describe('the version of each Secret the running container was given'),
  containers: z
    .array(ContainerStatus)
    .max(24)
    .optional()
    .describe('each container of a several-container copy, init containers first; the fields above sum them up'),
  prefetch: PrefetchStatus.optional().describe('the images of the revision a rollout will move this copy to, pulled ahead (strategy.prefetch)'),
})
export type WorkloadStatus = z.infer<typeof WorkloadStatus>

/** A node's whole status; a newer one supersedes an older one, so the outbox may compact them. */
export const NodeStatus = z.strictObject({
  nodeId: NodeId,
  observedGeneration: z.number().int().nonnegative(),
  workloads: z.array(WorkloadStatus).max(256),
  at: IsoTime,
  sealingKey: SealingPublicKey.optional().describe("the node's X25519 public key, for nodes enrolled before they had one; the hub keeps the latest"),
  devices: z.array(DevicePath).max(256).optional().describe("the devices present on the node that its policy's patterns match, sorted"),
  policy: NodePolicy.optional().describe('what the node lets its containers have (absent from older agents: the default policy)'),
})
export type NodeStatus = z.infer<typeof NodeStatus>

export const EventSeverity = z.enum(['info', 'warning', 'error'])

/** Something that happened on a node: a transition, a rejected document, dropped events. */
export const NodeEvent = z.strictObject({
  nodeId: NodeId,
  type: z
    .string()
    .regex(/^[A-Z][A-Za-z]+$/)
    .max(64),
  severity: EventSeverity,
  workload: Name.optional(),
  message: z.string().max(4000),
  at: IsoTime,
  data: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])).optional(),
})
export type NodeEvent = z.infer<typeof NodeEvent>

/** Small and frequent: what `shoal top` shows and presence relies on. Never the whole inventory. */
export const Heartbeat = z.strictObject({
  nodeId: NodeId,
  at: IsoTime,
  uptimeSeconds: z.number().nonnegative(),
  observedGeneration: z.number().int().nonnegative(),
  outboxDepth: z.number().int().nonnegative(),
  cpuPercent: z.number().min(0).max(100).nullable(),
  memory: z.strictObject({ usedBytes: z.number().nonnegative(), totalBytes: z.number().nonnegative() }),
  disk: z.strictObject({ usedBytes: z.number().nonnegative(), totalBytes: z.number().nonnegative() }).nullable(),
  workloads: z.strictObject({ running: z.number().int().nonnegative(), total: z.number().int().nonnegative() }),
  traffic: TrafficUsage.optional().describe("the node's bytes this month per category, against its budget (absent from older agents)"),
  desiredEncodings: DesiredEncodings.optional(),
})
export type Heartbeat = z.infer<typeof Heartbeat>

/** Retained presence message: "online" on connect, "offline" as the MQTT will or on clean stop. */
export const Presence = z.strictObject({
  nodeId: NodeId,
  state: z.enum(['online', 'offline']),
  at: IsoTime,
})
export type Presence = z.infer<typeof Presence>

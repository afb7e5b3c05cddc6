import { z } from 'zod'
import { Inventory } from '../inventory.js'
import { DevicePath, NodePolicy } from '../node-policy.js'
import { IsoTime, LabelKey, LabelValue, Labels, Name, NodeId } from '../primitives.js'
import { Heartbeat, WorkloadStatus } from '../status.js'
import { EventView } from './events.js'
import { listOf } from './envelopes.js'

/** Ready, Degraded (with reasons) or Offline (since when), decided on the hub's clock. */
export const NodeConditionType = z.enum(['Ready', 'Degraded', 'Offline'])
export type NodeConditionType = z.infer<typeof NodeConditionType>

export const NodeCondition = z.strictObject({
  type: NodeConditionType,
  since: IsoTime.nullable(),
  reasons: z.array(z.string()),
})
export type NodeCondition = z.infer<typeof NodeCondition>

/** The latest heartbeat's figures; `at` is the node's own clock, `receivedAt` the hub's (ages count from it). */
export const NodeUsage = Heartbeat.pick({ cpuPercent: true, memory: true, disk: true, outboxDepth: true, at: true, traffic: true }).extend({
  receivedAt: IsoTime,
})
export type NodeUsage = z.infer<typeof NodeUsage>

/** The node's clock against the hub's: `offsetSeconds` is node minus hub (negative: behind), null before the first heartbeat. */
export const NodeClock = z.strictObject({
  offsetSeconds: z.number().nullable(),
  skewed: z.boolean(),
  skewedSince: IsoTime.nullable(),
  nodeTime: IsoTime.nullable(),
})
export type NodeClock = z.infer<typeof NodeClock>

const Count = z.number().int().nonnegative()

/** The node's policy as the scheduler applies it: as the node reported it, or the default for a node that never did. */
export const NodePolicyView = NodePolicy.extend({
  reported: z.boolean().describe('false: the node never reported a policy (an agent from before policies), so the default applies'),
})
export type NodePolicyView = z.infer<typeof NodePolicyView>

/** A node as operators read it: no credentials. */
export const NodeView = z.strictObject({
  id: NodeId,
  labels: Labels,
  profileLabels: z
    .array(LabelKey)
    .describe(
      "keys of the labels the node's firmware profile gave it that still hold the profile's value (the rest were set by an operator, a token or the node)",
    ),
  capabilities: z.array(z.string()),
  arch: z.string(),
  profile: z.string(),
  cordoned: z.boolean(),
  condition: NodeCondition,
  online: z.boolean(),
  offlineSince: IsoTime.nullable(),
  lastSeenAt: IsoTime.nullable(),
  generation: z.strictObject({ latest: Count, observed: Count }),
  capacity: z.strictObject({ cpuMillis: Count, memoryBytes: Count, gpus: Count }),
  reserved: z.strictObject({ cpuMillis: Count, memoryBytes: Count }),
  usage: NodeUsage.nullable(),
  clock: NodeClock,
  workloads: Heartbeat.shape.workloads,
  devices: z
    .array(DevicePath)
    .nullable()
    .describe("device paths present on the node that its policy's patterns match, sorted; null: never reported (the node has none for the scheduler)"),
  policy: NodePolicyView,
  createdAt: IsoTime,
})
export type NodeView = z.infer<typeof NodeView>

/** What a workload reports, with where it runs and the hub's times beside the node's own `since`. */
export const WorkloadStatusView = WorkloadStatus.extend({
  nodeId: NodeId,
  /** When the hub received the status (hub time). */
  reportedAt: IsoTime,
  /** When the state began on the hub's clock: right even when the node's clock is years off. */
  hubSince: IsoTime,
})
export type WorkloadStatusView = z.infer<typeof WorkloadStatusView>

/** One copy of a deployment on one node; `revision` is what its rollout told it to run (null until assigned). */
export const PlacementView = z.strictObject({
  nodeId: NodeId,
  workload: Name,
  deployment: Name,
  replica: Count,
  revision: z.number().int().min(1).nullable(),
  since: IsoTime,
})
export type PlacementView = z.infer<typeof PlacementView>

export const NodeDetail = NodeView.extend({
  inventory: Inventory,
  placements: z.array(PlacementView),
  workloadStatus: z.array(WorkloadStatusView),
  /** The node's latest 50 events. */
  events: z.array(EventView),
})
export type NodeDetail = z.infer<typeof NodeDetail>

export const NodeList = listOf(NodeView)
export type NodeList = z.infer<typeof NodeList>

/** PATCH /api/v1/nodes/:id: labels to set (a null value removes the label), and cordon on or off. */
export const NodePatch = z.strictObject({
  labels: z.record(LabelKey, LabelValue.nullable()).optional(),
  cordoned: z.boolean().optional(),
})
export type NodePatch = z.infer<typeof NodePatch>

/** DELETE /api/v1/nodes/:id: the node's credentials are gone; `broker` when an external broker was rewritten. */
export const NodeRevoked = z.strictObject({
  revoked: NodeId,
  broker: z
    .strictObject({
      /** true: the broker accepted the rewritten users; null: it had nothing to confirm with. */
      confirmed: z.boolean().nullable(),
      error: z.string().optional(),
    })
    .optional(),
})
export type NodeRevoked = z.infer<typeof NodeRevoked>

/** POST /api/v1/nodes/:id/drain: replicated copies sent elsewhere, every-node copies left where they are. */
export const DrainResult = z.strictObject({
  drained: NodeId,
  cordoned: z.literal(true),
  evicted: z.array(z.strictObject({ deployment: Name, workload: Name, replica: Count, movedTo: NodeId.nullable() })),
  kept: z.array(z.strictObject({ deployment: Name, workload: Name, reason: z.string() })),
})
export type DrainResult = z.infer<typeof DrainResult>

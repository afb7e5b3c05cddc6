import type {
  DeepReadonly,
  DeploymentDetail,
  DeploymentView,
  NodeClock,
  NodeDetail,
  NodeView,
  PlacementView,
  RolloutSummary,
} from '../../protocol/api/index.js'
import { desiredCopies, readyCopies } from '../deployments/copy-counts.js'
import { manifestYaml } from '../deployments/manifest-yaml.js'
import { DEFAULT_NODE_POLICY } from '../../protocol/node-policy.js'
import { fleetFacts, type NodeFacts } from '../fleet/fleet-facts.js'
import { nodeCondition } from '../fleet/node-conditions.js'
import type { DeploymentOutcome } from '../scheduler/types.js'
import type { DeploymentRecord, PlacementRecord } from '../store/deployment-repository.js'
import type { FirmwareProfile } from '../../firmware-profiles/schema.js'
import type { HubStore } from '../store/hub-store.js'
import type { NodeRecord } from '../store/node-repository.js'

// Each view builds a value of its type in protocol/api (the API contract), read-only because it
// is made of the store's read-only records.

/** The API's shape of a node: what operators read, no credentials. */
export function nodeView(store: HubStore, node: NodeRecord, now: number, profiles: readonly FirmwareProfile[], facts?: NodeFacts): DeepReadonly<NodeView> {
  const workloads = facts?.workloads ?? store.status.workloads({ nodeId: node.id })
  const latest = facts ? facts.latestGeneration : (store.desired.generation(node.id) ?? 0)
  const heartbeat = node.lastHeartbeat
  return {
    id: node.id,
    labels: node.labels,
    profileLabels: profileLabelKeys(node, profiles),
    capabilities: node.capabilities,
    arch: node.arch,
    profile: node.profile,
    cordoned: node.cordoned,
    condition: nodeCondition(node, workloads, latest, now),
    online: node.online,
    offlineSince: node.offlineSince,
    lastSeenAt: node.lastSeenAt,
    generation: { latest, observed: node.observedGeneration },
    capacity: node.capacity,
    reserved: node.reserved,
    // `at` is the node's own clock, `receivedAt` the hub's: ages are measured from receivedAt.
    usage: heartbeat
      ? {
          cpuPercent: heartbeat.cpuPercent,
          memory: heartbeat.memory,
          disk: heartbeat.disk,
          outboxDepth: heartbeat.outboxDepth,
          ...(heartbeat.traffic ? { traffic: heartbeat.traffic } : {}),
          at: heartbeat.at,
          receivedAt: node.lastHeartbeatAt ?? node.lastSeenAt ?? heartbeat.at,
        }
      : null,
    clock: clockView(node),
    workloads: { running: workloads.filter((w) => w.state === 'running').length, total: workloads.length },
    devices: node.devices ?? null,
    policy: { ...(node.policy ?? DEFAULT_NODE_POLICY), reported: (node.policy ?? null) !== null },
    createdAt: node.createdAt,
  }
}

/**
 * The node's clock against the hub's: `offsetSeconds` is node minus hub, estimated from its
 * heartbeats (negative: behind), null before the first; `skewedSince` is when ClockSkew began.
 */
export function clockView(node: NodeRecord): NodeClock {
  const offsetMs = node.clockOffsetMs ?? null
  return {
    offsetSeconds: offsetMs === null ? null : Math.round(offsetMs / 100) / 10,
    skewed: (node.clockSkewSince ?? null) !== null,
    skewedSince: node.clockSkewSince ?? null,
    nodeTime: node.lastHeartbeat?.at ?? null,
  }
}

/** Views of many nodes, with every node's workloads and generation read once, not once per node. */
export function nodeViews(store: HubStore, nodes: readonly NodeRecord[], now: number, profiles: readonly FirmwareProfile[]): DeepReadonly<NodeView>[] {
  const facts = fleetFacts(store)
  return nodes.map((node) => nodeView(store, node, now, profiles, facts(node.id)))
}

/** The node's labels that its firmware profile set and nobody changed since, sorted. */
function profileLabelKeys(node: NodeRecord, profiles: readonly FirmwareProfile[]): string[] {
  const given = profiles.find((profile) => profile.name === node.profile)?.labels ?? {}
  return Object.keys(node.labels)
    .filter((key) => given[key] === node.labels[key])
    .sort()
}

export function nodeDetailView(store: HubStore, node: NodeRecord, now: number, profiles: readonly FirmwareProfile[]): DeepReadonly<NodeDetail> {
  return {
    ...nodeView(store, node, now, profiles),
    inventory: node.inventory,
    placements: store.deployments
      .placements()
      .filter((p) => p.nodeId === node.id)
      .map(placementView),
    workloadStatus: store.status.workloads({ nodeId: node.id }),
    events: store.status.events({ nodeId: node.id, limit: 50 }),
  }
}

export function placementView(placement: PlacementRecord): PlacementView {
  return {
    nodeId: placement.nodeId,
    workload: placement.workload,
    deployment: placement.deployment,
    replica: placement.replica,
    revision: placement.revision,
    since: placement.createdAt,
  }
}

export function deploymentView(store: HubStore, deployment: DeploymentRecord, outcome: DeploymentOutcome | null): DeepReadonly<DeploymentView> {
  const statuses = store.status.workloads({ deployment: deployment.name })
  const placements = store.deployments.placements().filter((p) => p.deployment === deployment.name)
  const ready = readyCopies(deployment, statuses, placements, (p) => p.revision)
  const upToDate = readyCopies(deployment, statuses, placements, () => deployment.revision)
  return {
    name: deployment.name,
    labels: { ...(deployment.manifest.metadata.labels ?? {}) },
    revision: deployment.revision,
    mode: deployment.manifest.spec.mode,
    desired: desiredCopies(deployment, outcome, placements.length),
    placed: placements.length,
    ready,
    upToDate,
    pending: outcome?.pending ?? 0,
    why: outcome?.explanation ?? null,
    rollout: rolloutSummary(store, deployment),
    createdAt: deployment.createdAt,
    updatedAt: deployment.updatedAt,
  }
}

/** The rollout in one line's worth of fields; the whole of it is at /rollout. */
function rolloutSummary(store: HubStore, deployment: DeploymentRecord): RolloutSummary | null {
  const record = store.rollouts.get(deployment.name)
  if (!record) return null
  const failed = record.failure ? `${record.failure.reason}${record.failure.rolledBack ? `, rolled back to revision ${record.stableRevision}` : ''}` : null
  return { revision: record.revision, stableRevision: record.stableRevision, phase: record.phase, paused: record.paused, failed }
}

export function deploymentDetailView(store: HubStore, deployment: DeploymentRecord, outcome: DeploymentOutcome | null): DeepReadonly<DeploymentDetail> {
  const statuses = store.status.workloads({ deployment: deployment.name })
  const placements = store.deployments.placements().filter((p) => p.deployment === deployment.name)
  return {
    ...deploymentView(store, deployment, outcome),
    manifest: deployment.manifest,
    manifestYaml: manifestYaml(deployment),
    placements: placements.map((p) => ({ ...placementView(p), status: statuses.find((s) => s.nodeId === p.nodeId && s.name === p.workload) ?? null })),
    filtered: outcome?.filtered ?? {},
  }
}

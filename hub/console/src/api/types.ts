// The JSON the hub API answers with, as the console reads it. The hub's own shapes are in
// hub/api/views.ts (nodes, deployments) and protocol/ (inventory, status, events); the console
// keeps a copy of only what it shows, so browser code never imports server modules.

export type ConditionType = 'Ready' | 'Degraded' | 'Offline'
export const CONDITIONS: readonly ConditionType[] = ['Ready', 'Degraded', 'Offline']

export interface NodeCondition {
  readonly type: ConditionType
  readonly since: string | null
  readonly reasons: readonly string[]
}

export interface UsedTotal {
  readonly usedBytes: number
  readonly totalBytes: number
}

export interface NodeUsage {
  readonly cpuPercent: number | null
  readonly memory: UsedTotal
  readonly disk: UsedTotal | null
  readonly outboxDepth: number
  readonly at: string
}

export interface NodeSummary {
  readonly id: string
  readonly labels: Readonly<Record<string, string>>
  readonly capabilities: readonly string[]
  readonly arch: string
  readonly profile: string
  readonly cordoned: boolean
  readonly condition: NodeCondition
  readonly online: boolean
  readonly offlineSince: string | null
  readonly lastSeenAt: string | null
  readonly generation: { readonly latest: number; readonly observed: number }
  readonly capacity: { readonly cpuMillis: number; readonly memoryBytes: number; readonly gpus: number }
  readonly reserved: { readonly cpuMillis: number; readonly memoryBytes: number }
  readonly usage: NodeUsage | null
  readonly workloads: { readonly running: number; readonly total: number }
  readonly createdAt: string
}

export interface Inventory {
  readonly hostname: string
  readonly arch: string
  readonly cpu: { readonly model: string; readonly cores: number; readonly speedGHz?: number }
  readonly memoryBytes: number
  readonly disks: ReadonlyArray<{ readonly mount: string; readonly sizeBytes: number; readonly type?: string }>
  readonly os: { readonly platform: string; readonly distro: string; readonly release: string; readonly kernel: string }
  readonly hardware: { readonly manufacturer?: string; readonly model?: string }
  readonly gpus: ReadonlyArray<{ readonly vendor: string; readonly model: string; readonly memoryBytes?: number }>
  readonly runtime: { readonly name: string; readonly version: string } | null
}

export type WorkloadState = 'pending' | 'pulling' | 'starting' | 'running' | 'exited' | 'crash-loop' | 'failed' | 'stopped'

export interface WorkloadStatus {
  readonly nodeId: string
  readonly name: string
  readonly deployment: string
  readonly revision: number
  readonly state: WorkloadState
  readonly health: 'none' | 'starting' | 'healthy' | 'unhealthy'
  readonly containerId?: string
  readonly restarts: number
  readonly exitCode?: number
  readonly message?: string
  readonly lastLogLines?: readonly string[]
  /** When the state began by the node's own clock. */
  readonly since: string
  /** The same moment on the hub's clock: right even when the node's clock is years off. */
  readonly hubSince?: string
  readonly reportedAt: string
}

export interface FleetEvent {
  readonly id: number
  readonly nodeId: string | null
  readonly type: string
  readonly severity: 'info' | 'warning' | 'error'
  readonly workload?: string
  readonly message: string
  readonly at: string
  readonly receivedAt: string
}

export interface Placement {
  readonly nodeId: string
  readonly workload: string
  readonly deployment: string
  readonly replica: number
  /** The revision the hub told this copy to run (during a rollout, not always the deployment's). */
  readonly revision: number
  readonly since: string
}

export interface NodeDetail extends NodeSummary {
  readonly inventory: Inventory
  readonly placements: readonly Placement[]
  readonly workloadStatus: readonly WorkloadStatus[]
  readonly events: readonly FleetEvent[]
}

export interface DeploymentSummary {
  readonly name: string
  readonly revision: number
  readonly mode: 'replicated' | 'every-node'
  readonly desired: number
  readonly placed: number
  readonly ready: number
  readonly pending: number
  readonly why: string | null
  /** The rollout in brief; null before the hub planned one. The whole of it is at /rollout. */
  readonly rollout: RolloutSummary | null
  readonly createdAt: string
  readonly updatedAt: string
}

export interface DeploymentDetail extends DeploymentSummary {
  readonly manifest: unknown
  readonly placements: ReadonlyArray<Placement & { readonly status: WorkloadStatus | null }>
  /** Nodes turned down, by the first check each failed ("selector": 3). */
  readonly filtered: Readonly<Record<string, number>>
}

// Rollouts (hub/rollout/rollout-service.ts, hub/api/rollout-routes.ts).

export type RolloutPhase = 'progressing' | 'complete' | 'failed'

export interface RolloutSummary {
  readonly revision: number
  readonly stableRevision: number | null
  readonly phase: RolloutPhase
  readonly paused: boolean
  /** "HealthGateFailed, rolled back to revision 2", or null. */
  readonly failed: string | null
}

/** Where one copy stands against the revision being rolled out. */
export type GateState = 'old' | 'progressing' | 'updated' | 'failed' | 'offline'
export const GATES: readonly GateState[] = ['old', 'progressing', 'updated', 'failed', 'offline']

export interface RolloutCondition {
  readonly type: 'Progressing' | 'Available' | 'RolloutPaused' | 'RolloutFailed'
  readonly status: 'True' | 'False'
  readonly reason: string
  readonly message: string
  readonly observedRevision: number
  readonly lastTransitionTime: string
}

export interface RolloutFailure {
  /** `HealthGateFailed` or `ProgressDeadlineExceeded`. */
  readonly reason: string
  readonly message: string
  readonly nodes: ReadonlyArray<{ readonly nodeId: string; readonly reason: string }>
  /** Every updated copy was sent back to the stable revision. */
  readonly rolledBack: boolean
}

export interface CanaryStep {
  readonly count?: number
  readonly percent?: number
  readonly selector?: unknown
  /** A duration ("5m") or "manual" (until promoted). */
  readonly pause?: string
}

/** The part of a deployment's `spec.strategy` the console shows. */
export interface RolloutStrategy {
  readonly type: 'rolling' | 'canary'
  readonly maxUnavailable: number | string
  readonly minReadySeconds: number
  readonly progressDeadline: string
  readonly partitionBy?: string
  readonly steps?: readonly CanaryStep[]
}

export interface RolloutCopy {
  readonly nodeId: string
  readonly workload: string
  /** The revision this copy is told to run now. */
  readonly revision: number
  readonly gate: GateState
  /** Why the copy is where it is: "waiting for shoal rollout promote (canary step 1)". */
  readonly reason: string | null
  /** Canary step ("step 1: 1 copies", "rest") or partition value ("site=a"); null for a plain rolling update. */
  readonly wave: string | null
  readonly readySince: string | null
}

/** GET /api/v1/deployments/:name/rollout, and the answer of pause, resume and promote. */
export interface RolloutStatus {
  readonly deployment: string
  readonly revision: number
  readonly stableRevision: number | null
  readonly phase: RolloutPhase
  readonly paused: boolean
  readonly strategy: RolloutStrategy
  /** Canary: the step being worked on (0-based); equal to `steps` once past the last. */
  readonly step: number
  readonly steps: number
  readonly startedAt: string | null
  readonly failure: RolloutFailure | null
  readonly conditions: readonly RolloutCondition[]
  readonly counts: {
    readonly total: number
    readonly updated: number
    readonly onRevision: number
    readonly failed: number
    readonly maxUnavailable: number
  }
  readonly copies: readonly RolloutCopy[]
}

export type RolloutAction = 'pause' | 'resume' | 'promote'

/** One kept revision of a deployment (GET /api/v1/deployments/:name/revisions, newest first). */
export interface RevisionItem {
  readonly revision: number
  readonly image: string
  readonly createdAt: string
  readonly current: boolean
  readonly stable: boolean
  /** Copies the hub tells to run this revision now. */
  readonly copies: number
  readonly template: unknown
}

/** What POST /api/v1/deployments/:name/rollout/undo did: a new revision with revision `from`'s template. */
export interface UndoResult {
  readonly revision: number
  readonly from: number
  readonly rollout: RolloutStatus
}

/** One problem the hub found in posted manifests; line and column are 1-based. */
export interface ManifestIssue {
  readonly documentIndex?: number
  readonly path: string
  readonly message: string
  readonly line?: number
  readonly column?: number
}

export interface ApplyResult {
  readonly kind: string
  readonly name: string
  readonly outcome: 'created' | 'updated' | 'unchanged'
  readonly revision: number
  readonly desired: number
  readonly placed: number
  readonly pending: number
  readonly why: string | null
}

export interface DryRunResult {
  readonly kind: string
  readonly name: string
  readonly placements: ReadonlyArray<{ readonly nodeId: string; readonly workload: string; readonly replica: number }>
  readonly desired: number
  readonly pending: number
  readonly why: string | null
}

/** What the hub's change stream (GET /api/v1/stream) says changed; the console then refetches. */
export type Change =
  | { readonly type: 'node'; readonly nodeId: string; readonly reason: string }
  | { readonly type: 'deployment'; readonly name: string; readonly reason: string }
  | { readonly type: 'event'; readonly id: number; readonly nodeId: string | null; readonly eventType: string; readonly message: string }
  /** Sent by the console itself after (re)connecting: anything may have changed meanwhile. */
  | { readonly type: 'resync' }

/** What POST /api/v1/nodes/:id/drain did (hub/api/drain-route.ts). */
export interface DrainResult {
  readonly drained: string
  readonly evicted: ReadonlyArray<{ readonly deployment: string; readonly workload: string; readonly replica: number; readonly movedTo: string | null }>
  readonly kept: ReadonlyArray<{ readonly deployment: string; readonly workload: string; readonly reason: string }>
}

export interface NodePatch {
  readonly labels?: Readonly<Record<string, string | null>>
  readonly cordoned?: boolean
}

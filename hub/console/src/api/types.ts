// The JSON the hub API answers with is declared once, as zod schemas in protocol/api; these are
// their types. Imported as types only: nothing of protocol/ (nor zod) ends up in the bundle.
import type { Change as HubChange, NodeConditionType } from '../../../../protocol/api/index.js'

export type {
  AlertList,
  AlertView,
  AppliedManifest,
  ApplyResponse,
  BulkNodeAction,
  BulkNodeRequest,
  BulkNodeResult,
  ConfigObjectCopy,
  ConfigObjectDetail,
  ConfigObjectList,
  ConfigObjectView,
  CopyMove,
  CronJobDetail,
  CronJobList,
  CronJobNodeView,
  CronJobView,
  CronRunView,
  DeploymentDetail,
  DeploymentList,
  DeploymentView,
  DrainResult,
  DryRunResponse,
  EventList,
  EventView,
  GateState,
  JobConditionView,
  JobCopyView,
  JobDetail,
  JobList,
  JobSummaryView,
  LogStreamRecord,
  ManifestIssue,
  NodeCondition,
  NodeConditionType,
  NodeDetail,
  NodeList,
  NodePatch,
  NodeView,
  PlacementView,
  PreviewedManifest,
  RevisionChange,
  RevisionHistory,
  RevisionView,
  RolloutAction,
  RolloutCondition,
  RolloutCopyView,
  RolloutPhase,
  RolloutStatus,
  RolloutSummary,
  SessionEndMessage,
  SessionList,
  SessionOpenedMessage,
  SessionRequest,
  SessionView,
  TokenCreated,
  TokenList,
  TokenRequest,
  TokenRevoked,
  TokenView,
  WorkloadStatusView,
} from '../../../../protocol/api/index.js'
export type { RolloutStrategy } from '../../../../protocol/rollout-strategy.js'
export type { TerminalSize } from '../../../../protocol/session.js'
export type { WorkloadState } from '../../../../protocol/status.js'

/** What the change stream says changed, and `resync`, which the console sends itself after (re)connecting: anything may have changed meanwhile. */
export type Change = HubChange | { readonly type: 'resync' }

// The order the console shows conditions in; `satisfies` makes it name each exactly once.
const CONDITION_ORDER = { Ready: 0, Degraded: 1, Offline: 2 } satisfies Record<NodeConditionType, number>
export const CONDITIONS = Object.keys(CONDITION_ORDER) as NodeConditionType[]

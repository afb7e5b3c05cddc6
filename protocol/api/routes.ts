import { z } from 'zod'
import { EnrollmentRequest, EnrollmentResponse } from '../enrollment.js'
import { Deployment } from '../manifest.js'
import { Change } from './changes.js'
import { SelectorQuery } from './envelopes.js'
import { ConfigObjectDeleted, ConfigObjectDetail, ConfigObjectList } from './config-objects.js'
import { CronJobDeleted, CronJobDetail, CronJobList } from './cron-jobs.js'
import { DeploymentDeleted, DeploymentDetail, DeploymentList } from './deployments.js'
import { JobDeleted, JobDetail, JobList } from './jobs.js'
import { AlertList, AlertsQuery, AlertView } from './alerts.js'
import { AuditList, EventList, EventsQuery } from './events.js'
import { Health } from './health.js'
import { LogStreamRecord, LogsQuery } from './logs.js'
import { ManifestsQuery, ManifestsResponse } from './manifests.js'
import { BulkNodeRequest, BulkNodeResult } from './bulk-nodes.js'
import { DrainResult, NodeDetail, NodeList, NodePatch, NodeRevoked, NodeView } from './nodes.js'
import { RevisionChange, RevisionHistory, RolloutStatus, UndoRequest } from './rollouts.js'
import { SessionList, SessionsQuery } from './sessions.js'
import { TokenCreated, TokenList, TokenRequest, TokenRevoked } from './tokens.js'

export type HttpMethod = 'GET' | 'POST' | 'PATCH' | 'DELETE'

/** A JSON answer the handler returns as a value; the server sends it with `status`. */
export interface JsonReply {
  readonly status: 200 | 201
  readonly type: 'application/json'
  readonly schema: z.ZodType
}

/** An answer the handler writes itself: a stream, or text. `schema` is one record of the stream, when it has records. */
export interface WrittenReply {
  readonly status: 200
  readonly type: 'text/event-stream' | 'application/x-ndjson' | 'text/plain'
  readonly schema?: z.ZodType
}

/** One route of the hub's HTTP API: the single list the router registers and the OpenAPI document describes. */
export interface ApiRoute {
  readonly method: HttpMethod
  /** With `:params`, as the router matches them. */
  readonly path: string
  readonly summary: string
  /** Answers without the admin token. */
  readonly public?: boolean
  readonly query?: z.ZodObject
  readonly body?: { readonly type: 'application/json' | 'application/yaml'; readonly schema: z.ZodType; readonly many?: boolean }
  readonly reply: JsonReply | WrittenReply
}

const json = <S extends z.ZodType>(schema: S) => ({ status: 200, type: 'application/json', schema }) as const
const created = <S extends z.ZodType>(schema: S) => ({ status: 201, type: 'application/json', schema }) as const
const jsonBody = <S extends z.ZodType>(schema: S) => ({ type: 'application/json', schema }) as const

/**
 * Every route the hub serves, by name. The router registers each from here (hub/api), and
 * openApiDocument() describes each from here, so neither can list a route the other lacks.
 */
export const API_ROUTES = {
  health: { method: 'GET', path: '/healthz', summary: 'Is the hub up; its transport and broker address', public: true, reply: json(Health) },
  metrics: {
    method: 'GET',
    path: '/metrics',
    summary: 'Prometheus metrics (text exposition format)',
    public: true,
    reply: { status: 200, type: 'text/plain' },
  },
  openApi: { method: 'GET', path: '/api/v1/openapi.json', summary: 'This API, as an OpenAPI 3.1 document', reply: json(z.record(z.string(), z.unknown())) },

  enroll: {
    method: 'POST',
    path: '/api/v1/enroll',
    summary:
      'Enroll a node with a join token (the token is the credential; 10 failures per address and minute, then 429; beyond the hub admission rate, 429 with Retry-After)',
    public: true,
    body: jsonBody(EnrollmentRequest),
    reply: created(EnrollmentResponse),
  },

  listConfigs: {
    method: 'GET',
    path: '/api/v1/configs',
    summary: 'List Configs: keys, sizes, versions and the deployments using each',
    reply: json(ConfigObjectList),
  },
  getConfig: {
    method: 'GET',
    path: '/api/v1/configs/:name',
    summary: 'One Config, its data, and which version each copy using it runs',
    reply: json(ConfigObjectDetail),
  },
  deleteConfig: { method: 'DELETE', path: '/api/v1/configs/:name', summary: 'Delete a Config no deployment uses', reply: json(ConfigObjectDeleted) },
  listSecrets: {
    method: 'GET',
    path: '/api/v1/secrets',
    summary: 'List Secrets: keys, sizes, versions and users, never values',
    reply: json(ConfigObjectList),
  },
  getSecret: {
    method: 'GET',
    path: '/api/v1/secrets/:name',
    summary: 'One Secret (never its values) and which version each copy using it runs',
    reply: json(ConfigObjectDetail),
  },
  deleteSecret: { method: 'DELETE', path: '/api/v1/secrets/:name', summary: 'Delete a Secret no deployment uses', reply: json(ConfigObjectDeleted) },
  createToken: { method: 'POST', path: '/api/v1/tokens', summary: 'Create a join token', body: jsonBody(TokenRequest), reply: created(TokenCreated) },
  listTokens: { method: 'GET', path: '/api/v1/tokens', summary: 'List join tokens (never their secrets)', reply: json(TokenList) },
  revokeToken: { method: 'DELETE', path: '/api/v1/tokens/:id', summary: 'Revoke a join token', reply: json(TokenRevoked) },

  applyManifests: {
    method: 'POST',
    path: '/api/v1/manifests',
    summary: 'Apply manifests (YAML or JSON, several documents), all or nothing; with dryRun=true, preview placements',
    query: ManifestsQuery,
    body: { type: 'application/yaml', schema: Deployment, many: true },
    reply: json(ManifestsResponse),
  },

  listNodes: { method: 'GET', path: '/api/v1/nodes', summary: 'List nodes, optionally by label selector', query: SelectorQuery, reply: json(NodeList) },
  getNode: { method: 'GET', path: '/api/v1/nodes/:id', summary: 'A node with its inventory, placements, workloads and latest events', reply: json(NodeDetail) },
  patchNode: {
    method: 'PATCH',
    path: '/api/v1/nodes/:id',
    summary: 'Set or remove labels; cordon or uncordon',
    body: jsonBody(NodePatch),
    reply: json(NodeView),
  },
  revokeNode: { method: 'DELETE', path: '/api/v1/nodes/:id', summary: "Revoke a node's credentials and forget it", reply: json(NodeRevoked) },
  drainNode: { method: 'POST', path: '/api/v1/nodes/:id/drain', summary: 'Cordon a node and move its replicated copies elsewhere', reply: json(DrainResult) },
  bulkNodes: {
    method: 'POST',
    path: '/api/v1/nodes/bulk',
    summary: 'Label, unlabel, cordon, uncordon or drain many nodes in one action, with a result per node; dryRun: true answers which copies would move where',
    body: jsonBody(BulkNodeRequest),
    reply: json(BulkNodeResult),
  },

  listDeployments: {
    method: 'GET',
    path: '/api/v1/deployments',
    summary: 'List deployments with their counts and rollout in brief, optionally by label selector',
    query: SelectorQuery,
    reply: json(DeploymentList),
  },
  getDeployment: {
    method: 'GET',
    path: '/api/v1/deployments/:name',
    summary: 'A deployment with its manifest, placements and why nodes were filtered',
    reply: json(DeploymentDetail),
  },
  listCronJobs: {
    method: 'GET',
    path: '/api/v1/cronjobs',
    summary: 'List cron jobs: schedule, zone, suspend, how many nodes run each and the latest run reported',
    query: SelectorQuery,
    reply: json(CronJobList),
  },
  getCronJob: {
    method: 'GET',
    path: '/api/v1/cronjobs/:name',
    summary: 'A cron job with its manifest and, per node, the next firing by the schedule, recent runs with results, and skip and miss counts',
    reply: json(CronJobDetail),
  },
  deleteCronJob: {
    method: 'DELETE',
    path: '/api/v1/cronjobs/:name',
    summary: "Delete a cron job (it leaves its nodes' documents)",
    reply: json(CronJobDeleted),
  },
  deleteDeployment: { method: 'DELETE', path: '/api/v1/deployments/:name', summary: 'Delete a deployment (its copies stop)', reply: json(DeploymentDeleted) },
  deploymentLogs: {
    method: 'GET',
    path: '/api/v1/deployments/:name/logs',
    summary: "A deployment's logs from its nodes, relayed on demand, as NDJSON records",
    query: LogsQuery,
    reply: { status: 200, type: 'application/x-ndjson', schema: LogStreamRecord },
  },

  rolloutStatus: {
    method: 'GET',
    path: '/api/v1/deployments/:name/rollout',
    summary: "A deployment's rollout: phase, conditions, counts and every copy's gate",
    reply: json(RolloutStatus),
  },
  revisions: { method: 'GET', path: '/api/v1/deployments/:name/revisions', summary: 'The kept revisions, newest first', reply: json(RevisionHistory) },
  pauseRollout: { method: 'POST', path: '/api/v1/deployments/:name/rollout/pause', summary: 'Pause the rollout', reply: json(RolloutStatus) },
  resumeRollout: { method: 'POST', path: '/api/v1/deployments/:name/rollout/resume', summary: 'Resume a paused rollout', reply: json(RolloutStatus) },
  promoteRollout: {
    method: 'POST',
    path: '/api/v1/deployments/:name/rollout/promote',
    summary: "Promote past a canary step's pause",
    reply: json(RolloutStatus),
  },
  undoRollout: {
    method: 'POST',
    path: '/api/v1/deployments/:name/rollout/undo',
    summary: "A new revision with an older revision's template",
    body: jsonBody(UndoRequest),
    reply: json(RevisionChange),
  },
  restartRollout: {
    method: 'POST',
    path: '/api/v1/deployments/:name/rollout/restart',
    summary: 'A new revision that replaces every copy, within the strategy',
    reply: json(RevisionChange),
  },

  listJobs: { method: 'GET', path: '/api/v1/jobs', summary: 'List jobs with their counts and condition', reply: json(JobList) },
  getJob: {
    method: 'GET',
    path: '/api/v1/jobs/:name',
    summary: 'A job with its manifest and every copy attempt: node, state, exit code, start and end, reason',
    reply: json(JobDetail),
  },
  deleteJob: { method: 'DELETE', path: '/api/v1/jobs/:name', summary: 'Delete a job and its records (its running copies stop)', reply: json(JobDeleted) },
  jobLogs: {
    method: 'GET',
    path: '/api/v1/jobs/:name/logs',
    summary: "A job's output as NDJSON records: each finished copy's last lines as kept on the hub, each running copy's relayed from its node",
    query: LogsQuery,
    reply: { status: 200, type: 'application/x-ndjson', schema: LogStreamRecord },
  },

  events: { method: 'GET', path: '/api/v1/events', summary: 'Events, the latest or those after an id', query: EventsQuery, reply: json(EventList) },
  stream: {
    method: 'GET',
    path: '/api/v1/stream',
    summary: 'What changes, as server-sent events',
    reply: { status: 200, type: 'text/event-stream', schema: Change },
  },
  audit: { method: 'GET', path: '/api/v1/audit', summary: 'Who changed what', reply: json(AuditList) },
  listSessions: {
    method: 'GET',
    path: '/api/v1/sessions',
    summary: 'Remote sessions (exec, port-forward, cp), newest first: who, where, when, how they ended and bytes each way',
    query: SessionsQuery,
    reply: json(SessionList),
  },

  listAlerts: {
    method: 'GET',
    path: '/api/v1/alerts',
    summary: 'Alerts that fire or resolved unacknowledged, newest first, with counts; all=true adds the latest closed ones',
    query: AlertsQuery,
    reply: json(AlertList),
  },
  acknowledgeAlert: {
    method: 'POST',
    path: '/api/v1/alerts/:id/acknowledge',
    summary: 'Mark an alert seen: a resolved one is closed, a firing one stays listed until it resolves',
    reply: json(AlertView),
  },
} as const satisfies Readonly<Record<string, ApiRoute>>

export type ApiRouteName = keyof typeof API_ROUTES

/** What a handler of this route returns: the reply's value for a JSON route, text for text, nothing for one that streams its answer. */
export type ReplyOf<R extends ApiRoute> = R['reply'] extends JsonReply
  ? DeepReadonly<z.infer<R['reply']['schema']>>
  : R['reply']['type'] extends 'text/plain'
    ? string
    : void

/** The same type read-only all the way down: a server may answer with the read-only records it holds. */
export type DeepReadonly<T> = T extends (infer E)[] ? readonly DeepReadonly<E>[] : T extends object ? { readonly [K in keyof T]: DeepReadonly<T[K]> } : T

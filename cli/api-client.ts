import type {
  AlertList,
  AlertView,
  ApplyResponse,
  BulkNodeRequest,
  BulkNodeResult,
  ConfigObjectDeleted,
  ConfigObjectDetail,
  ConfigObjectList,
  ConfigObjectView,
  CronJobDeleted,
  CronJobDetail,
  CronJobList,
  CronJobView,
  DeploymentDeleted,
  DeploymentDetail,
  DeploymentList,
  DeploymentView,
  DrainResult,
  DryRunResponse,
  ErrorDetail,
  EventList,
  SessionList,
  SessionView,
  EventView,
  Health,
  JobDeleted,
  JobDetail,
  JobList,
  JobSummaryView,
  NodeDetail,
  NodeList,
  NodePatch,
  NodeView,
  RevisionChange,
  RevisionHistory,
  RolloutAction,
  RolloutStatus,
  TokenCreated,
  TokenList,
  TokenRequest,
  TokenRevoked,
  TokenView,
} from '../protocol/api/index.js'
import { httpRequest, type HttpAnswer } from './http-request.js'
import { CliError, ExitCode } from './io.js'

// The hub's JSON shapes are the API contract's (protocol/api), the same types the hub builds
// its answers as; the CLI reads them under the names its commands use.
export type {
  AlertList,
  AlertView,
  ApplyResponse,
  BulkNodeRequest,
  BulkNodeResult,
  ConfigObjectDetail,
  ConfigObjectView,
  DeploymentView,
  DrainResult,
  DryRunResponse,
  ErrorDetail,
  EventView,
  NodePatch,
  NodeView,
  RevisionChange,
  RevisionHistory,
  RolloutAction,
  RolloutStatus,
  TokenRequest,
  TokenView,
}
export type { AppliedManifest, PreviewedManifest, RolloutCopyView } from '../protocol/api/index.js'
export type { ConfigObjectCopy } from '../protocol/api/index.js'
export type { JobCopyView, JobDetail, JobSummaryView } from '../protocol/api/index.js'
export type NodeDetailView = NodeDetail

/** Config or Secret: the two kinds the hub keeps under /api/v1/configs and /api/v1/secrets. */
export type ConfigObjectKind = 'Config' | 'Secret'
const CONFIG_OBJECT_PATH: Readonly<Record<ConfigObjectKind, string>> = { Config: '/api/v1/configs', Secret: '/api/v1/secrets' }
export type DeploymentDetailView = DeploymentDetail
export type TokenResponse = TokenCreated
export type DrainResponse = DrainResult

/** One message of the hub's server-sent-events stream. */
export interface StreamMessage {
  readonly event: string
  readonly data: unknown
}

/** The hub could not be reached at all: not running, wrong address, DNS, TLS. */
/** Where the hub's address came from, so a hint names what to check instead of always `shoal login`. */
export type HubSource = 'flag' | 'env' | 'context'

const UNREACHABLE_HINT: Readonly<Record<HubSource, string>> = {
  flag: '(check --hub)',
  env: '(the address is from SHOAL_HUB; check it)',
  context: '(or point at another hub with shoal login URL --token T)',
}

export class HubUnreachableError extends CliError {
  readonly code = 'unreachable'
  constructor(
    readonly hub: string,
    readonly reason: string,
    readonly hubFrom: HubSource = 'context',
  ) {
    super(`cannot reach the hub at ${hub}: ${reason}; is it running? ${UNREACHABLE_HINT[hubFrom]}`, ExitCode.failed)
    this.name = 'HubUnreachableError'
  }
}

/** 401: the token is wrong, or belongs to another hub. */
export class HubAuthError extends CliError {
  readonly code = 'unauthorized'
  constructor(readonly hub: string) {
    super(`the hub at ${hub} refused the token; run shoal login ${hub} --token TOKEN again (the admin token is in the hub's data directory)`, ExitCode.failed)
    this.name = 'HubAuthError'
  }
}

/** Any other answer that is not a success: the hub's own code, message and field details. */
export class HubRequestError extends CliError {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly hubMessage: string,
    readonly details: readonly ErrorDetail[],
  ) {
    super(withDetails(hubMessage, details, code), ExitCode.failed)
    this.name = 'HubRequestError'
  }
}

function withDetails(message: string, details: readonly ErrorDetail[], code: string): string {
  // Manifest errors already list their problems in the message; other details are appended.
  if (details.length === 0 || (code === 'bad-request' && message.includes('problem(s)'))) return message
  const listed = details.map((d) => [d.path, d.message].filter(Boolean).join(': ')).filter((text) => text !== '')
  return listed.length === 0 ? message : `${message} (${listed.join('; ')})`
}

export interface HubClientOptions {
  readonly hub: string
  readonly token: string
  readonly hubFrom?: HubSource
  /** Bound for one request and answer (not for the event stream). */
  readonly timeoutMs?: number
}

interface RequestOptions {
  readonly body?: string
  readonly contentType?: string
  readonly query?: Readonly<Record<string, string | number | undefined>>
}

/** The hub's HTTP API, with errors that say what to do next. */
export class HubClient {
  readonly hub: string
  private readonly token: string
  private readonly timeoutMs: number
  private readonly hubFrom: HubSource

  constructor(options: HubClientOptions) {
    this.hub = options.hub.replace(/\/+$/, '')
    this.hubFrom = options.hubFrom ?? 'context'
    this.token = options.token
    this.timeoutMs = options.timeoutMs ?? 30_000
  }

  health(): Promise<Health> {
    return this.request('GET', '/healthz')
  }

  async listNodes(selector?: string): Promise<NodeView[]> {
    return (await this.request<NodeList>('GET', '/api/v1/nodes', { query: { selector } })).items
  }

  getNode(id: string): Promise<NodeDetail> {
    return this.request('GET', `/api/v1/nodes/${encodeURIComponent(id)}`)
  }

  patchNode(id: string, patch: NodePatch): Promise<NodeView> {
    return this.request('PATCH', `/api/v1/nodes/${encodeURIComponent(id)}`, { body: JSON.stringify(patch), contentType: 'application/json' })
  }

  drainNode(id: string): Promise<DrainResult> {
    return this.request('POST', `/api/v1/nodes/${encodeURIComponent(id)}/drain`)
  }

  /** One action on many nodes; with dryRun, what would change and which copies would move where. */
  bulkNodes(request: BulkNodeRequest): Promise<BulkNodeResult> {
    return this.request('POST', '/api/v1/nodes/bulk', { body: JSON.stringify(request), contentType: 'application/json' })
  }

  /** Firing and resolved-unacknowledged alerts; with all, the latest closed ones too. */
  listAlerts(all = false): Promise<AlertList> {
    return this.request('GET', '/api/v1/alerts', { query: { all: all ? 'true' : undefined } })
  }

  acknowledgeAlert(id: number): Promise<AlertView> {
    return this.request('POST', `/api/v1/alerts/${id}/acknowledge`)
  }

  /** With a selector, only deployments whose labels match; the hub filters (a malformed selector is its 400). */
  async listDeployments(selector?: string): Promise<DeploymentView[]> {
    return (await this.request<DeploymentList>('GET', '/api/v1/deployments', { query: { selector } })).items
  }

  getDeployment(name: string): Promise<DeploymentDetail> {
    return this.request('GET', `/api/v1/deployments/${encodeURIComponent(name)}`)
  }

  deleteDeployment(name: string): Promise<DeploymentDeleted> {
    return this.request('DELETE', `/api/v1/deployments/${encodeURIComponent(name)}`)
  }

  /** With a selector, only cron jobs whose labels match. */
  async listCronJobs(selector?: string): Promise<CronJobView[]> {
    return (await this.request<CronJobList>('GET', '/api/v1/cronjobs', { query: { selector } })).items
  }

  /** One cron job with, per node, its next firing and recent runs. */
  getCronJob(name: string): Promise<CronJobDetail> {
    return this.request('GET', `/api/v1/cronjobs/${encodeURIComponent(name)}`)
  }

  deleteCronJob(name: string): Promise<CronJobDeleted> {
    return this.request('DELETE', `/api/v1/cronjobs/${encodeURIComponent(name)}`)
  }

  async listJobs(): Promise<JobSummaryView[]> {
    return (await this.request<JobList>('GET', '/api/v1/jobs')).items
  }

  getJob(name: string): Promise<JobDetail> {
    return this.request('GET', `/api/v1/jobs/${encodeURIComponent(name)}`)
  }

  deleteJob(name: string): Promise<JobDeleted> {
    return this.request('DELETE', `/api/v1/jobs/${encodeURIComponent(name)}`)
  }

  /** Configs or Secrets as listed: keys, sizes, versions and users (never a Secret's values). */
  async listConfigObjects(kind: ConfigObjectKind): Promise<ConfigObjectView[]> {
    return (await this.request<ConfigObjectList>('GET', CONFIG_OBJECT_PATH[kind])).items
  }

  /** One Config (with its data) or Secret (never its values), and the version each copy runs. */
  getConfigObject(kind: ConfigObjectKind, name: string): Promise<ConfigObjectDetail> {
    return this.request('GET', `${CONFIG_OBJECT_PATH[kind]}/${encodeURIComponent(name)}`)
  }

  deleteConfigObject(kind: ConfigObjectKind, name: string): Promise<ConfigObjectDeleted> {
    return this.request('DELETE', `${CONFIG_OBJECT_PATH[kind]}/${encodeURIComponent(name)}`)
  }

  applyManifests(text: string, dryRun: true): Promise<DryRunResponse>
  applyManifests(text: string, dryRun: boolean, pullNow?: boolean): Promise<ApplyResponse | DryRunResponse>
  applyManifests(text: string, dryRun: boolean, pullNow = false): Promise<ApplyResponse | DryRunResponse> {
    const query = { dryRun: dryRun ? 'true' : undefined, pullNow: pullNow ? 'true' : undefined }
    return this.request('POST', '/api/v1/manifests', { body: text, contentType: 'application/yaml', query })
  }

  rolloutStatus(name: string): Promise<RolloutStatus> {
    return this.request('GET', `/api/v1/deployments/${encodeURIComponent(name)}/rollout`)
  }

  rolloutHistory(name: string): Promise<RevisionHistory> {
    return this.request('GET', `/api/v1/deployments/${encodeURIComponent(name)}/revisions`)
  }

  /** pause, resume or promote; answers the rollout as it stands after the hub acted. */
  rolloutAction(name: string, action: RolloutAction): Promise<RolloutStatus> {
    return this.request('POST', `/api/v1/deployments/${encodeURIComponent(name)}/rollout/${action}`)
  }

  /** A new revision with an older one's template: `toRevision`, else the last fully available one. */
  rolloutUndo(name: string, toRevision?: number): Promise<RevisionChange> {
    const body = JSON.stringify(toRevision === undefined ? {} : { toRevision })
    return this.request('POST', `/api/v1/deployments/${encodeURIComponent(name)}/rollout/undo`, { body, contentType: 'application/json' })
  }

  /** A new revision that only changes an annotation: every copy is replaced, within the strategy. */
  rolloutRestart(name: string): Promise<RevisionChange> {
    return this.request('POST', `/api/v1/deployments/${encodeURIComponent(name)}/rollout/restart`)
  }

  createToken(request: TokenRequest): Promise<TokenCreated> {
    return this.request('POST', '/api/v1/tokens', { body: JSON.stringify(request), contentType: 'application/json' })
  }

  async listTokens(): Promise<TokenView[]> {
    return (await this.request<TokenList>('GET', '/api/v1/tokens')).items
  }

  revokeToken(id: string): Promise<TokenRevoked> {
    return this.request('DELETE', `/api/v1/tokens/${encodeURIComponent(id)}`)
  }

  /** Events after `since` (an event id), oldest first. */
  async events(filter: { since?: number; node?: string; limit?: number } = {}): Promise<EventView[]> {
    return (await this.request<EventList>('GET', '/api/v1/events', { query: { since: filter.since, node: filter.node, limit: filter.limit } })).items
  }

  /** Remote sessions, newest first (the hub's audit record). */
  async listSessions(filter: { node?: string; limit?: number } = {}): Promise<SessionView[]> {
    return (await this.request<SessionList>('GET', '/api/v1/sessions', { query: { node: filter.node, limit: filter.limit } })).items
  }

  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const response = await this.send(method, path, options, AbortSignal.timeout(this.timeoutMs))
    const text = await response.text().catch((error: Error) => {
      throw new HubUnreachableError(this.hub, `the connection broke while reading the answer (${error.message})`, this.hubFrom)
    })
    if (response.ok) return this.parseJson<T>(response, text)
    throw this.errorFor(response, text)
  }

  /**
   * The hub's change stream: yields each message until the hub closes it or `signal` aborts
   * (then it returns quietly). Reconnecting is the caller's choice.
   */
  async *stream(signal: AbortSignal): AsyncGenerator<StreamMessage> {
    let response: HttpAnswer
    try {
      response = await this.send('GET', '/api/v1/stream', {}, signal, 'text/event-stream')
    } catch (error) {
      if (signal.aborted) return
      throw error
    }
    if (!response.ok) throw this.errorFor(response, await response.text().catch(() => ''))
    const decoder = new TextDecoder()
    let buffer = ''
    try {
      for await (const chunk of response.body) {
        buffer += decoder.decode(chunk, { stream: true })
        let end: number
        while ((end = buffer.search(/\r?\n\r?\n/)) !== -1) {
          const block = buffer.slice(0, end)
          buffer = buffer.slice(end).replace(/^\r?\n\r?\n/, '')
          const message = parseSseBlock(block)
          if (message) yield message
        }
      }
    } catch (error) {
      if (signal.aborted) return
      throw new HubUnreachableError(this.hub, `the event stream broke (${(error as Error).message})`, this.hubFrom)
    }
  }

  private async send(method: string, path: string, options: RequestOptions, signal: AbortSignal, accept = 'application/json'): Promise<HttpAnswer> {
    const url = new URL(`${this.hub}${path}`)
    for (const [key, value] of Object.entries(options.query ?? {})) if (value !== undefined && value !== '') url.searchParams.set(key, String(value))
    const headers: Record<string, string> = { authorization: `Bearer ${this.token}`, accept }
    if (options.contentType) headers['content-type'] = options.contentType
    try {
      return await httpRequest(url, { method, headers, ...(options.body !== undefined ? { body: options.body } : {}), signal })
    } catch (error) {
      if (signal.aborted && (signal.reason as Error | undefined)?.name === 'TimeoutError') {
        throw new HubUnreachableError(this.hub, `no answer within ${Math.round(this.timeoutMs / 1000)}s`, this.hubFrom)
      }
      if (signal.aborted) throw error
      throw new HubUnreachableError(this.hub, describeFetchFailure(error), this.hubFrom)
    }
  }

  private parseJson<T>(response: HttpAnswer, text: string): T {
    try {
      return JSON.parse(text) as T
    } catch {
      throw new HubRequestError(
        response.status,
        'not-a-hub',
        `${this.hub} answered HTTP ${response.status} with something other than JSON (${response.header('content-type') ?? 'no content type'}); is this the hub API URL?`,
        [],
      )
    }
  }

  private errorFor(response: HttpAnswer, text: string): CliError {
    if (response.status === 401) return new HubAuthError(this.hub)
    let body: { error?: { code?: string; message?: string; details?: ErrorDetail[] } } = {}
    try {
      body = JSON.parse(text) as typeof body
    } catch {
      // not the hub's JSON error (a proxy, another server): described below
    }
    const error = body.error
    if (!error?.message) {
      return new HubRequestError(
        response.status,
        'not-a-hub',
        `${this.hub} answered HTTP ${response.status} ${response.statusText} without a hub error; is this the hub API URL?`,
        [],
      )
    }
    return new HubRequestError(response.status, error.code ?? 'error', error.message, Array.isArray(error.details) ? error.details : [])
  }
}

/** "connect ECONNREFUSED 127.0.0.1:9" from a request's error, or from undici's "fetch failed" and its cause chain. */
export function describeFetchFailure(error: unknown): string {
  let cause: unknown = error
  for (let depth = 0; depth < 4; depth++) {
    const next = (cause as { cause?: unknown } | null)?.cause
    if (next === undefined || next === null) break
    cause = next
  }
  if (cause instanceof AggregateError && cause.errors.length > 0) cause = cause.errors[0]
  const { code, message } = (cause ?? {}) as { code?: string; message?: string }
  if (message && message !== 'fetch failed') return message
  return code ?? (error as Error).message ?? String(error)
}

function parseSseBlock(block: string): StreamMessage | null {
  let event = 'message'
  const data: string[] = []
  for (const line of block.split(/\r?\n/)) {
    if (line === '' || line.startsWith(':')) continue
    const colon = line.indexOf(':')
    const field = colon === -1 ? line : line.slice(0, colon)
    const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '')
    if (field === 'event') event = value
    else if (field === 'data') data.push(value)
  }
  if (data.length === 0) return null
  const text = data.join('\n')
  try {
    return { event, data: JSON.parse(text) as unknown }
  } catch {
    return { event, data: text }
  }
}

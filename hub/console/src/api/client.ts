import type {
  AlertList,
  AlertView,
  ApplyResponse,
  BulkNodeRequest,
  BulkNodeResult,
  ConfigObjectDetail,
  ConfigObjectList,
  CronJobDetail,
  CronJobList,
  DeploymentDetail,
  DeploymentList,
  DrainResult,
  DryRunResponse,
  EventList,
  JobDetail,
  JobList,
  ManifestIssue,
  NodeDetail,
  NodeList,
  NodePatch,
  NodeView,
  RevisionChange,
  RevisionHistory,
  RolloutAction,
  RolloutStatus,
  SessionList,
  SessionRequest,
  TokenCreated,
  TokenList,
  TokenRequest,
  TokenRevoked,
} from './types'
import { attachUrl } from './session-frames'
import { SessionSocket, type SessionListener } from './session-socket'

export type ConfigObjectKind = 'Config' | 'Secret'
const CONFIG_OBJECT_PATH = { Config: '/api/v1/configs', Secret: '/api/v1/secrets' } satisfies Record<ConfigObjectKind, string>

/** The hub said no: its status, stable code, message (which says what to do) and details. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: readonly unknown[] = [],
  ) {
    super(message)
    this.name = 'ApiError'
  }

  /** The located manifest problems of a refused POST /api/v1/manifests. */
  manifestIssues(): ManifestIssue[] {
    return this.details.filter((d): d is ManifestIssue => typeof d === 'object' && d !== null && typeof (d as ManifestIssue).message === 'string')
  }
}

export interface LogQuery {
  readonly deployment: string
  readonly node: string
  readonly tail: number
  readonly follow: boolean
}

/**
 * The hub API with the admin token: every call sends it as a bearer header (also the change and
 * log streams, read with fetch rather than EventSource for exactly that reason). A 401 signs the
 * console out.
 */
export class ApiClient {
  constructor(
    private readonly token: string,
    private readonly onUnauthorized: () => void,
    private readonly base = '',
  ) {}

  nodes(selector = ''): Promise<NodeList> {
    return this.json('GET', `/api/v1/nodes${selector.trim() ? `?selector=${encodeURIComponent(selector.trim())}` : ''}`)
  }

  node(id: string): Promise<NodeDetail> {
    return this.json('GET', `/api/v1/nodes/${encodeURIComponent(id)}`)
  }

  patchNode(id: string, patch: NodePatch): Promise<NodeView> {
    return this.json('PATCH', `/api/v1/nodes/${encodeURIComponent(id)}`, JSON.stringify(patch), 'application/json')
  }

  /** Cordons the node and moves its replicated copies elsewhere (every-node copies stay). */
  drainNode(id: string): Promise<DrainResult> {
    return this.json('POST', `/api/v1/nodes/${encodeURIComponent(id)}/drain`, '{}', 'application/json')
  }

  /** One action on many nodes, with a result per node; with dryRun, only what would change and move. */
  bulkNodes(request: BulkNodeRequest): Promise<BulkNodeResult> {
    return this.json('POST', '/api/v1/nodes/bulk', JSON.stringify(request), 'application/json')
  }

  /** Firing and resolved-unacknowledged alerts; with all, the latest closed ones too. */
  alerts(all = false): Promise<AlertList> {
    return this.json('GET', `/api/v1/alerts${all ? '?all=true' : ''}`)
  }

  acknowledgeAlert(id: number): Promise<AlertView> {
    return this.json('POST', `/api/v1/alerts/${id}/acknowledge`, '{}', 'application/json')
  }

  deployments(selector = ''): Promise<DeploymentList> {
    return this.json('GET', selector ? `/api/v1/deployments?selector=${encodeURIComponent(selector)}` : '/api/v1/deployments')
  }

  deployment(name: string): Promise<DeploymentDetail> {
    return this.json('GET', `/api/v1/deployments/${encodeURIComponent(name)}`)
  }

  rollout(name: string): Promise<RolloutStatus> {
    return this.json('GET', `/api/v1/deployments/${encodeURIComponent(name)}/rollout`)
  }

  revisions(name: string): Promise<RevisionHistory> {
    return this.json('GET', `/api/v1/deployments/${encodeURIComponent(name)}/revisions`)
  }

  /** Pause, resume or promote the rollout; the hub answers 409 (rollout-conflict) when the rollout's phase does not allow it. */
  rolloutAction(name: string, action: RolloutAction): Promise<RolloutStatus> {
    return this.json('POST', `/api/v1/deployments/${encodeURIComponent(name)}/rollout/${action}`, '{}', 'application/json')
  }

  /** A new revision with an older revision's template (the hub picks the stable one when `toRevision` is null). */
  undo(name: string, toRevision: number | null): Promise<RevisionChange> {
    const body = JSON.stringify(toRevision === null ? {} : { toRevision })
    return this.json('POST', `/api/v1/deployments/${encodeURIComponent(name)}/rollout/undo`, body, 'application/json')
  }

  /** Configs or Secrets as listed: keys, sizes, versions, users; never a Secret's values. */
  configObjects(kind: ConfigObjectKind): Promise<ConfigObjectList> {
    return this.json('GET', CONFIG_OBJECT_PATH[kind])
  }

  /** One Config (with its data) or Secret (keys and sizes only), and which version each copy runs. */
  configObject(kind: ConfigObjectKind, name: string): Promise<ConfigObjectDetail> {
    return this.json('GET', `${CONFIG_OBJECT_PATH[kind]}/${encodeURIComponent(name)}`)
  }

  jobs(): Promise<JobList> {
    return this.json('GET', '/api/v1/jobs')
  }

  job(name: string): Promise<JobDetail> {
    return this.json('GET', `/api/v1/jobs/${encodeURIComponent(name)}`)
  }

  /** A job's output as NDJSON: each finished copy's last lines as the hub keeps them (and a running copy's, relayed once, not followed). */
  jobLogs(name: string, tail: number, signal?: AbortSignal): Promise<Response> {
    const params = new URLSearchParams({ tail: String(tail), follow: 'false' })
    return this.raw('GET', `/api/v1/jobs/${encodeURIComponent(name)}/logs?${params}`, {
      ...(signal ? { signal } : {}),
      headers: { accept: 'application/x-ndjson' },
    })
  }

  cronJobs(): Promise<CronJobList> {
    return this.json('GET', '/api/v1/cronjobs')
  }

  /** A cron job with, per node, its next firing, skip and miss counts and recent runs. */
  cronJob(name: string): Promise<CronJobDetail> {
    return this.json('GET', `/api/v1/cronjobs/${encodeURIComponent(name)}`)
  }

  events(limit = 50, node?: string): Promise<EventList> {
    return this.json('GET', `/api/v1/events?limit=${limit}${node ? `&node=${encodeURIComponent(node)}` : ''}`)
  }

  apply(yaml: string): Promise<ApplyResponse> {
    return this.json('POST', '/api/v1/manifests', yaml, 'application/yaml')
  }

  dryRun(yaml: string): Promise<DryRunResponse> {
    return this.json('POST', '/api/v1/manifests?dryRun=true', yaml, 'application/yaml')
  }

  /** Join tokens as listed: uses, uses left and expiry, never their secrets. */
  tokens(): Promise<TokenList> {
    return this.json('GET', '/api/v1/tokens')
  }

  /** A new join token; the answer is the only one that carries its secret. */
  createToken(request: TokenRequest): Promise<TokenCreated> {
    return this.json('POST', '/api/v1/tokens', JSON.stringify(request), 'application/json')
  }

  /** The token enrolls no more nodes; the hub answers 404 (not-found) when it is already gone. */
  revokeToken(id: string): Promise<TokenRevoked> {
    return this.json('DELETE', `/api/v1/tokens/${encodeURIComponent(id)}`)
  }

  /** The change stream; the caller reads the body and aborts through `signal`. */
  stream(signal: AbortSignal): Promise<Response> {
    return this.raw('GET', '/api/v1/stream', { signal, headers: { accept: 'text/event-stream' } })
  }

  /** A workload's logs from its node, relayed by the hub; the caller reads the body. */
  logs(query: LogQuery, signal: AbortSignal): Promise<Response> {
    const params = new URLSearchParams({ node: query.node, tail: String(query.tail), follow: String(query.follow) })
    return this.raw('GET', `/api/v1/deployments/${encodeURIComponent(query.deployment)}/logs?${params}`, { signal })
  }

  /** The hub's record of remote sessions, newest first; `node` for one node's. */
  sessions(node?: string, limit = 100): Promise<SessionList> {
    const params = new URLSearchParams({ limit: String(limit), ...(node ? { node } : {}) })
    return this.json('GET', `/api/v1/sessions?${params}`)
  }

  /** A remote session (a shell in a container): a WebSocket that carries the token as a subprotocol, since a browser cannot set its headers. */
  openSession(request: SessionRequest, listener: SessionListener): SessionSocket {
    return new SessionSocket(attachUrl(this.base, location), this.token, request, listener)
  }

  private async json<T>(method: string, path: string, body?: string, contentType?: string): Promise<T> {
    const response = await this.raw(method, path, {
      ...(body !== undefined ? { body } : {}),
      headers: { accept: 'application/json', ...(contentType ? { 'content-type': contentType } : {}) },
    })
    return (await response.json()) as T
  }

  /** Sends the request; resolves only for 2xx, and throws an ApiError with the hub's words otherwise. */
  private async raw(method: string, path: string, init: { body?: string; headers?: Record<string, string>; signal?: AbortSignal }): Promise<Response> {
    let response: Response
    try {
      response = await fetch(`${this.base}${path}`, {
        method,
        ...(init.body !== undefined ? { body: init.body } : {}),
        ...(init.signal ? { signal: init.signal } : {}),
        headers: { ...init.headers, authorization: `Bearer ${this.token}` },
        cache: 'no-store',
      })
    } catch (error) {
      if (error instanceof DOMException && error.name === 'AbortError') throw error
      throw new ApiError(0, 'unreachable', 'the hub does not answer; check that it runs and that this page is served by it')
    }
    if (response.ok) return response
    if (response.status === 401) this.onUnauthorized()
    throw await errorFrom(response)
  }
}

async function errorFrom(response: Response): Promise<ApiError> {
  try {
    const body = (await response.json()) as { error?: { code?: string; message?: string; details?: unknown[] } }
    if (body.error?.message) return new ApiError(response.status, body.error.code ?? 'error', body.error.message, body.error.details ?? [])
  } catch {
    // not JSON: fall through
  }
  return new ApiError(response.status, 'http', `the hub answered ${response.status} ${response.statusText}`)
}

/** Checks a token before keeping it: the cheapest authenticated call. */
export async function verifyToken(token: string, base = ''): Promise<void> {
  await new ApiClient(token, () => undefined, base).events(1)
}

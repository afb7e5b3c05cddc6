import { z } from 'zod'
import {
  MAX_BYTES,
  ProtocolError,
  SelectorSyntaxError,
  decodeMessage,
  formatManifestError,
  parseManifests,
  parseSelectorString,
  selectorMatches,
} from '../../protocol/index.js'
import { API_ROUTES, EventsQuery, ManifestsQuery, NodeListQuery, NodePatch, openApiDocument, type ApplyResponse, type Change, type DryRunResponse } from '../../protocol/api/index.js'
import { isoNow, type Clock } from '../../common/clock.js'
import { readPackageVersion } from '../../common/version.js'
import { NoMatchingProfileError, UnknownProfileError } from '../../firmware-profiles/matcher.js'
import type { FirmwareProfile } from '../../firmware-profiles/schema.js'
import type { BrokerAccess } from '../broker-config/broker-access.js'
import type { ChangeFeed } from '../ingest/change-feed.js'
import { enroll } from '../enrollment/enrollment.js'
import type { FleetController } from '../fleet/fleet-controller.js'
import type { Metrics } from '../metrics.js'
import type { HubStore } from '../store/hub-store.js'
import { TokenRefusedError } from '../store/token-repository.js'
import type { HubTransport } from '../transport/hub-transport.js'
import type { LogRelay } from '../logs/log-relay.js'
import { ApiError, Created, badRequest, notFound } from './http-errors.js'
import { registerLogRoutes } from './logs-route.js'
import { Router, type RequestContext } from './router.js'
import { streamChanges } from './sse.js'
import { registerDrainRoute } from './drain-route.js'
import { registerTokenRoutes } from './token-routes.js'
import { FailedEnrollmentLimiter } from '../enrollment/failed-enrollments.js'
import { registerRolloutRoutes } from './rollout-routes.js'
import { RolloutService } from '../rollout/rollout-service.js'
import { deploymentDetailView, deploymentView, nodeDetailView, nodeView, nodeViews } from './views.js'

export interface ApiServices {
  readonly store: HubStore
  readonly fleet: FleetController
  readonly feed: ChangeFeed
  readonly metrics: Metrics
  readonly clock: Clock
  readonly transport: HubTransport
  readonly profiles: readonly FirmwareProfile[]
  readonly hubPublicKey: string
  /** Rewrites an external broker's users and rights (`--broker-auth-dir`); absent otherwise. */
  readonly brokerAccess?: Pick<BrokerAccess, 'sync'>
  readonly logRelay?: LogRelay
}

async function jsonBody<S extends z.ZodType>(context: RequestContext, schema: S, what: string): Promise<z.infer<S>> {
  const body = await context.body()
  try {
    return decodeMessage(schema, body.byteLength === 0 ? '{}' : body, { maxBytes: MAX_BYTES.manifest, what })
  } catch (error) {
    if (error instanceof ProtocolError) throw badRequest(error.message, error.issues)
    throw error
  }
}

/**
 * A query checked with its schema: each of the schema's keys read once (the first value wins,
 * as URLSearchParams.get has it); a refusal is a 400 with the first problem's message.
 */
function queryOf<S extends z.ZodObject>(context: RequestContext, schema: S): z.infer<S> {
  const raw: Record<string, string> = {}
  for (const key of Object.keys(schema.shape)) {
    const value = context.url.searchParams.get(key)
    if (value !== null) raw[key] = value
  }
  const parsed = schema.safeParse(raw)
  if (!parsed.success) throw badRequest(parsed.error.issues[0]?.message ?? 'bad query')
  return parsed.data
}

/**
 * GET /api/v1/openapi.json: the contract of protocol/api as an OpenAPI 3.1 document, built on
 * first request. It takes the admin token like every other route, as Kubernetes serves
 * /openapi/v2 only to authenticated users: the map of the API is no one else's business.
 */
function registerOpenApiRoute(router: Router): void {
  let document: ReturnType<typeof openApiDocument> | null = null
  router.route(API_ROUTES.openApi, () => {
    document ??= openApiDocument(readPackageVersion())
    return document
  })
}

export function buildRoutes(services: ApiServices): Router {
  const { store, fleet, feed, metrics, clock } = services
  const router = new Router()
  const failedEnrollments = new FailedEnrollmentLimiter()
  const audit = (context: RequestContext, action: string, target: string, detail: unknown = null): void => {
    store.audit.append({ at: isoNow(clock), actor: context.actor, action, target, detail: detail === null ? null : JSON.stringify(detail) })
  }
  const requireNode = (id: string) => store.nodes.get(id) ?? (() => { throw notFound(`node ${id}`) })()

  router.route(API_ROUTES.health, () => ({ ok: true as const, transport: services.transport.kind, broker: services.transport.advertisedUrl }))
  router.route(API_ROUTES.metrics, () => metrics.render())
  registerOpenApiRoute(router)

  router.route(API_ROUTES.enroll, async (context) => {
    const address = context.req.socket.remoteAddress ?? 'unknown'
    const waitMs = failedEnrollments.retryAfterMs(address, clock.now())
    if (waitMs !== null) {
      const seconds = Math.ceil(waitMs / 1000)
      context.res.setHeader('Retry-After', String(seconds))
      throw new ApiError(429, 'too-many-failed-enrollments', `too many failed enrollments from ${address}; try again in ${seconds} s`)
    }
    let request
    try {
      request = await jsonBody(context, API_ROUTES.enroll.body.schema, 'enrollment request')
    } catch (error) {
      failedEnrollments.recordFailure(address, clock.now())
      throw error
    }
    try {
      const response = await enroll(request, { store, profiles: services.profiles, hubPublicKey: services.hubPublicKey, transport: services.transport, now: () => clock.now() })
      // The answer waits until the broker knows the new user, so the node's first login works.
      await services.brokerAccess?.sync(`enrolled ${response.nodeId}`)
      feed.publish({ type: 'node', nodeId: response.nodeId, reason: 'enrolled' })
      fleet.requestSoon('enrolled')
      return new Created(response satisfies z.infer<typeof API_ROUTES.enroll.reply.schema>)
    } catch (error) {
      if (error instanceof TokenRefusedError) {
        failedEnrollments.recordFailure(address, clock.now())
        throw new ApiError(403, 'token-refused', error.message)
      }
      if (error instanceof UnknownProfileError || error instanceof NoMatchingProfileError) throw badRequest(error.message)
      throw error
    }
  })

  registerTokenRoutes(router, { store, clock }, jsonBody, audit)

  router.route(API_ROUTES.applyManifests, async (context) => {
    const body = await context.body()
    if (body.byteLength > MAX_BYTES.manifest) throw new ApiError(413, 'too-large', `manifests exceed ${MAX_BYTES.manifest} bytes`)
    const parsed = parseManifests(body.toString('utf8'), 'request')
    if (parsed.errors.length > 0) {
      throw badRequest(
        `${parsed.errors.length} problem(s) in the manifests: ${parsed.errors.map(formatManifestError).join('; ')}`,
        parsed.errors.map((e) => ({ documentIndex: e.documentIndex, path: e.path, message: e.message, ...(e.line !== undefined ? { line: e.line, column: e.column } : {}) })),
      )
    }
    if (parsed.manifests.length === 0) throw badRequest('no manifests in the request body')
    const manifests = parsed.manifests.map((m) => m.manifest)
    if (queryOf(context, ManifestsQuery).dryRun === 'true') {
      const preview = fleet.preview(manifests)
      const answer: DryRunResponse = {
        dryRun: true,
        results: manifests.map((m) => {
          const outcome = preview.perDeployment.get(m.metadata.name)
          return {
            kind: m.kind,
            name: m.metadata.name,
            placements: preview.placements.filter((p) => p.deployment === m.metadata.name),
            desired: outcome?.desired ?? 0,
            pending: outcome?.pending ?? 0,
            why: outcome?.explanation ?? null,
          }
        }),
      }
      return answer
    }
    const at = isoNow(clock)
    const applied = store.transaction(() =>
      manifests.map((manifest) => {
        const result = store.deployments.apply(manifest, at)
        if (result.outcome !== 'unchanged') store.audit.append({ at, actor: context.actor, action: `deployment.${result.outcome}`, target: manifest.metadata.name, detail: JSON.stringify({ revision: result.revision }) })
        return { kind: manifest.kind, name: manifest.metadata.name, ...result }
      }),
    )
    await fleet.request('apply')
    for (const result of applied) feed.publish({ type: 'deployment', name: result.name, reason: result.outcome })
    const answer: ApplyResponse = {
      results: applied.map((result) => {
        const outcome = fleet.outcome(result.name)
        return { ...result, desired: outcome?.desired ?? 0, placed: outcome?.placed ?? 0, pending: outcome?.pending ?? 0, why: outcome?.explanation ?? null }
      }),
    }
    return answer
  })

  router.route(API_ROUTES.listNodes, (context) => {
    const selectorText = queryOf(context, NodeListQuery).selector
    let selector = undefined
    try {
      selector = selectorText ? parseSelectorString(selectorText) : undefined
    } catch (error) {
      if (error instanceof SelectorSyntaxError || error instanceof z.ZodError) throw badRequest(`bad selector: ${(error as Error).message}`)
      throw error
    }
    const now = clock.now()
    return { items: nodeViews(store, store.nodes.list().filter((node) => selectorMatches(selector, node.labels)), now) }
  })
  router.route(API_ROUTES.getNode, (context) => nodeDetailView(store, requireNode(context.params.id ?? ''), clock.now()))
  router.route(API_ROUTES.patchNode, async (context) => {
    const node = requireNode(context.params.id ?? '')
    const patch = await jsonBody(context, NodePatch, 'node patch')
    store.transaction(() => {
      if (patch.labels) {
        const labels: Record<string, string> = { ...node.labels }
        for (const [key, value] of Object.entries(patch.labels)) {
          if (value === null) delete labels[key]
          else labels[key] = value
        }
        store.nodes.setLabels(node.id, labels)
      }
      if (patch.cordoned !== undefined) store.nodes.setCordoned(node.id, patch.cordoned)
      store.audit.append({ at: isoNow(clock), actor: context.actor, action: 'node.patch', target: node.id, detail: JSON.stringify(patch) })
    })
    await fleet.request('node-patched')
    feed.publish({ type: 'node', nodeId: node.id, reason: 'patched' })
    return nodeView(store, requireNode(node.id), clock.now())
  })
  router.route(API_ROUTES.revokeNode, async (context) => {
    const node = requireNode(context.params.id ?? '')
    store.transaction(() => {
      store.credentials.revoke(node.id)
      store.status.forgetNode(node.id)
      store.nodes.delete(node.id)
      store.audit.append({ at: isoNow(clock), actor: context.actor, action: 'node.revoke', target: node.id, detail: null })
    })
    // An external broker drops the node's connection when it reloads the rewritten users.
    const broker = await services.brokerAccess?.sync(`revoked ${node.id}`)
    services.transport.disconnectNode(node.id)
    await fleet.request('node-revoked')
    feed.publish({ type: 'node', nodeId: node.id, reason: 'revoked' })
    return { revoked: node.id, ...(broker ? { broker: { confirmed: broker.confirmed, ...(broker.error ? { error: broker.error } : {}) } } : {}) }
  })

  router.route(API_ROUTES.listDeployments, () => ({ items: store.deployments.list().map((d) => deploymentView(store, d, fleet.outcome(d.name))) }))
  router.route(API_ROUTES.getDeployment, (context) => {
    const deployment = store.deployments.get(context.params.name ?? '')
    if (!deployment) throw notFound(`deployment ${context.params.name}`)
    return deploymentDetailView(store, deployment, fleet.outcome(deployment.name))
  })
  router.route(API_ROUTES.deleteDeployment, async (context) => {
    const name = context.params.name ?? ''
    const deleted = store.transaction(() => {
      const removed = store.deployments.delete(name)
      if (removed) store.audit.append({ at: isoNow(clock), actor: context.actor, action: 'deployment.delete', target: name, detail: null })
      return removed
    })
    if (!deleted) throw notFound(`deployment ${name}`)
    await fleet.request('deployment-deleted')
    feed.publish({ type: 'deployment', name, reason: 'deleted' })
    return { deleted: name }
  })

  router.route(API_ROUTES.events, (context) => {
    // With since: the oldest events after it, so a client can page forward without gaps;
    // without: the latest ones.
    const { since, limit, node } = queryOf(context, EventsQuery)
    return { items: store.status.events({ ...(since !== undefined ? { sinceId: since } : {}), limit, ...(node ? { nodeId: node } : {}) }) }
  })
  router.route(API_ROUTES.stream, (context) => {
    // `satisfies`: every change the feed sends is a message the contract declares.
    streamChanges(context.req, context.res, feed satisfies { subscribe: (listener: (change: Change) => void) => unknown })
  })
  router.route(API_ROUTES.audit, () => ({ items: store.audit.list() }))
  registerLogRoutes(router, services)
  registerDrainRoute(router, services)
  registerRolloutRoutes(router, new RolloutService({ store, fleet, feed, clock }), jsonBody)
  return router
}

import { API_ROUTES, EventsQuery, SessionsQuery, openApiDocument, type Change } from '../../protocol/api/index.js'
import type { Clock } from '../../common/clock.js'
import { readPackageVersion } from '../../common/version.js'
import type { FirmwareProfile } from '../../firmware-profiles/schema.js'
import type { AlertMonitor } from '../alerts/alert-monitor.js'
import type { BrokerAccess } from '../broker-config/broker-access.js'
import { ConfigObjectService } from '../config-objects/config-object-service.js'
import type { ObjectBodies } from '../config-objects/object-bodies.js'
import { CronJobService } from '../cron-jobs/cron-job-service.js'
import { DeploymentService } from '../deployments/deployment-service.js'
import type { EnrollmentAdmission } from '../enrollment/enrollment-admission.js'
import { EnrollmentService } from '../enrollment/enrollment-service.js'
import { JoinTokenService } from '../enrollment/join-token-service.js'
import { JobService } from '../jobs/job-service.js'
import { NodeRevocationService } from '../enrollment/node-revocation.js'
import type { FleetController } from '../fleet/fleet-controller.js'
import { BulkNodeService } from '../fleet/bulk-node-service.js'
import { NodePatchService } from '../fleet/node-patch.js'
import type { ChangeFeed } from '../ingest/change-feed.js'
import type { LogRelay } from '../logs/log-relay.js'
import type { Metrics } from '../metrics.js'
import { RolloutService } from '../rollout/rollout-service.js'
import type { HubStore } from '../store/hub-store.js'
import type { HubTransport } from '../transport/hub-transport.js'
import { registerAlertRoutes } from './alert-routes.js'
import { registerConfigObjectRoutes } from './config-object-routes.js'
import { registerCronJobRoutes } from './cron-job-routes.js'
import { registerDeploymentRoutes } from './deployment-routes.js'
import { registerDrainRoute } from './drain-route.js'
import { registerEnrollmentRoute } from './enrollment-route.js'
import { registerJobRoutes } from './job-routes.js'
import { registerLogRoutes } from './logs-route.js'
import { registerNodeRoutes } from './node-routes.js'
import { queryOf } from './request.js'
import { registerRolloutRoutes } from './rollout-routes.js'
import { Router } from './router.js'
import { streamChanges } from './sse.js'
import { registerTokenRoutes } from './token-routes.js'

/** The parts the API's services are built from. */
export interface ApiServices {
  readonly store: HubStore
  readonly fleet: FleetController
  readonly feed: ChangeFeed
  readonly metrics: Metrics
  readonly clock: Clock
  readonly transport: HubTransport
  readonly profiles: readonly FirmwareProfile[]
  readonly hubPublicKey: string
  /** Config and Secret versions in and out of the store (a Secret's encrypted at rest). */
  readonly objectBodies: ObjectBodies
  /** Rewrites an external broker's users and rights (`--broker-auth-dir`); absent otherwise. */
  readonly brokerAccess?: Pick<BrokerAccess, 'sync'>
  readonly logRelay?: LogRelay
  /** Alerts: evaluated on the hub's timer, listed and acknowledged here. */
  readonly alerts: Pick<AlertMonitor, 'list' | 'acknowledge'>
  /** Enrollments admitted per second (`--enroll-rate`); the default rate when absent. */
  readonly enrollmentAdmission?: EnrollmentAdmission
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

/**
 * Every route of API_ROUTES over the hub's services: each use case is a service in its domain
 * folder, built here from the parts; the routes read the request, call it and shape the answer.
 * Building touches no part, so a router can be built from nothing to list its routes.
 */
export function buildRoutes(parts: ApiServices): Router {
  const { store, feed, metrics } = parts
  const router = new Router()
  router.route(API_ROUTES.health, () => ({ ok: true as const, transport: parts.transport.kind, broker: parts.transport.advertisedUrl }))
  router.route(API_ROUTES.metrics, () => metrics.render())
  registerOpenApiRoute(router)
  registerEnrollmentRoute(router, new EnrollmentService({ ...parts, ...(parts.enrollmentAdmission ? { admission: parts.enrollmentAdmission } : {}) }))
  registerTokenRoutes(router, new JoinTokenService(parts))
  const objects = new ConfigObjectService(store, parts.objectBodies)
  registerDeploymentRoutes(router, { ...parts, deployments: new DeploymentService({ ...parts, objects }) })
  registerConfigObjectRoutes(router, { objects, clock: parts.clock })
  registerCronJobRoutes(router, new CronJobService(parts))
  registerNodeRoutes(router, {
    ...parts,
    patches: new NodePatchService(parts),
    revocations: new NodeRevocationService(parts),
    bulk: new BulkNodeService(parts),
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
  router.route(API_ROUTES.listSessions, (context) => {
    const { node, limit } = queryOf(context, SessionsQuery)
    return { items: store.sessions.list({ limit, ...(node ? { nodeId: node } : {}) }) }
  })
  const jobs = new JobService(parts)
  registerJobRoutes(router, jobs)
  registerLogRoutes(router, { ...parts, jobs })
  registerDrainRoute(router, parts)
  registerRolloutRoutes(router, new RolloutService(parts))
  registerAlertRoutes(router, parts.alerts)
  return router
}

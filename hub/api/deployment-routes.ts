import { MAX_BYTES, selectorMatches } from '../../protocol/index.js'
import { API_ROUTES, ManifestsQuery } from '../../protocol/api/index.js'
import type { DeploymentService } from '../deployments/deployment-service.js'
import { readManifests } from '../deployments/read-manifests.js'
import type { FleetController } from '../fleet/fleet-controller.js'
import type { HubStore } from '../store/hub-store.js'
import { ApiError, notFound } from './http-errors.js'
import { queryOf } from './request.js'
import type { Router } from './router.js'
import { selectorOf } from './selector-query.js'
import { answer } from './service-errors.js'
import { deploymentDetailView, deploymentView } from './views.js'

export interface DeploymentRouteServices {
  readonly store: HubStore
  readonly fleet: Pick<FleetController, 'outcome'>
  readonly deployments: DeploymentService
}

/** POST /api/v1/manifests (apply, or preview with dryRun=true) and /api/v1/deployments: list, read, delete. */
export function registerDeploymentRoutes(router: Router, services: DeploymentRouteServices): void {
  const { store, fleet, deployments } = services
  router.route(API_ROUTES.applyManifests, async (context) => {
    const body = await context.body()
    if (body.byteLength > MAX_BYTES.manifest) throw new ApiError(413, 'too-large', `manifests exceed ${MAX_BYTES.manifest} bytes`)
    return answer(async () => {
      const manifests = readManifests(body.toString('utf8'), 'request')
      const query = queryOf(context, ManifestsQuery)
      if (query.dryRun === 'true') return deployments.preview(manifests.map((m) => m.manifest))
      return await deployments.apply(manifests, context.actor, { pullNow: query.pullNow === 'true' })
    })
  })
  router.route(API_ROUTES.listDeployments, (context) => {
    const selector = selectorOf(context)
    return {
      items: store.deployments
        .list()
        .filter((d) => selectorMatches(selector, d.manifest.metadata.labels ?? {}))
        .map((d) => deploymentView(store, d, fleet.outcome(d.name))),
    }
  })
  router.route(API_ROUTES.getDeployment, (context) => {
    const deployment = store.deployments.get(context.params.name ?? '')
    if (!deployment) throw notFound(`deployment ${context.params.name}`)
    return deploymentDetailView(store, deployment, fleet.outcome(deployment.name))
  })
  router.route(API_ROUTES.deleteDeployment, (context) => answer(() => deployments.delete(context.params.name ?? '', context.actor)))
}

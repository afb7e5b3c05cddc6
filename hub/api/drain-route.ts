import { API_ROUTES } from '../../protocol/api/index.js'
import { DrainService, type DrainServiceOptions } from '../fleet/drain.js'
import type { Router } from './router.js'
import { answer } from './service-errors.js'

/** POST /api/v1/nodes/:id/drain: see DrainService (hub/fleet/drain.ts). */
export function registerDrainRoute(router: Router, services: DrainServiceOptions): void {
  const drains = new DrainService(services)
  router.route(API_ROUTES.drainNode, (context) => answer(() => drains.drain(context.params.id ?? '', context.actor)))
}

import { API_ROUTES } from '../../protocol/api/index.js'
import { DrainService, NodeNotFoundError } from '../fleet/drain.js'
import { notFound } from './http-errors.js'
import type { ApiServices } from './routes.js'
import type { Router } from './router.js'

/** POST /api/v1/nodes/:id/drain: see DrainService (hub/fleet/drain.ts). */
export function registerDrainRoute(router: Router, services: Pick<ApiServices, 'store' | 'fleet' | 'feed' | 'clock'>): void {
  const drains = new DrainService(services)
  router.route(API_ROUTES.drainNode, async (context) => {
    try {
      return await drains.drain(context.params.id ?? '', context.actor)
    } catch (error) {
      if (error instanceof NodeNotFoundError) throw notFound(`node ${error.nodeId}`)
      throw error
    }
  })
}

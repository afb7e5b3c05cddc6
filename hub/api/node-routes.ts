import { selectorMatches } from '../../protocol/index.js'
import { API_ROUTES, NodePatch } from '../../protocol/api/index.js'
import { selectorOf } from './selector-query.js'
import type { Clock } from '../../common/clock.js'
import type { NodeRevocationService } from '../enrollment/node-revocation.js'
import type { BulkNodeService } from '../fleet/bulk-node-service.js'
import type { NodePatchService } from '../fleet/node-patch.js'
import type { FirmwareProfile } from '../../firmware-profiles/schema.js'
import type { HubStore } from '../store/hub-store.js'
import { notFound } from './http-errors.js'
import { jsonBody } from './request.js'
import type { Router } from './router.js'
import { answer } from './service-errors.js'
import { nodeDetailView, nodeView, nodeViews } from './views.js'

export interface NodeRouteServices {
  readonly store: HubStore
  /** The firmware profiles, to tell the labels a profile gave a node from those an operator chose. */
  readonly profiles: readonly FirmwareProfile[]
  readonly clock: Clock
  readonly patches: NodePatchService
  readonly revocations: NodeRevocationService
  readonly bulk: BulkNodeService
}

/** /api/v1/nodes: list (by selector), read, patch labels and cordon, act on many at once, revoke. Drain is in drain-route.ts. */
export function registerNodeRoutes(router: Router, services: NodeRouteServices): void {
  const { store, clock, patches, revocations, profiles, bulk } = services
  router.route(API_ROUTES.listNodes, (context) => {
    const selector = selectorOf(context)
    return {
      items: nodeViews(
        store,
        store.nodes.list().filter((node) => selectorMatches(selector, node.labels)),
        clock.now(),
        profiles,
      ),
    }
  })
  router.route(API_ROUTES.getNode, (context) => {
    const node = store.nodes.get(context.params.id ?? '')
    if (!node) throw notFound(`node ${context.params.id ?? ''}`)
    return nodeDetailView(store, node, clock.now(), profiles)
  })
  router.route(API_ROUTES.patchNode, (context) =>
    answer(async () => {
      const id = context.params.id ?? ''
      patches.require(id)
      const patch = await jsonBody(context, NodePatch, 'node patch')
      return nodeView(store, await patches.patch(id, patch, context.actor), clock.now(), profiles)
    }),
  )
  router.route(API_ROUTES.bulkNodes, (context) =>
    answer(async () => bulk.run(await jsonBody(context, API_ROUTES.bulkNodes.body.schema, 'bulk node action'), context.actor)),
  )
  router.route(API_ROUTES.revokeNode, (context) => answer(() => revocations.revoke(context.params.id ?? '', context.actor)))
}

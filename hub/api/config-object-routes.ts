import { API_ROUTES } from '../../protocol/api/index.js'
import { isoNow, type Clock } from '../../common/clock.js'
import type { ConfigObjectService } from '../config-objects/config-object-service.js'
import type { Router } from './router.js'
import { answer } from './service-errors.js'

/** /api/v1/configs and /api/v1/secrets: list, read (never a Secret's values) and delete. Applying goes through /api/v1/manifests. */
export function registerConfigObjectRoutes(router: Router, services: { readonly objects: ConfigObjectService; readonly clock: Clock }): void {
  const { objects, clock } = services
  for (const [kind, routes] of [
    ['Config', { list: API_ROUTES.listConfigs, get: API_ROUTES.getConfig, remove: API_ROUTES.deleteConfig }],
    ['Secret', { list: API_ROUTES.listSecrets, get: API_ROUTES.getSecret, remove: API_ROUTES.deleteSecret }],
  ] as const) {
    router.route(routes.list, () => ({ items: objects.list(kind) }))
    router.route(routes.get, (context) => answer(() => objects.detail(kind, context.params.name ?? '')))
    router.route(routes.remove, (context) => answer(() => objects.delete(kind, context.params.name ?? '', isoNow(clock), context.actor)))
  }
}

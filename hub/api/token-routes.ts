import { API_ROUTES } from '../../protocol/api/index.js'
import type { JoinTokenService } from '../enrollment/join-token-service.js'
import { Created } from './http-errors.js'
import { jsonBody } from './request.js'
import type { Router } from './router.js'
import { answer } from './service-errors.js'

/** /api/v1/tokens: create, list (with uses left and expiry) and revoke join tokens (JoinTokenService). */
export function registerTokenRoutes(router: Router, tokens: JoinTokenService): void {
  router.route(API_ROUTES.createToken, async (context) => {
    const request = await jsonBody(context, API_ROUTES.createToken.body.schema, 'token request')
    return answer(() => new Created(tokens.create(request, context.actor)))
  })
  router.route(API_ROUTES.listTokens, () => tokens.list())
  router.route(API_ROUTES.revokeToken, (context) => answer(() => tokens.revoke(context.params.id ?? '', context.actor)))
}

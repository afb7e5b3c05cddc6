import type { z } from 'zod'
import { durationMs } from '../../protocol/index.js'
import { API_ROUTES, type TokenCreated } from '../../protocol/api/index.js'
import type { Clock } from '../../common/clock.js'
import type { HubStore } from '../store/hub-store.js'
import { Created, notFound } from './http-errors.js'
import type { RequestContext, Router } from './router.js'

/** A join token without a ttl expires after this (as kubeadm's do); `ttl: "0"` asks for never. */
const DEFAULT_TOKEN_TTL = '24h'

type JsonBody = <S extends z.ZodType>(context: RequestContext, schema: S, what: string) => Promise<z.infer<S>>
type Audit = (context: RequestContext, action: string, target: string, detail?: unknown) => void

/** /api/v1/tokens: create, list (with uses left and expiry) and revoke join tokens. */
export function registerTokenRoutes(router: Router, services: { readonly store: HubStore; readonly clock: Clock }, jsonBody: JsonBody, audit: Audit): void {
  const { store, clock } = services
  router.route(API_ROUTES.createToken, async (context) => {
    const request = await jsonBody(context, API_ROUTES.createToken.body.schema, 'token request')
    const now = clock.now()
    const created = store.tokens.create({
      labels: request.labels ?? {},
      maxUses: request.maxUses ?? null,
      expiresAt: tokenExpiry(request.ttl ?? DEFAULT_TOKEN_TTL, now),
      now: new Date(now).toISOString(),
    })
    audit(context, 'token.create', created.record.id, { maxUses: created.record.maxUses, expiresAt: created.record.expiresAt, labels: created.record.labels })
    return new Created({ token: created.token, ...created.record } satisfies TokenCreated)
  })
  router.route(API_ROUTES.listTokens, () => {
    const now = clock.now()
    return {
      items: store.tokens.list().map((token) => ({
        ...token,
        usesLeft: token.maxUses === null ? null : Math.max(0, token.maxUses - token.uses),
        expired: token.expiresAt !== null && Date.parse(token.expiresAt) <= now,
      })),
    }
  })
  router.route(API_ROUTES.revokeToken, (context) => {
    const id = context.params.id ?? ''
    const revoked = store.transaction(() => {
      const removed = store.tokens.revoke(id)
      if (removed) audit(context, 'token.revoke', id)
      return removed
    })
    if (!revoked) throw notFound(`join token ${id}`)
    return { revoked: id }
  })
}

/** When a token asked to live `ttl` expires; null for "0" (never). */
function tokenExpiry(ttl: string, now: number): string | null {
  if (ttl === '0') return null
  const ms = durationMs(ttl)
  return ms === 0 ? null : new Date(now + ms).toISOString()
}

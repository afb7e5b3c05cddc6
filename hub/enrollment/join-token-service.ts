import { durationMs } from '../../protocol/index.js'
import type { TokenCreated, TokenList, TokenRequest, TokenRevoked } from '../../protocol/api/index.js'
import { isoNow, type Clock } from '../../common/clock.js'
import type { HubStore } from '../store/hub-store.js'
import { JoinTokenNotFoundError } from '../store/not-found.js'
import { requireBandwidthLabels } from '../fleet/node-bandwidth.js'

/** A join token without a ttl expires after this (as kubeadm's do); `ttl: "0"` asks for never. */
export const DEFAULT_TOKEN_TTL = '24h'

/** When a token asked to live `ttl` expires; null for "0" (never). Pure. */
export function tokenExpiry(ttl: string, now: number): string | null {
  if (ttl === '0') return null
  const ms = durationMs(ttl)
  return ms === 0 ? null : new Date(now + ms).toISOString()
}

export interface JoinTokenServiceOptions {
  readonly store: HubStore
  readonly clock: Clock
}

/** Join tokens for the API: create (the only answer with the secret), list with uses left and expiry, revoke; each change audited. */
export class JoinTokenService {
  constructor(private readonly options: JoinTokenServiceOptions) {}

  create(request: TokenRequest, actor: string): TokenCreated {
    const { store, clock } = this.options
    const now = clock.now()
    // A token's labels land on every node it enrolls: one that cannot mean anything is refused here, not at each enrollment.
    requireBandwidthLabels('join token', request.labels ?? {}, request.labels ?? {})
    const created = store.tokens.create({
      labels: request.labels ?? {},
      maxUses: request.maxUses ?? null,
      expiresAt: tokenExpiry(request.ttl ?? DEFAULT_TOKEN_TTL, now),
      now: new Date(now).toISOString(),
    })
    const { record } = created
    store.audit.append({
      at: isoNow(clock),
      actor,
      action: 'token.create',
      target: record.id,
      detail: JSON.stringify({ maxUses: record.maxUses, expiresAt: record.expiresAt, labels: record.labels }),
    })
    return { token: created.token, ...record }
  }

  list(): TokenList {
    const now = this.options.clock.now()
    return {
      items: this.options.store.tokens.list().map((token) => ({
        ...token,
        usesLeft: token.maxUses === null ? null : Math.max(0, token.maxUses - token.uses),
        expired: token.expiresAt !== null && Date.parse(token.expiresAt) <= now,
      })),
    }
  }

  /** The token enrolls nothing more; nodes it enrolled keep their credentials. */
  revoke(id: string, actor: string): TokenRevoked {
    const { store, clock } = this.options
    const revoked = store.transaction(() => {
      const removed = store.tokens.revoke(id)
      if (removed) store.audit.append({ at: isoNow(clock), actor, action: 'token.revoke', target: id, detail: null })
      return removed
    })
    if (!revoked) throw new JoinTokenNotFoundError(id)
    return { revoked: id }
  }
}

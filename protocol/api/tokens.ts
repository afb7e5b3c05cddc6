import { z } from 'zod'
import { Duration, IsoTime, Labels } from '../primitives.js'
import { listOf } from './envelopes.js'

/** POST /api/v1/tokens. Without a ttl a token expires after 24h (as kubeadm's do); "0" asks for never. */
export const TokenRequest = z.strictObject({
  ttl: z.union([Duration, z.literal('0')]).optional(),
  maxUses: z.number().int().min(1).optional(),
  /** Labels every node enrolled with this token gets. */
  labels: Labels.optional(),
})
export type TokenRequest = z.infer<typeof TokenRequest>

/** A join token as listed: never the secret. */
const JoinToken = z.strictObject({
  id: z.string(),
  labels: Labels,
  maxUses: z.number().int().min(1).nullable(),
  uses: z.number().int().nonnegative(),
  expiresAt: IsoTime.nullable(),
  createdAt: IsoTime,
})

/** The one answer that carries the secret: it is stored only as a digest. */
export const TokenCreated = JoinToken.extend({ token: z.string() })
export type TokenCreated = z.infer<typeof TokenCreated>

export const TokenView = JoinToken.extend({
  usesLeft: z.number().int().nonnegative().nullable(),
  /** Past its expiry: it no longer enrolls. */
  expired: z.boolean(),
})
export type TokenView = z.infer<typeof TokenView>

export const TokenList = listOf(TokenView)
export type TokenList = z.infer<typeof TokenList>

export const TokenRevoked = z.strictObject({ revoked: z.string() })
export type TokenRevoked = z.infer<typeof TokenRevoked>

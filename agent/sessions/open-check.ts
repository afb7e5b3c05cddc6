import { ProtocolError } from '../../protocol/errors.js'
import { SessionOpen, type SessionErrorCode } from '../../protocol/session.js'
import { verifyDocumentSignature } from '../../protocol/signing.js'
import type { NonceBook } from './nonce-book.js'
import type { SessionSettings } from './session-settings.js'

export type OpenCheck = { readonly ok: true; readonly open: SessionOpen } | { readonly ok: false; readonly code: SessionErrorCode; readonly message: string }

export interface OpenCheckContext {
  readonly nodeId: string
  /** The hub key pinned at enrollment; null before enrollment (nothing can be opened then). */
  readonly hubPublicKey: string | null
  readonly nonces: Pick<NonceBook, 'redeem'>
  readonly settings: Pick<SessionSettings, 'enabled' | 'maxSessions'>
  /** Sessions open now (this one not counted). */
  readonly active: number
}

const NONCE_REASONS = {
  unknown: 'its nonce is not one this node issued, or it was already used (a replayed open?)',
  expired: 'its nonce expired before the open arrived',
  'other-session': 'its nonce was issued to another session',
} as const

/**
 * Whether an `open` may run, in the order that leaks nothing to a forger: the signature over
 * the body as received first (before any parsing), then its shape, this node, its nonce (spent
 * here), and only then what the profile allows. The nonce is spent only by a signed open.
 */
export function checkOpen(frameSessionId: string, body: unknown, context: OpenCheckContext): OpenCheck {
  if (context.hubPublicKey === null) return { ok: false, code: 'refused', message: 'this node has no pinned hub key (not enrolled), so it accepts no session' }
  try {
    verifyDocumentSignature(body, context.hubPublicKey)
  } catch (error) {
    const detail = error instanceof ProtocolError ? error.message : String(error)
    return { ok: false, code: 'refused', message: `session open refused: ${detail}` }
  }
  const parsed = SessionOpen.safeParse(body)
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`).join('; ')
    return { ok: false, code: 'invalid', message: `session open is not valid: ${issues}`.slice(0, 2000) }
  }
  const open = parsed.data
  if (open.sessionId !== frameSessionId)
    return { ok: false, code: 'refused', message: `session open names session ${open.sessionId} but came on session ${frameSessionId}` }
  if (open.nodeId !== context.nodeId) return { ok: false, code: 'refused', message: `session open is for node ${open.nodeId}, this is node ${context.nodeId}` }
  const nonce = context.nonces.redeem(open.sessionId, open.nonce)
  if (!nonce.ok) return { ok: false, code: 'refused', message: `session open refused: ${NONCE_REASONS[nonce.reason]}` }
  if (!context.settings.enabled)
    return {
      ok: false,
      code: 'disabled',
      message: `remote sessions are turned off on node ${context.nodeId} by its firmware profile (agent.remoteSessions.enabled)`,
    }
  if (context.active >= context.settings.maxSessions)
    return {
      ok: false,
      code: 'busy',
      message: `node ${context.nodeId} already has ${context.active} sessions open, its limit (agent.remoteSessions.maxSessions); try again when one ends`,
    }
  return { ok: true, open }
}

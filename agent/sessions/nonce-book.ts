import { randomBytes } from 'node:crypto'
import { SESSION_NONCE_BYTES } from '../../protocol/session.js'

/** Why a nonce was not good for an open. */
export type NonceRefusal = 'unknown' | 'expired' | 'other-session'

export interface NonceBookOptions {
  readonly ttlMs: number
  /** Nonces kept at most; issuing one more forgets the oldest, so a flood of hellos costs bounded memory. */
  readonly maxEntries: number
  /** Monotonic milliseconds (performance.now): a wall-clock step must not expire or revive a nonce. */
  readonly now: () => number
  readonly random?: (bytes: number) => Buffer
}

/**
 * The nonces this node handed out in answer to `hello`, each good for one `open` of the session
 * it was issued to, within ttlMs. A recorded open cannot be replayed: its nonce is spent or gone.
 */
export class NonceBook {
  /** nonce → when and for which session; Map order is issue order, so the first entry is the oldest. */
  private readonly entries = new Map<string, { readonly sessionId: string; readonly issuedAt: number }>()

  constructor(private readonly options: NonceBookOptions) {}

  get size(): number {
    return this.entries.size
  }

  issue(sessionId: string): string {
    this.prune()
    while (this.entries.size >= this.options.maxEntries) {
      const oldest = this.entries.keys().next().value
      if (oldest === undefined) break
      this.entries.delete(oldest)
    }
    const nonce = (this.options.random ?? randomBytes)(SESSION_NONCE_BYTES).toString('hex')
    this.entries.set(nonce, { sessionId, issuedAt: this.options.now() })
    return nonce
  }

  /** Spends the nonce (whatever the answer: a nonce is tried once). */
  redeem(sessionId: string, nonce: string): { readonly ok: true } | { readonly ok: false; readonly reason: NonceRefusal } {
    const entry = this.entries.get(nonce)
    if (!entry) return { ok: false, reason: 'unknown' }
    this.entries.delete(nonce)
    if (this.options.now() - entry.issuedAt > this.options.ttlMs) return { ok: false, reason: 'expired' }
    if (entry.sessionId !== sessionId) return { ok: false, reason: 'other-session' }
    return { ok: true }
  }

  clear(): void {
    this.entries.clear()
  }

  private prune(): void {
    const now = this.options.now()
    for (const [nonce, entry] of this.entries) {
      if (now - entry.issuedAt <= this.options.ttlMs) break
      this.entries.delete(nonce)
    }
  }
}

import { randomBytes } from 'node:crypto'
import type { Database } from 'better-sqlite3'
import { Statements } from './statements.js'
import { randomSecret, tokenDigest } from './credential-repository.js'

export interface JoinToken {
  readonly id: string
  readonly labels: Readonly<Record<string, string>>
  readonly maxUses: number | null
  readonly uses: number
  readonly expiresAt: string | null
  readonly createdAt: string
}

export class TokenRefusedError extends Error {
  readonly code = 'token-refused'
  constructor(reason: string) {
    super(reason)
    this.name = 'TokenRefusedError'
  }
}

/** Join tokens: stored only as digests; each use is counted; expiry and use limits enforced. */
export class TokenRepository {
  private readonly sql: Statements

  constructor(db: Database) {
    this.sql = new Statements(db)
  }

  create(options: { labels: Readonly<Record<string, string>>; maxUses: number | null; expiresAt: string | null; now: string }): {
    token: string
    record: JoinToken
  } {
    // Hex: an id is typed on command lines (`shoal token revoke ID`), where base64url's leading
    // "-" (1 id in 64) reads as an option.
    const id = randomBytes(6).toString('hex')
    const token = `shoal_${id}_${randomSecret(24)}`
    this.sql
      .get('INSERT INTO join_tokens (id, token_hash, labels, max_uses, expires_at, created_at) VALUES (?, ?, ?, ?, ?, ?)')
      .run(id, tokenDigest(token), JSON.stringify(options.labels), options.maxUses, options.expiresAt, options.now)
    return { token, record: { id, labels: options.labels, maxUses: options.maxUses, uses: 0, expiresAt: options.expiresAt, createdAt: options.now } }
  }

  /** Every token, newest first; the secrets are not kept, only their digests. */
  list(): JoinToken[] {
    const rows = this.sql.get('SELECT id, labels, max_uses, uses, expires_at, created_at FROM join_tokens ORDER BY created_at DESC, id').all() as {
      id: string
      labels: string
      max_uses: number | null
      uses: number
      expires_at: string | null
      created_at: string
    }[]
    return rows.map((row) => ({
      id: row.id,
      labels: JSON.parse(row.labels) as Record<string, string>,
      maxUses: row.max_uses,
      uses: row.uses,
      expiresAt: row.expires_at,
      createdAt: row.created_at,
    }))
  }

  /** Deletes the token: it enrolls nothing more. Nodes it already enrolled keep their own credentials. */
  revoke(id: string): boolean {
    return this.sql.get('DELETE FROM join_tokens WHERE id = ?').run(id).changes > 0
  }

  /** The token if it can be used now, or throws why not. Changes nothing. */
  check(token: string, now: number): JoinToken {
    const row = this.sql.get('SELECT * FROM join_tokens WHERE token_hash = ?').get(tokenDigest(token)) as
      | { id: string; labels: string; max_uses: number | null; uses: number; expires_at: string | null; created_at: string }
      | undefined
    if (!row) throw new TokenRefusedError('unknown join token')
    if (row.expires_at && Date.parse(row.expires_at) <= now) throw new TokenRefusedError(`join token ${row.id} expired at ${row.expires_at}`)
    if (row.max_uses !== null && row.uses >= row.max_uses)
      throw new TokenRefusedError(`join token ${row.id} has been used ${row.uses} of ${row.max_uses} times`)
    return {
      id: row.id,
      labels: JSON.parse(row.labels) as Record<string, string>,
      maxUses: row.max_uses,
      uses: row.uses,
      expiresAt: row.expires_at,
      createdAt: row.created_at,
    }
  }

  /** Counts one use of a token, or throws why it cannot be used. Run inside the enrollment transaction. */
  consume(token: string, now: number): JoinToken {
    const usable = this.check(token, now)
    this.sql.get('UPDATE join_tokens SET uses = uses + 1 WHERE id = ?').run(usable.id)
    return { ...usable, uses: usable.uses + 1 }
  }
}

import type { Database } from 'better-sqlite3'
import { createHash, randomBytes, scryptSync, timingSafeEqual } from 'node:crypto'

/** scrypt with a per-secret salt: a stolen hub database does not hand out broker passwords. */
export function hashSecret(secret: string): string {
  const salt = randomBytes(16)
  return `scrypt$${salt.toString('base64')}$${scryptSync(secret, salt, 32).toString('base64')}`
}

export function verifySecret(secret: string, stored: string): boolean {
  const [scheme, salt, hash] = stored.split('$')
  if (scheme !== 'scrypt' || !salt || !hash) return false
  const expected = Buffer.from(hash, 'base64')
  const actual = scryptSync(secret, Buffer.from(salt, 'base64'), expected.length)
  return timingSafeEqual(expected, actual)
}

/** Fast, deterministic lookup key for bearer tokens (they are long and random, so no salt is needed). */
export function tokenDigest(token: string): string {
  return createHash('sha256').update(token).digest('hex')
}

export function randomSecret(bytes = 24): string {
  return randomBytes(bytes).toString('base64url')
}

export class CredentialRepository {
  /** Successful checks, so a reconnect storm costs one scrypt per node, not one per attempt. */
  private readonly verified = new Map<string, string>()

  constructor(private readonly db: Database) {}

  set(nodeId: string, username: string, password: string): void {
    this.db
      .prepare('INSERT INTO node_credentials (node_id, username, password_hash) VALUES (?, ?, ?) ON CONFLICT (node_id) DO UPDATE SET username = excluded.username, password_hash = excluded.password_hash')
      .run(nodeId, username, hashSecret(password))
  }

  /** The node a username/password pair belongs to, or null. */
  authenticate(username: string, password: string): string | null {
    const row = this.db.prepare('SELECT node_id, password_hash FROM node_credentials WHERE username = ?').get(username) as { node_id: string; password_hash: string } | undefined
    if (!row) return null
    const cacheKey = `${username}\u0000${tokenDigest(password)}`
    if (this.verified.get(cacheKey) === row.password_hash) return row.node_id
    if (!verifySecret(password, row.password_hash)) return null
    this.verified.set(cacheKey, row.password_hash)
    return row.node_id
  }

  revoke(nodeId: string): void {
    this.db.prepare('DELETE FROM node_credentials WHERE node_id = ?').run(nodeId)
    this.verified.clear()
  }

  usernames(): { nodeId: string; username: string }[] {
    return (this.db.prepare('SELECT node_id, username FROM node_credentials ORDER BY node_id').all() as { node_id: string; username: string }[]).map((r) => ({ nodeId: r.node_id, username: r.username }))
  }
}

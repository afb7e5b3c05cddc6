import type { Database } from 'better-sqlite3'
import { Statements } from './statements.js'
import { createHash, randomBytes, scrypt, timingSafeEqual } from 'node:crypto'
import { promisify } from 'node:util'

// Only for hashes written before 2026-12 (see hashSecret); verified in libuv's thread pool.
const scryptAsync = promisify(scrypt) as (password: string, salt: Buffer, keylen: number) => Promise<Buffer>

/**
 * A salted SHA-256 of a node's broker password, so a stolen hub database does not hand out
 * broker passwords. The passwords are 192 random bits (randomSecret), which no one can guess,
 * so a slow password hash buys nothing: scrypt made each join cost ~90 ms of hub CPU (twice,
 * at enrollment and first connect) for no gain in safety. Human-chosen secrets would need one.
 */
export async function hashSecret(secret: string): Promise<string> {
  const salt = randomBytes(16)
  return `sha256$${salt.toString('base64')}$${saltedSha256(salt, secret).toString('base64')}`
}

export async function verifySecret(secret: string, stored: string): Promise<boolean> {
  const [scheme, salt, hash] = stored.split('$')
  if (!salt || !hash) return false
  const expected = Buffer.from(hash, 'base64')
  let actual: Buffer
  if (scheme === 'sha256') actual = saltedSha256(Buffer.from(salt, 'base64'), secret)
  else if (scheme === 'scrypt') actual = await scryptAsync(secret, Buffer.from(salt, 'base64'), expected.length)
  else return false
  return actual.length === expected.length && timingSafeEqual(expected, actual)
}

function saltedSha256(salt: Buffer, secret: string): Buffer {
  return createHash('sha256').update(salt).update(secret, 'utf8').digest()
}

/** Fast, deterministic lookup key for bearer tokens (they are long and random, so no salt is needed). */
export function tokenDigest(token: string): string {
  return createHash('sha256').update(token).digest('hex')
}

export function randomSecret(bytes = 24): string {
  return randomBytes(bytes).toString('base64url')
}

export class CredentialRepository {
  /** Successful checks: for scrypt hashes from earlier hubs, a reconnect storm costs one scrypt per node, not one per attempt. */
  private readonly verified = new Map<string, string>()
  private readonly sql: Statements

  constructor(db: Database) {
    this.sql = new Statements(db)
  }

  /** Hashes (off the event loop) and stores. Inside a transaction, hash first and use `setHashed`. */
  async set(nodeId: string, username: string, password: string): Promise<void> {
    this.setHashed(nodeId, username, await hashSecret(password))
  }

  /** Stores a hash made by `hashSecret`; synchronous, so it fits in a transaction. */
  setHashed(nodeId: string, username: string, passwordHash: string): void {
    this.sql
      .get(
        'INSERT INTO node_credentials (node_id, username, password_hash) VALUES (?, ?, ?) ON CONFLICT (node_id) DO UPDATE SET username = excluded.username, password_hash = excluded.password_hash',
      )
      .run(nodeId, username, passwordHash)
  }

  /** The node a username/password pair belongs to, or null. */
  async authenticate(username: string, password: string): Promise<string | null> {
    const row = this.row(username)
    if (!row) return null
    const cacheKey = `${username}\u0000${tokenDigest(password)}`
    if (this.verified.get(cacheKey) === row.password_hash) return row.node_id
    if (!(await verifySecret(password, row.password_hash))) return null
    // The credentials may have been revoked or rotated while the check awaited.
    const now = this.row(username)
    if (!now || now.password_hash !== row.password_hash || now.node_id !== row.node_id) return null
    this.verified.set(cacheKey, row.password_hash)
    return row.node_id
  }

  private row(username: string): { node_id: string; password_hash: string } | undefined {
    return this.sql.get('SELECT node_id, password_hash FROM node_credentials WHERE username = ?').get(username) as
      | { node_id: string; password_hash: string }
      | undefined
  }

  revoke(nodeId: string): void {
    this.sql.get('DELETE FROM node_credentials WHERE node_id = ?').run(nodeId)
    this.verified.clear()
  }

  usernames(): { nodeId: string; username: string }[] {
    return (this.sql.get('SELECT node_id, username FROM node_credentials ORDER BY node_id').all() as { node_id: string; username: string }[]).map((r) => ({
      nodeId: r.node_id,
      username: r.username,
    }))
  }
}

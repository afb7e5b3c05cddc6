import { createHash, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto'
import bcrypt from 'bcryptjs'

/**
 * Password hashes in the formats the external brokers read, so the hub can write their user
 * files at any time without keeping plaintext passwords.
 *
 * - Mosquitto 2.x `password_file`: `$7$<iterations>$<salt b64>$<hash b64>` is PBKDF2-HMAC-SHA512
 *   with a 12-byte salt and a 64-byte key (what `mosquitto_passwd` writes by default); `$6$` is
 *   the older salted SHA-512 (`sha512(password || salt)`), which we read but never write.
 * - nats-server: bcrypt (`$2a$`/`$2b$`), the only hashed form it accepts for passwords.
 *
 * Work factors are deliberately modest. Every Shoal broker password is 24 random bytes
 * (192 bits), so no work factor changes how hard it is to guess; what it does change is the
 * broker's CPU per CONNECT, which matters when a whole fleet reconnects at once.
 */
export const MOSQUITTO_PBKDF2_ITERATIONS = 101
export const MOSQUITTO_SALT_BYTES = 12
const MOSQUITTO_KEY_BYTES = 64
export const NATS_BCRYPT_COST = 8

export interface BrokerHashes {
  readonly mosquitto: string
  /** null for nodes enrolled while the hub's transport was not NATS (see `nodeBrokerHashes`). */
  readonly nats: string | null
}

export class PasswordHashFormatError extends Error {
  readonly code = 'password-hash-format'
  constructor(message: string) {
    super(message)
    this.name = 'PasswordHashFormatError'
  }
}

export function mosquittoHash(password: string, options: { salt?: Buffer; iterations?: number } = {}): string {
  const salt = options.salt ?? randomBytes(MOSQUITTO_SALT_BYTES)
  const iterations = options.iterations ?? MOSQUITTO_PBKDF2_ITERATIONS
  if (!Number.isInteger(iterations) || iterations < 1) throw new PasswordHashFormatError(`PBKDF2 iterations must be a positive integer, got ${iterations}`)
  const key = pbkdf2Sync(password, salt, iterations, MOSQUITTO_KEY_BYTES, 'sha512')
  return `$7$${iterations}$${salt.toString('base64')}$${key.toString('base64')}`
}

/** Checks a password against a Mosquitto `$7$` (PBKDF2-SHA512) or `$6$` (salted SHA-512) hash. */
export function verifyMosquittoHash(password: string, hash: string): boolean {
  const parts = hash.split('$')
  if (parts[0] !== '') throw new PasswordHashFormatError(`not a Mosquitto hash: ${JSON.stringify(hash.slice(0, 12))}`)
  if (parts[1] === '7' && parts.length === 5) {
    const iterations = Number(parts[2])
    if (!Number.isInteger(iterations) || iterations < 1) throw new PasswordHashFormatError(`bad PBKDF2 iteration count in ${JSON.stringify(hash.slice(0, 16))}`)
    const expected = Buffer.from(parts[4] ?? '', 'base64')
    const actual = pbkdf2Sync(password, Buffer.from(parts[3] ?? '', 'base64'), iterations, expected.length || MOSQUITTO_KEY_BYTES, 'sha512')
    return expected.length > 0 && timingSafeEqual(expected, actual)
  }
  if (parts[1] === '6' && parts.length === 4) {
    const expected = Buffer.from(parts[3] ?? '', 'base64')
    const actual = createHash('sha512')
      .update(password)
      .update(Buffer.from(parts[2] ?? '', 'base64'))
      .digest()
    return expected.length === actual.length && timingSafeEqual(expected, actual)
  }
  throw new PasswordHashFormatError(`unknown Mosquitto hash scheme $${parts[1] ?? ''}$ (expected $7$ or $6$)`)
}

/** bcrypt for nats-server. `salt` (a full `$2b$NN$` + 22-character salt) makes the output reproducible in tests. */
export function natsHash(password: string, options: { salt?: string; cost?: number } = {}): string {
  return bcrypt.hashSync(password, options.salt ?? bcrypt.genSaltSync(options.cost ?? NATS_BCRYPT_COST))
}

export function verifyNatsHash(password: string, hash: string): boolean {
  if (!/^\$2[abxy]?\$\d\d\$[./A-Za-z0-9]{53}$/.test(hash)) throw new PasswordHashFormatError(`not a bcrypt hash: ${JSON.stringify(hash.slice(0, 12))}`)
  return bcrypt.compareSync(password, hash)
}

/** Both brokers' hashes of one password: for the hub's own and the reload-check users. */
export function brokerHashes(password: string): { readonly mosquitto: string; readonly nats: string } {
  return { mosquitto: mosquittoHash(password), nats: natsHash(password) }
}

/**
 * A node's broker hashes, stored at enrollment. The Mosquitto hash is always made (PBKDF2 with
 * 101 rounds is cheap), so a hub on its embedded broker can move to an external Mosquitto at
 * the same mqtt:// address its nodes already dial. The bcrypt hash costs far more and is made
 * only when the hub's transport is NATS: a node enrolled under MQTT was handed an mqtt:// URL,
 * which it keeps dialing, so it has to enroll again to use NATS anyway (and gets a bcrypt hash
 * then). The plaintext is never kept, so there is no making one later. bcryptjs' async form
 * works in slices between other events instead of holding the event loop for the whole hash.
 */
export async function nodeBrokerHashes(password: string, options: { nats: boolean }): Promise<BrokerHashes> {
  const mosquitto = mosquittoHash(password)
  if (!options.nats) return { mosquitto, nats: null }
  return { mosquitto, nats: await bcrypt.hash(password, await bcrypt.genSalt(NATS_BCRYPT_COST)) }
}

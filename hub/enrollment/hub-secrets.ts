import { randomBytes } from 'node:crypto'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { restrictIfExists } from '../../common/fs/private-files.js'
import { generateSigningKeys, publicKeyOf } from '../../protocol/index.js'
import { randomSecret } from '../store/credential-repository.js'

export const SIGNING_KEY_FILE = 'hub-signing-key.pem'
export const PUBLIC_KEY_FILE = 'hub-public-key.txt'
export const ADMIN_TOKEN_FILE = 'admin-token'
/** The key Secret values are encrypted with in hub.db (AES-256-GCM): apart from the database, so a copy of hub.db alone tells nothing. */
export const SECRETS_KEY_FILE = 'secrets-key'

export interface HubSecrets {
  readonly privateKeyPem: string
  readonly publicKey: string
  readonly adminToken: string
  /** 32 bytes: encrypts Secret values at rest. */
  readonly secretsKey: Buffer
  /** Paths of files created by this call (first start), so the hub can say where they are. */
  readonly created: readonly string[]
}

/**
 * Loads the hub's signing key and admin token, creating them (mode 0600) on first start; 'wx' creates
 * them fresh, so the umask can only narrow 0600. Existing ones are tightened (older installs may differ).
 */
export function loadOrCreateSecrets(dataDir: string): HubSecrets {
  const created: string[] = []
  const keyPath = join(dataDir, SIGNING_KEY_FILE)
  let privateKeyPem: string
  if (existsSync(keyPath)) {
    restrictIfExists(keyPath)
    privateKeyPem = readFileSync(keyPath, 'utf8')
  } else {
    privateKeyPem = generateSigningKeys().privateKeyPem
    writeFileSync(keyPath, privateKeyPem, { mode: 0o600, flag: 'wx' })
    created.push(keyPath)
  }
  const publicKey = publicKeyOf(privateKeyPem)
  const publicPath = join(dataDir, PUBLIC_KEY_FILE)
  if (!existsSync(publicPath)) writeFileSync(publicPath, `${publicKey}\n`, { mode: 0o644 })
  const tokenPath = join(dataDir, ADMIN_TOKEN_FILE)
  let adminToken: string
  if (existsSync(tokenPath)) {
    restrictIfExists(tokenPath)
    adminToken = readFileSync(tokenPath, 'utf8').trim()
  } else {
    adminToken = `shoal_admin_${randomSecret(24)}`
    writeFileSync(tokenPath, `${adminToken}\n`, { mode: 0o600, flag: 'wx' })
    created.push(tokenPath)
  }
  const secretsKeyPath = join(dataDir, SECRETS_KEY_FILE)
  let secretsKey: Buffer
  if (existsSync(secretsKeyPath)) {
    restrictIfExists(secretsKeyPath)
    secretsKey = Buffer.from(readFileSync(secretsKeyPath, 'utf8').trim(), 'base64')
    if (secretsKey.length !== 32) throw new Error(`${secretsKeyPath} does not hold a 32-byte key (base64); restore it from your backup of the data directory`)
  } else {
    secretsKey = randomBytes(32)
    writeFileSync(secretsKeyPath, `${secretsKey.toString('base64')}\n`, { mode: 0o600, flag: 'wx' })
    created.push(secretsKeyPath)
  }
  return { privateKeyPem, publicKey, adminToken, secretsKey, created }
}

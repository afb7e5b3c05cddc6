import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { restrictIfExists } from '../../common/fs/private-files.js'
import { generateSigningKeys, publicKeyOf } from '../../protocol/index.js'
import { randomSecret } from '../store/credential-repository.js'

export const SIGNING_KEY_FILE = 'hub-signing-key.pem'
export const PUBLIC_KEY_FILE = 'hub-public-key.txt'
export const ADMIN_TOKEN_FILE = 'admin-token'

export interface HubSecrets {
  readonly privateKeyPem: string
  readonly publicKey: string
  readonly adminToken: string
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
  return { privateKeyPem, publicKey, adminToken, created }
}

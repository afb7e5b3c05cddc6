import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { restrictIfExists } from '../../common/fs/private-files.js'
import { randomSecret } from '../store/credential-repository.js'

export const HUB_BROKER_PASSWORD_FILE = 'broker-hub-password'

/**
 * The hub's own password on an external broker whose users the hub generates: created on first
 * use (mode 0600, in the data dir beside the signing key), so the operator never handles it.
 */
export function loadOrCreateHubBrokerPassword(dataDir: string): { password: string; path: string; created: boolean } {
  const path = join(dataDir, HUB_BROKER_PASSWORD_FILE)
  if (existsSync(path)) {
    restrictIfExists(path)
    const password = readFileSync(path, 'utf8').trim()
    if (password.length < 16) throw new Error(`${path} holds no usable password; delete it and the hub makes a new one`)
    return { password, path, created: false }
  }
  const password = randomSecret(24)
  writeFileSync(path, `${password}\n`, { mode: 0o600, flag: 'wx' })
  return { password, path, created: true }
}

import { randomBytes } from 'node:crypto'
import { chmodSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { BrokerAuthInput, BrokerKind } from './broker-users.js'
import { MOSQUITTO_ACL_FILE, MOSQUITTO_PASSWORD_FILE, mosquittoAclFile, mosquittoPasswordFile } from './mosquitto-files.js'
import { NATS_AUTHORIZATION_FILE, natsAuthorizationFile } from './nats-authorization.js'

export interface BrokerFile {
  readonly name: string
  readonly content: string
}

/** The files one broker kind reads, rendered (pure). */
export function renderBrokerFiles(kind: BrokerKind, input: BrokerAuthInput): BrokerFile[] {
  switch (kind) {
    case 'mosquitto':
      return [
        { name: MOSQUITTO_PASSWORD_FILE, content: mosquittoPasswordFile(input) },
        { name: MOSQUITTO_ACL_FILE, content: mosquittoAclFile(input) },
      ]
    case 'nats':
      return [{ name: NATS_AUTHORIZATION_FILE, content: natsAuthorizationFile(input) }]
    default: {
      const never: never = kind
      throw new Error(`unknown broker kind ${String(never)}`)
    }
  }
}

/**
 * Writes each file beside its final name and renames it into place, so a broker reloading at
 * any moment reads either the old file or the new one, never half of one. Mode 0640: the
 * files hold hashes, not passwords, and the broker's group must read them (docs/brokers.md).
 */
export function writeBrokerFiles(dir: string, files: readonly BrokerFile[]): string[] {
  mkdirSync(dir, { recursive: true, mode: 0o750 })
  return files.map((file) => {
    const target = join(dir, file.name)
    const temp = join(dir, `.${file.name}.${randomBytes(4).toString('hex')}.tmp`)
    try {
      writeFileSync(temp, file.content, { mode: 0o640, flag: 'wx' })
      chmodSync(temp, 0o640) // whatever the umask
      renameSync(temp, target)
    } catch (error) {
      rmSync(temp, { force: true })
      throw error
    }
    return target
  })
}

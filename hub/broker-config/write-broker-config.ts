import { preparePrivateDir } from '../../common/fs/private-files.js'
import { join } from 'node:path'
import { HUB_DATABASE_FILE, openHubDatabase } from '../store/open-hub-database.js'
import { brokerAuthInput } from './broker-access.js'
import { renderBrokerFiles, writeBrokerFiles } from './broker-files.js'
import { HUB_BROKER_USERNAME, type BrokerKind } from './broker-users.js'
import { loadOrCreateHubBrokerPassword } from './hub-broker-password.js'
import { brokerHashes } from './password-hashes.js'

/**
 * `shoal hub broker-config`: the broker's files from the hub database, without a running hub.
 * On a fresh data dir it creates the database and the hub's broker password, so the files exist
 * before the broker's first start.
 */
export function writeBrokerConfigFiles(options: { dataDir: string; kind: BrokerKind; out: string }): {
  files: string[]
  nodes: number
  missing: string[]
  created: string[]
  hubUser: string
} {
  preparePrivateDir(options.dataDir)
  const db = openHubDatabase(join(options.dataDir, HUB_DATABASE_FILE))
  try {
    const hubPassword = loadOrCreateHubBrokerPassword(options.dataDir)
    const { input, missing } = brokerAuthInput(db, options.kind, { username: HUB_BROKER_USERNAME, hashes: brokerHashes(hubPassword.password) })
    const files = writeBrokerFiles(options.out, renderBrokerFiles(options.kind, input))
    return { files, nodes: input.nodes.length, missing, created: hubPassword.created ? [hubPassword.path] : [], hubUser: HUB_BROKER_USERNAME }
  } finally {
    db.close()
  }
}

import { join } from 'node:path'
import { preparePrivateDir } from '../../common/fs/private-files.js'
import { AtRestCipher } from '../config-objects/at-rest-cipher.js'
import { ObjectBodies } from '../config-objects/object-bodies.js'
import { loadOrCreateSecrets, type HubSecrets } from '../enrollment/hub-secrets.js'
import { HubStore } from '../store/hub-store.js'
import { HUB_DATABASE_FILE, openHubDatabase } from '../store/open-hub-database.js'

/** The hub's data directory (private), its keys and admin token, and its store. Wiring only. */
export function openHubState(dataDir: string): { readonly secrets: HubSecrets; readonly store: HubStore; readonly objectBodies: ObjectBodies } {
  preparePrivateDir(dataDir)
  const secrets = loadOrCreateSecrets(dataDir)
  const store = new HubStore(openHubDatabase(join(dataDir, HUB_DATABASE_FILE)))
  return { secrets, store, objectBodies: new ObjectBodies(store.configObjects, new AtRestCipher(secrets.secretsKey)) }
}

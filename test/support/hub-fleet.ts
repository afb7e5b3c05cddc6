import path from 'node:path'
import pino from 'pino'
import { AtRestCipher } from '../../hub/config-objects/at-rest-cipher.js'
import { ObjectBodies } from '../../hub/config-objects/object-bodies.js'
import { loadOrCreateSecrets } from '../../hub/enrollment/hub-secrets.js'
import { FleetController } from '../../hub/fleet/fleet-controller.js'
import { ChangeFeed, type Change } from '../../hub/ingest/change-feed.js'
import { Metrics } from '../../hub/metrics.js'
import { HubStore } from '../../hub/store/hub-store.js'
import { openHubDatabase } from '../../hub/store/open-hub-database.js'
import { tempDir } from './tmp.js'
import type { TestLike } from './types.js'

/**
 * A hub's store (a real SQLite file) and fleet controller at a fixed time, publishing nowhere,
 * for unit tests of the hub's services; the change feed's changes are collected. Closed at
 * teardown.
 */
export function hubFleet(t: TestLike, name: string, now: number) {
  const dir = tempDir(t, name)
  const store = new HubStore(openHubDatabase(path.join(dir, 'hub.db')))
  const secrets = loadOrCreateSecrets(dir)
  const bodies = new ObjectBodies(store.configObjects, new AtRestCipher(secrets.secretsKey))
  const clock = { now: () => now }
  const feed = new ChangeFeed()
  const changes: Change[] = []
  feed.subscribe((change) => changes.push(change))
  const fleet = new FleetController({
    store,
    clock,
    logger: pino({ level: 'silent' }),
    metrics: new Metrics(),
    feed,
    privateKeyPem: secrets.privateKeyPem,
    publishDesired: async () => {},
    objectBody: (kind, name, version) => bodies.read(kind, name, version),
  })
  t.teardown(async () => {
    await fleet.stop()
    store.close()
  })
  return { dir, store, bodies, clock, feed, changes, fleet }
}

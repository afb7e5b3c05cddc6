// Where a deployment's logs are read from (hub/logs/log-targets.ts), against a real SQLite hub store.
import path from 'node:path'
import t from 'tap'
import { resolveLogTargets, WorkloadNotPlacedError } from '../../hub/logs/log-targets.js'
import { HubStore } from '../../hub/store/hub-store.js'
import { DeploymentNotFoundError, NodeNotFoundError } from '../../hub/store/not-found.js'
import { openHubDatabase } from '../../hub/store/open-hub-database.js'
import { parseManifests } from '../../protocol/manifest-parse.js'
import { nodeRecord } from '../support/hub-nodes.js'
import { tempDir } from '../support/tmp.js'

const AT = '2030-01-01T00:00:00.000Z'

t.test('targets from placements, one node or all; typed errors for what is missing', async (t) => {
  const store = new HubStore(openHubDatabase(path.join(tempDir(t, 'log-targets'), 'hub.db')))
  t.teardown(() => store.close())
  for (const id of ['n1', 'n2', 'n3']) store.nodes.insert(nodeRecord(id, { createdAt: AT }))
  const parsed = parseManifests(
    ['web', 'idle']
      .map((name) => `apiVersion: shoal/v1\nkind: Deployment\nmetadata: { name: ${name} }\nspec: { replicas: 2, template: { image: busybox } }\n`)
      .join('---\n'),
  )
  t.same(parsed.errors, [])
  for (const { manifest } of parsed.manifests) if (manifest.kind === 'Deployment') store.deployments.apply(manifest, AT)
  store.deployments.replacePlacements(
    [
      { nodeId: 'n2', workload: 'web', deployment: 'web', replica: 1 },
      { nodeId: 'n1', workload: 'web', deployment: 'web', replica: 0 },
    ],
    AT,
  )

  t.same(resolveLogTargets(store, 'web', null), [
    { nodeId: 'n1', workload: 'web' },
    { nodeId: 'n2', workload: 'web' },
  ])
  t.same(resolveLogTargets(store, 'web', 'n2'), [{ nodeId: 'n2', workload: 'web' }])
  t.throws(() => resolveLogTargets(store, 'nope', null), DeploymentNotFoundError)
  t.throws(() => resolveLogTargets(store, 'web', 'n9'), NodeNotFoundError)
  t.throws(() => resolveLogTargets(store, 'web', 'n3'), new WorkloadNotPlacedError('web', 'n3'), 'a node that holds no copy')
  t.throws(() => resolveLogTargets(store, 'idle', null), new WorkloadNotPlacedError('idle', null), 'a deployment placed nowhere yet')
})

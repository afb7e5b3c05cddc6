// Issue 19 across the hub's own loops, without a broker: the control loops as the hub wires
// them, on a real SQLite store, a transport that only records, and statuses handed to the
// ingester as the broker would. A copy pending for a device is placed once a node reports the
// device, and a node whose reported policy refuses a template gets no copy of it.
import path from 'node:path'
import { pino } from 'pino'
import t from 'tap'
import { AtRestCipher } from '../../hub/config-objects/at-rest-cipher.js'
import { ConfigObjectService } from '../../hub/config-objects/config-object-service.js'
import { ObjectBodies } from '../../hub/config-objects/object-bodies.js'
import { DeploymentService } from '../../hub/deployments/deployment-service.js'
import { readManifests } from '../../hub/deployments/read-manifests.js'
import { loadOrCreateSecrets } from '../../hub/enrollment/hub-secrets.js'
import { ChangeFeed } from '../../hub/ingest/change-feed.js'
import { Metrics } from '../../hub/metrics.js'
import { HubStore } from '../../hub/store/hub-store.js'
import { openHubDatabase } from '../../hub/store/open-hub-database.js'
import type { HubTransport } from '../../hub/transport/hub-transport.js'
import { createControlLoops } from '../../hub/wiring/control-loops.js'
import { DEFAULT_NODE_POLICY, encodeMessage, type NodePolicy, type NodeStatus, type OutboxBatch } from '../../protocol/index.js'
import { nodeRecord } from '../support/hub-nodes.js'
import { tempDir } from '../support/tmp.js'
import type { TestLike } from '../support/types.js'
import { waitFor } from '../support/wait.js'

const T0 = Date.parse('2030-01-01T00:00:00.000Z')
const AT = new Date(T0).toISOString()

function setUp(t: TestLike) {
  const dir = tempDir(t, 'hub-devices')
  const store = new HubStore(openHubDatabase(path.join(dir, 'hub.db')))
  const secrets = loadOrCreateSecrets(dir)
  const bodies = new ObjectBodies(store.configObjects, new AtRestCipher(secrets.secretsKey))
  const clock = { now: () => T0 }
  const feed = new ChangeFeed()
  const published: string[] = []
  // Only what the loops call; nothing is sent anywhere.
  const transport = {
    publishDesired: async (nodeId: string) => void published.push(nodeId),
    publishAck: async () => {},
    publishLogRequest: async () => {},
    publishSession: async () => {},
  } as unknown as HubTransport
  const { fleet, ingester } = createControlLoops({
    store,
    clock,
    logger: pino({ level: 'silent' }),
    metrics: new Metrics(),
    feed,
    transport,
    privateKeyPem: secrets.privateKeyPem,
    objectBodies: bodies,
    // Only the requests the test makes run passes, not a timer.
    schedulerIntervalMs: 3_600_000,
  })
  t.teardown(async () => {
    await fleet.stop()
    store.close()
  })
  for (const id of ['n1', 'n2', 'n3']) {
    store.nodes.insert(nodeRecord(id, { createdAt: AT }))
    store.nodes.setOnline(id, true, AT)
  }
  const service = new DeploymentService({ store, fleet, feed, clock, objects: new ConfigObjectService(store, bodies) })
  const apply = (yaml: string) => service.apply(readManifests(yaml, 'request'), 'alice')
  const seqs = new Map<string, number>()
  /** One status from the node's agent, carrying its devices and policy. */
  const report = (nodeId: string, facts: { devices?: string[]; policy?: NodePolicy }): void => {
    const seq = (seqs.get(nodeId) ?? 0) + 1
    seqs.set(nodeId, seq)
    const body: NodeStatus = { nodeId, observedGeneration: 0, at: AT, workloads: [], ...facts }
    const batch: OutboxBatch = { nodeId, epoch: 'e1', records: [{ nodeId, seq, kind: 'status', body }] }
    ingester.handle(nodeId, 'outbox', encodeMessage(batch))
  }
  const holders = (name: string): string[] =>
    store.deployments
      .placements()
      .filter((p) => p.deployment === name)
      .map((p) => p.nodeId)
      .sort()
  return { store, fleet, apply, report, holders }
}

const deploymentYaml = (name: string, spec: string) => `apiVersion: shoal/v1
kind: Deployment
metadata: { name: ${name} }
spec:
${spec}
`

t.test('a copy pending for its device is placed within seconds of a node reporting the device', async (t) => {
  const { apply, report, holders, store, fleet } = setUp(t)
  await apply(deploymentYaml('modbus', '  requires: { devices: [/dev/ttyUSB0] }\n  template: { image: registry.example/modbus:1 }'))
  t.same(holders('modbus'), [], 'no node has the device')
  t.equal(store.deployments.placements().length, 0)

  report('n2', { devices: ['/dev/ttyUSB0'], policy: DEFAULT_NODE_POLICY })
  t.same(store.nodes.get('n2')?.devices, ['/dev/ttyUSB0'], 'stored at once')
  await waitFor(() => holders('modbus').length > 0, { what: 'a pass placing the copy', timeoutMs: 10_000, intervalMs: 50 })
  t.same(holders('modbus'), ['n2'])

  report('n2', { devices: [] })
  report('n3', { devices: ['/dev/ttyUSB0'] })
  await fleet.request('test')
  t.same(holders('modbus'), ['n2'], 'the device going away does not move the copy (the agent reports it waiting)')
})

t.test('a node whose reported policy refuses the template gets no copy; one that allows it does', async (t) => {
  const { apply, report, holders, fleet } = setUp(t)
  report('n1', { policy: { ...DEFAULT_NODE_POLICY, privileged: true } })
  await fleet.request('test')
  await apply(deploymentYaml('vpn', '  mode: every-node\n  template: { image: registry.example/vpn:1, securityContext: { privileged: true } }'))
  t.same(holders('vpn'), ['n1'], 'n2 and n3 never reported a policy: the default refuses privileged')

  report('n3', { policy: { ...DEFAULT_NODE_POLICY, privileged: true } })
  await waitFor(() => holders('vpn').length === 2, { what: 'a pass after n3 allowed privileged', timeoutMs: 10_000, intervalMs: 50 })
  report('n1', { policy: DEFAULT_NODE_POLICY })
  await waitFor(() => holders('vpn').length === 1, { what: 'a pass after n1 narrowed its policy', timeoutMs: 10_000, intervalMs: 50 })
  t.same(holders('vpn'), ['n3'])
})

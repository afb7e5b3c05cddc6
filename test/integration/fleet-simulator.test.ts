// The fleet simulator (agent/simulator/) speaks the agent's protocol because it is the agent's
// code: its nodes enroll with a real hub over the API, connect to the real broker (the embedded
// one, and NATS), receive a deployment and report it running through the outbox, which the hub
// acknowledges; a churn round brings its nodes back. A desired document with a bad signature or
// for another node is rejected by a simulated node with the same codes the agent's intake gives
// (agent-intake.test.ts), and reported to the hub as a DesiredRejected event.
import { pino } from 'pino'
import t, { type Test } from 'tap'
import { encodeMessage, generateSigningKeys, type NodeStatus } from '../../protocol/index.js'
import type { IntakeResult } from '../../agent/intake/desired-intake.js'
import { SimulatedFleet } from '../../agent/simulator/simulated-fleet.js'
import { SimulatedNode, type NodeObserver } from '../../agent/simulator/simulated-node.js'
import { startNatsWithHub } from '../support/broker-fleet.js'
import { uniqueNodeId } from '../support/agent-process.js'
import { everyNodeSleeperYaml, startHubProcess } from '../support/hub-process.js'
import { startMqttHubDouble } from '../support/hub-double.js'
import { startMosquitto, tempDir, testImage, waitFor } from '../support/index.js'

t.setTimeout(180_000)

const logger = pino({ level: 'warn' })

/** What the nodes told the test: links up, intake verdicts, acknowledged statuses. */
function recorder(): NodeObserver & {
  up: Map<string, boolean>
  verdicts: Array<{ nodeId: string; result: IntakeResult }>
  acked: Array<{ nodeId: string; status: NodeStatus }>
} {
  const up = new Map<string, boolean>()
  const verdicts: Array<{ nodeId: string; result: IntakeResult }> = []
  const acked: Array<{ nodeId: string; status: NodeStatus }> = []
  return {
    up,
    verdicts,
    acked,
    link: (nodeId, isUp) => up.set(nodeId, isUp),
    intake: (nodeId, result) => verdicts.push({ nodeId, result }),
    acknowledged: (nodeId, status) => acked.push({ nodeId, status }),
  }
}

interface HubApi {
  readonly apiUrl: string
  nodes(): Promise<Array<{ id: string; online: boolean; labels: Record<string, string>; workloads: { running: number } }>>
  apply(yaml: string): Promise<unknown>
  createJoinToken(options: { maxUses: number }): Promise<string>
}

/** Enroll `count` simulated nodes, deploy a sleeper to them, and see the hub count it running; then a new revision. */
async function enrollDeployAndRoll(
  t: Test,
  hub: HubApi,
  fleetLabel: string,
  count: number,
): Promise<{ fleet: SimulatedFleet; seen: ReturnType<typeof recorder> }> {
  const seen = recorder()
  const fleet = new SimulatedFleet({
    hubUrl: hub.apiUrl,
    token: await hub.createJoinToken({ maxUses: count }),
    prefix: fleetLabel,
    count,
    labels: { fleet: fleetLabel },
    enrollConcurrency: 2,
    heartbeatIntervalMs: 30_000,
    logger,
    observer: seen,
  })
  t.teardown(() => fleet.stop())
  await fleet.start()
  const ids = fleet.nodes.map((node) => node.nodeId)
  t.equal(ids.length, count, 'every node enrolled')
  const ours = async () => (await hub.nodes()).filter((n) => n.labels.fleet === fleetLabel)
  await waitFor(async () => (await ours()).filter((n) => n.online).length === count, { what: 'the hub to see every simulated node online', timeoutMs: 60_000 })
  t.pass('the hub sees every simulated node online')

  await hub.apply(everyNodeSleeperYaml('sim-sleeper', fleetLabel, testImage(), 1))
  await waitFor(async () => (await ours()).every((n) => n.workloads.running === 1), {
    what: 'the hub to count the sleeper running on each node',
    timeoutMs: 60_000,
  })
  const ackedRevision = (revision: number) =>
    new Set(seen.acked.filter((a) => a.status.workloads.some((w) => w.deployment === 'sim-sleeper' && w.revision === revision)).map((a) => a.nodeId))
  await waitFor(() => ackedRevision(1).size === count, { what: 'every node to see its running status acknowledged', timeoutMs: 30_000 })
  t.ok(seen.verdicts.filter((v) => v.result.outcome === 'accepted').length >= count, 'every node verified and accepted its desired document')

  await hub.apply(everyNodeSleeperYaml('sim-sleeper', fleetLabel, testImage(), 2))
  await waitFor(() => ackedRevision(2).size === count, { what: 'every node to report revision 2, acknowledged', timeoutMs: 60_000 })
  t.pass('a new revision reached every node and each one reported it running')
  return { fleet, seen }
}

t.test('embedded broker: simulated nodes enroll, run a deployment, and come back after churn', async (t) => {
  const hub = await startHubProcess(t)
  const label = `sim${Date.now().toString(36)}`
  const { fleet, seen } = await enrollDeployAndRoll(t, hub, label, 4)

  const churned = await fleet.churn(0.5, 200)
  t.equal(churned.length, 2, 'half the fleet closed its links and opened them again')
  await waitFor(() => churned.every((id) => seen.up.get(id) === true) && fleet.connectedCount() === 4, {
    what: 'the churned nodes to reconnect',
    timeoutMs: 60_000,
  })
  const events = await waitFor(
    async () => {
      const all = await hub.events()
      const online = all.filter((e) => e.type === 'NodeOnline' && churned.includes(e.nodeId ?? ''))
      return online.length >= 2 * churned.length ? all : null
    },
    { what: 'the hub to see each churned node come online again', timeoutMs: 60_000 },
  )
  t.same(
    churned.map((id) => events.some((e) => e.type === 'NodeOffline' && e.nodeId === id)),
    churned.map(() => true),
    "each churned node's goodbye marked it offline",
  )
  await waitFor(async () => (await hub.nodes()).filter((n) => n.labels.fleet === label && n.online).length === 4, {
    what: 'all four online again',
    timeoutMs: 60_000,
  })
  t.equal(events.filter((e) => e.type === 'NodeLost').length, 0, 'no node was lost (rescheduled)')
})

t.test('NATS: simulated nodes enroll and run a deployment through JetStream KV', async (t) => {
  const dir = tempDir(t, 'fleet-simulator-nats')
  const { hub } = await startNatsWithHub(t, dir)
  const api: HubApi = {
    apiUrl: hub.apiUrl,
    nodes: async () => (await hub.api<{ items: Awaited<ReturnType<HubApi['nodes']>> }>('GET', '/api/v1/nodes')).items,
    apply: (yaml) => hub.api('POST', '/api/v1/manifests', yaml, 'application/yaml'),
    createJoinToken: async (options) => (await hub.api<{ token: string }>('POST', '/api/v1/tokens', options)).token,
  }
  await enrollDeployAndRoll(t, api, `simn${Date.now().toString(36)}`, 3)
})

t.test('a simulated node rejects what the agent rejects, with the same codes, and reports it', async (t) => {
  const broker = await startMosquitto(t)
  const double = await startMqttHubDouble(t, broker.url)
  const nodeId = uniqueNodeId('sim')
  const seen = recorder()
  const node = SimulatedNode.provisioned(
    { nodeId, hubPublicKey: double.publicKey, brokerUrl: broker.url, username: null, password: null, enrolledAt: null },
    { logger, heartbeatIntervalMs: 30_000, observer: seen },
  )
  t.teardown(() => node.stop())
  await node.start()
  const web = { name: 'web', deployment: 'web', revision: 1, template: { image: testImage(), network: 'host' as const } }
  await double.publishDesired(nodeId, [web], 5)
  await double.waitForStatus(nodeId, (s) => s.observedGeneration === 5 && s.workloads.every((w) => w.state === 'running'), { what: 'generation 5 running' })
  t.equal(node.generation, 5, 'the signed document was accepted')

  const rejects = async (what: string, payload: Buffer, code: string): Promise<void> => {
    const seq = double.lastSeq(nodeId)
    await double.publishDocumentBytes(nodeId, payload)
    const event = await double.waitForEvent(nodeId, 'DesiredRejected', undefined, { afterSeq: seq })
    t.equal(event.data?.code, code, `${what}: the hub got DesiredRejected with code ${code}`)
    const verdict = seen.verdicts.at(-1)?.result
    t.same(verdict?.outcome === 'rejected' ? verdict.code : verdict, code, `${what}: the intake's own verdict`)
  }
  await rejects('signed by another key', encodeMessage(double.signedDocument(nodeId, [web], 9, generateSigningKeys().privateKeyPem)), 'bad-signature')
  const genuine = double.signedDocument(nodeId, [web], 10)
  await rejects('the generation changed after signing', encodeMessage({ ...genuine, generation: 11 }), 'bad-signature')
  await rejects('addressed to another node', encodeMessage(double.signedDocument('t-someone-else', [web], 12)), 'wrong-node')
  t.equal(node.generation, 5, 'nothing rejected was stored')

  await double.publishDesired(nodeId, [web, { ...web, name: 'web2', deployment: 'web2' }], 13)
  await double.waitForStatus(nodeId, (s) => s.observedGeneration === 13 && s.workloads.length === 2, { what: 'generation 13 reported' })
  t.pass('a good document after the rejected ones is taken')
})

// The embedded broker's per-node access control, attacked with a real MQTT client holding a
// real node's credentials (from its identity.json): node A cannot read node B's desired
// document, cannot publish as B, cannot use its password under another client id; a wrong
// password is refused; and revoking B cuts its live connection and its credentials.
import t from 'tap'
import { inflateDesired } from '../../protocol/desired-compression.js'
import { mqttTopic } from '../../protocol/index.js'
import { testImage, waitFor } from '../support/index.js'
import { nodeContainers, uniqueNodeId, waitForRunning, type AgentProcess } from '../support/agent-process.js'
import {
  connectRawMqtt,
  deploymentYaml,
  publishRaw,
  readAgentIdentity,
  sleepTemplate,
  startHubAgent,
  startHubProcess,
  subscribeRaw,
  type HubProcess,
} from '../support/hub-process.js'

t.setTimeout(150_000)

/** Resolves once the agent has accepted the latest document the hub holds for it. */
async function converged(hub: HubProcess, agent: AgentProcess): Promise<number> {
  return waitFor(
    async () => {
      const latest = (await hub.node(agent.nodeId)).generation.latest as number
      return latest > 0 && (await agent.status()).generation === latest ? latest : undefined
    },
    { what: `agent ${agent.nodeId} to accept its latest generation`, timeoutMs: 60_000, intervalMs: 250 },
  )
}

function refusalCode(error: unknown): number | undefined {
  return typeof error === 'object' && error !== null && 'code' in error ? Number((error as { code: unknown }).code) : undefined
}

t.test("node credentials reach only the node's own topics", async (t) => {
  const image = testImage()
  const hub = await startHubProcess(t)
  const fleet = uniqueNodeId('acl')
  const token = await hub.createJoinToken({ maxUses: 2, labels: { fleet } })
  const [a, b] = await Promise.all([startHubAgent(t, hub, { name: uniqueNodeId('a'), token }), startHubAgent(t, hub, { name: uniqueNodeId('b'), token })])
  await hub.apply(deploymentYaml('base', { mode: 'every-node', selector: { matchLabels: { fleet } }, template: sleepTemplate(image) }))
  await Promise.all([waitForRunning(a.nodeId, ['base']), waitForRunning(b.nodeId, ['base'])])
  await Promise.all([converged(hub, a), converged(hub, b)])
  const idA = readAgentIdentity(a)
  const idB = readAgentIdentity(b)
  t.equal(idA.brokerUrl, hub.brokerUrl, "enrollment handed out the embedded broker's URL")
  t.equal(idA.username, a.nodeId)

  // A's agent steps aside so the test can hold A's client id (a second holder would take it over).
  await a.stop()
  await waitFor(async () => (await hub.node(a.nodeId)).online === false, { what: 'the hub to see A offline', timeoutMs: 20_000 })

  await t.test("A cannot read B's desired document, only its own", async (t) => {
    const raw = await connectRawMqtt(t, hub.brokerUrl, { clientId: `shoal-agent-${a.nodeId}`, username: idA.username, password: idA.password })
    const topics = [
      mqttTopic(a.nodeId, 'desired'),
      mqttTopic(b.nodeId, 'desired'),
      mqttTopic(b.nodeId, 'ack'),
      'shoal/v1/nodes/+/desired',
      '#',
      mqttTopic(a.nodeId, 'outbox'),
    ]
    const granted = await subscribeRaw(raw, topics)
    t.same(
      granted.map((g) => g.qos),
      [1, 128, 128, 128, 128, 128],
      "only A's own desired topic is granted; B's topics, wildcards and A's outbox are refused (128)",
    )
    // Positive control: the retained document for A arrives.
    const own = await waitFor(() => raw.messages.find((m) => m.topic === mqttTopic(a.nodeId, 'desired')), {
      what: "A's retained desired document",
      timeoutMs: 10_000,
    })
    t.ok(own.retain, 'delivered as the retained latest value')
    // New documents for both nodes: A's arrives here, B's reaches B's agent, and nothing of B's here.
    await hub.apply(deploymentYaml('bump', { mode: 'every-node', selector: { matchLabels: { fleet } }, template: sleepTemplate(image) }))
    const latestA = (await hub.node(a.nodeId)).generation.latest as number
    await waitFor(
      () =>
        raw.messages.some(
          (m) =>
            m.topic === mqttTopic(a.nodeId, 'desired') && (JSON.parse(inflateDesired(m.payload).toString()) as { generation: number }).generation === latestA,
        ),
      {
        what: `A's generation ${latestA} on the raw client`,
        timeoutMs: 20_000,
      },
    )
    await converged(hub, b)
    t.same(
      raw.messages.filter((m) => m.topic.includes(b.nodeId)),
      [],
      "no message of B's arrived, retained or live",
    )
    t.ok(hub.logLines("refused subscription outside the node's own topics").length >= 5, 'each refusal is logged')
    await raw.end()
  })

  await t.test("publishing as B (or as the hub) closes A's connection, and the hub stores nothing for B", async (t) => {
    const at = new Date().toISOString()
    const forgedEvent = { nodeId: b.nodeId, type: 'Forged', severity: 'error', message: 'forged by A', at }
    const attempts: Array<[string, string, boolean]> = [
      [
        mqttTopic(b.nodeId, 'outbox'),
        JSON.stringify({ nodeId: b.nodeId, records: [{ nodeId: b.nodeId, seq: 9_000_000_000_000, kind: 'event', body: forgedEvent }] }),
        false,
      ],
      [mqttTopic(b.nodeId, 'presence'), JSON.stringify({ nodeId: b.nodeId, state: 'offline', at }), true],
      [mqttTopic(b.nodeId, 'heartbeat'), JSON.stringify({ nodeId: b.nodeId }), false],
      [mqttTopic(a.nodeId, 'desired'), JSON.stringify({ forged: true }), true],
      [mqttTopic(b.nodeId, 'ack'), JSON.stringify({ nodeId: b.nodeId, seq: 9_000_000_000_000 }), false],
      ['shoal/v1/nodes/not-a-topic', '{}', false],
    ]
    for (const [topic, payload, retain] of attempts) {
      const raw = await connectRawMqtt(t, hub.brokerUrl, { clientId: `shoal-agent-${a.nodeId}`, username: idA.username, password: idA.password })
      t.equal(await publishRaw(raw, topic, payload, { retain }), 'closed', `publishing to ${topic} closes the connection`)
      await raw.closed
    }
    await waitFor(() => hub.logLines("refused publish outside the node's own topics; closing its connection").length === attempts.length, {
      what: 'each refused publish in the hub log',
      timeoutMs: 10_000,
    })

    // Ordering proof: B's next real event is stored; the forged ones never were.
    await hub.ok('DELETE', '/api/v1/deployments/bump')
    await waitForRunning(b.nodeId, ['base'])
    const events = await waitFor(
      async () => {
        const list = await hub.events(b.nodeId)
        return list.some((e) => e.type === 'WorkloadRemoved' && e.workload === 'bump') ? list : undefined
      },
      { what: "B's WorkloadRemoved event for bump at the hub", timeoutMs: 30_000, intervalMs: 250 },
    )
    t.same(
      events.filter((e) => e.type === 'Forged' || (e.seq ?? 0) >= 9_000_000_000_000),
      [],
      'no forged event stored for B',
    )
    const nodeB = await hub.node(b.nodeId)
    t.equal(nodeB.online, true, 'the forged "offline" presence did not reach the hub')
    t.equal(nodeB.condition.type, 'Ready')
    await converged(hub, b)
  })

  await t.test("a wrong password, no credentials, or A's credentials under another client id are refused", async (t) => {
    const cases: Array<[string, { clientId: string; username?: string; password?: string }, number]> = [
      ['wrong password', { clientId: `shoal-agent-${a.nodeId}`, username: idA.username, password: `${idA.password}x` }, 4],
      ['no credentials', { clientId: `shoal-agent-${a.nodeId}` }, 4],
      ["B's username with A's password", { clientId: `shoal-agent-${b.nodeId}`, username: idB.username, password: idA.password }, 4],
      ["A's credentials as B's client id", { clientId: `shoal-agent-${b.nodeId}`, username: idA.username, password: idA.password }, 2],
      ["A's credentials under a made-up client id", { clientId: 'intruder', username: idA.username, password: idA.password }, 2],
    ]
    for (const [what, options, code] of cases) {
      const error = await connectRawMqtt(t, hub.brokerUrl, options).then(
        () => null,
        (e: unknown) => e,
      )
      t.ok(error, `${what}: refused`)
      t.equal(refusalCode(error), code, `${what}: CONNACK return code ${code}`)
    }
    t.equal((await hub.node(b.nodeId)).online, true, "B's own session was not taken over")
    await waitFor(() => hub.logLines(/^refused connection/).length === cases.length, { what: 'each refused connection in the hub log', timeoutMs: 10_000 })
  })

  await t.test("A's agent comes back with its own credentials", async (t) => {
    await a.start()
    await waitFor(async () => (await hub.node(a.nodeId)).online, { what: 'A online again', timeoutMs: 30_000 })
    t.ok((await converged(hub, a)) > 0)
    await waitForRunning(a.nodeId, ['base'])
  })

  await t.test('a revoked node is cut off: live connection closed, reconnects and credentials refused', async (t) => {
    const linkDowns = b.logLines('hub link down; working from the local store').length
    const refusedBefore = hub.logLines(/^refused connection/).filter((l) => l.username === b.nodeId).length
    t.same(await hub.ok('DELETE', `/api/v1/nodes/${b.nodeId}`), { revoked: b.nodeId })
    await waitFor(() => b.logLines('hub link down; working from the local store').length > linkDowns, { what: "B's agent to lose its link", timeoutMs: 20_000 })
    t.ok(
      hub.logLines("closing a revoked node's connection").some((l) => l.nodeId === b.nodeId),
      "the hub closed B's connection",
    )
    await waitFor(() => hub.logLines(/^refused connection/).filter((l) => l.username === b.nodeId).length > refusedBefore, {
      what: "B's agent's reconnect to be refused",
      timeoutMs: 30_000,
    })
    await waitFor(() => b.logLines('broker connection error').some((l) => /Bad username or password/.test(JSON.stringify(l.err))), {
      what: "B's agent to log the broker's refusal",
      timeoutMs: 20_000,
    })
    t.equal((await hub.api('GET', `/api/v1/nodes/${b.nodeId}`)).status, 404, 'B is gone from the hub')
    const error = await connectRawMqtt(t, hub.brokerUrl, { clientId: `shoal-agent-${b.nodeId}`, username: idB.username, password: idB.password }).then(
      () => null,
      (e: unknown) => e,
    )
    t.equal(refusalCode(error), 4, "B's credentials no longer work")
    t.ok(b.alive, 'the agent itself keeps running')
    t.ok(
      (await nodeContainers(b.nodeId)).every((c) => c.state === 'running'),
      'and so do its containers (autonomy), until an operator stops them',
    )
    t.equal((await hub.node(a.nodeId)).online, true, 'A is unaffected')
    t.same(
      (await hub.deployment('base')).placements.map((p: any) => p.nodeId),
      [a.nodeId],
      'B holds no placement any more',
    )
  })
})

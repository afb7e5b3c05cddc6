// An idle fleet costs the hub no disk writes: bare simulated nodes (enrolled over the real API,
// connected to the real embedded broker with their own credentials) send heartbeats that
// change nothing durable, and the hub's SQLite file sees no commit for them, however many
// flushes pass (SQLite's data_version, read from a second connection, moves with every commit
// of another connection). A heartbeat that does change something (a new observed generation)
// is written, and a clean stop writes the soft state so a restarted hub shows it.
import path from 'node:path'
import Database from 'better-sqlite3'
import t from 'tap'
import { minimalInventory } from '../support/inventory.js'
import { mqttTopic } from '../../protocol/topics.js'
import { waitFor } from '../support/wait.js'
import type { AgentTestLike } from '../support/agent-process.js'
import { connectRawMqtt, publishRaw, startHubProcess, type HubProcess, type RawMqttClient } from '../support/hub-process.js'

t.setTimeout(120_000)

interface SimNode {
  readonly nodeId: string
  readonly raw: RawMqttClient
}

async function simNode(t: AgentTestLike, hub: HubProcess, token: string, name: string): Promise<SimNode> {
  const enrolled = await hub.ok<{ nodeId: string; username: string; password: string }>('POST', '/api/v1/enroll', {
    token,
    name,
    inventory: minimalInventory(name),
    agentVersion: 'test',
  })
  const raw = await connectRawMqtt(t, hub.brokerUrl, { clientId: `shoal-agent-${enrolled.nodeId}`, username: enrolled.username, password: enrolled.password })
  return { nodeId: enrolled.nodeId, raw }
}

function heartbeat(nodeId: string, i: number, observedGeneration = 0): string {
  return JSON.stringify({
    nodeId,
    at: new Date().toISOString(),
    uptimeSeconds: i,
    observedGeneration,
    outboxDepth: 0,
    cpuPercent: i % 100,
    memory: { usedBytes: 1000 + i, totalBytes: 1024 ** 3 },
    disk: { usedBytes: 5000 + i, totalBytes: 1024 ** 4 },
    workloads: { running: 0, total: 0 },
  })
}

t.test('idle heartbeats write nothing to the hub database; a durable change and a clean stop do', async (t) => {
  const hub = await startHubProcess(t, { extraArgs: ['--test-heartbeat-flush', '200ms'] })
  const token = await hub.createJoinToken({ maxUses: 3 })
  const nodes = [await simNode(t, hub, token, 'idle-a'), await simNode(t, hub, token, 'idle-b'), await simNode(t, hub, token, 'idle-c')]
  const heartbeatsIn = () => hub.metric('shoal_messages_in_total', { channel: 'heartbeat' })
  const flushes = () => hub.metric('shoal_soft_state_flushes_total', { scope: 'changed' })
  const written = () => hub.metric('shoal_soft_state_nodes_written_total')

  // Each node's first heartbeat is durable (the hub had none): sent, received, flushed.
  let sent = 0
  for (const node of nodes) {
    await publishRaw(node.raw, mqttTopic(node.nodeId, 'heartbeat'), heartbeat(node.nodeId, 0))
    sent++
  }
  await waitFor(async () => (await heartbeatsIn()) === sent, { what: 'the first heartbeats received', timeoutMs: 15_000 })
  await waitFor(async () => (await written()) === nodes.length, { what: 'the first heartbeats written', timeoutMs: 15_000 })
  // Enrollment's own durable work: every node online and its first desired document stored.
  await waitFor(async () => (await hub.nodes()).every((n) => n.online && n.generation.latest >= 1), {
    what: 'every node online with its first desired document',
    timeoutMs: 15_000,
  })

  const db = new Database(path.join(hub.dataDir, 'hub.db'), { readonly: true, fileMustExist: true })
  t.teardown(() => db.close())
  const dataVersion = () => db.pragma('data_version', { simple: true }) as number
  const flushesBefore = await flushes()
  const versionBefore = dataVersion()

  for (let i = 1; i <= 10; i++) {
    for (const node of nodes) {
      await publishRaw(node.raw, mqttTopic(node.nodeId, 'heartbeat'), heartbeat(node.nodeId, i))
      sent++
    }
  }
  await waitFor(async () => (await heartbeatsIn()) === sent, { what: `all ${sent} heartbeats received`, timeoutMs: 30_000 })
  const received = await flushes()
  await waitFor(async () => (await flushes()) >= received + 3, { what: 'three flushes after the last idle heartbeat', timeoutMs: 30_000 })
  t.equal(dataVersion(), versionBefore, `30 idle heartbeats and ${(await flushes()) - flushesBefore} flushes: no commit to hub.db`)
  t.equal(await written(), nodes.length, 'no node written since the first heartbeats')
  const fresh = (await hub.node(nodes[0]!.nodeId)) as { usage: { cpuPercent: number } | null }
  t.equal(fresh.usage?.cpuPercent, 10, 'the API serves the latest heartbeat from memory')

  await publishRaw(
    nodes[0]!.raw,
    mqttTopic(nodes[0]!.nodeId, 'heartbeat'),
    heartbeat(nodes[0]!.nodeId, 11, 0).replace('"observedGeneration":0', '"observedGeneration":1'),
  )
  await waitFor(async () => (await written()) === nodes.length + 1, { what: 'the durable heartbeat written', timeoutMs: 15_000 })
  t.ok(dataVersion() > versionBefore, 'a new observed generation is committed')

  await hub.kill('SIGTERM')
  await hub.start()
  const after = (await hub.node(nodes[1]!.nodeId)) as { usage: { cpuPercent: number } | null }
  t.equal(after.usage?.cpuPercent, 10, 'a clean stop wrote the soft state: the restarted hub shows the latest heartbeat')
})

// A hub that comes back after an outage longer than the offline threshold marks none of its
// returning nodes offline: silence is counted from the later of last seen and the hub's own
// start, so every node gets a whole grace period to reconnect. Real hub process (SIGKILLed),
// its embedded broker, one real agent (it reconnects with its jittered backoff) and one bare
// simulated node that stays away until the restarted hub has swept for silent nodes twice.
//
// The outage is made long by rewriting last seen in the stopped hub's database to ten minutes
// earlier (a fault injected on purpose: waiting ten real minutes would only make the test slow).
import path from 'node:path'
import Database from 'better-sqlite3'
import t from 'tap'
import { minimalInventory } from '../support/inventory.js'
import { mqttTopic } from '../../protocol/topics.js'
import { waitFor } from '../support/wait.js'
import { uniqueNodeId } from '../support/agent-process.js'
import { connectRawMqtt, publishRaw, startHubAgent, startHubProcess } from '../support/hub-process.js'

t.setTimeout(150_000)

const heartbeat = (nodeId: string) =>
  JSON.stringify({
    nodeId,
    at: new Date().toISOString(),
    uptimeSeconds: 1,
    observedGeneration: 0,
    outboxDepth: 0,
    cpuPercent: 1,
    memory: { usedBytes: 1, totalBytes: 1024 ** 3 },
    disk: null,
    workloads: { running: 0, total: 0 },
  })

t.test('a hub restarted after longer than the offline threshold marks no returning node offline', async (t) => {
  const hub = await startHubProcess(t)
  const agent = await startHubAgent(t, hub, { name: uniqueNodeId('back') })
  const token = await hub.createJoinToken({ maxUses: 1 })
  const late = await hub.ok<{ nodeId: string; username: string; password: string }>('POST', '/api/v1/enroll', {
    token,
    name: uniqueNodeId('late'),
    inventory: minimalInventory('late'),
    agentVersion: 'test',
  })
  const credentials = { clientId: `shoal-agent-${late.nodeId}`, username: late.username, password: late.password }
  const first = await connectRawMqtt(t, hub.brokerUrl, credentials)
  await publishRaw(first, mqttTopic(late.nodeId, 'heartbeat'), heartbeat(late.nodeId))
  const ids = [agent.nodeId, late.nodeId]
  await waitFor(async () => (await hub.nodes()).filter((n) => ids.includes(n.id) && n.online).length === 2, { what: 'both nodes online', timeoutMs: 30_000 })

  await hub.kill('SIGKILL')
  const longAgo = new Date(Date.now() - 600_000).toISOString()
  const db = new Database(path.join(hub.dataDir, 'hub.db'), { fileMustExist: true })
  db.prepare('UPDATE nodes SET last_seen_at = ?, heartbeat_received_at = ?').run(longAgo, longAgo)
  db.close()

  const restartedAt = Date.now()
  await hub.start()
  const sweeps = () => hub.metric('shoal_presence_sweeps_total')
  await waitFor(
    async () => {
      const node = await hub.node(agent.nodeId)
      return node.usage && Date.parse(node.usage.receivedAt) >= restartedAt
    },
    { what: 'the real agent to reconnect and heartbeat to the restarted hub', timeoutMs: 60_000, intervalMs: 200 },
  )
  await waitFor(async () => (await sweeps()) >= 2, { what: 'two presence sweeps by the restarted hub', timeoutMs: 30_000, intervalMs: 200 })
  const away = await hub.node(late.nodeId)
  t.equal(away.online, true, `the node still away (last seen ${away.lastSeenAt}, ten minutes ago) is within its grace period`)

  const second = await connectRawMqtt(t, hub.brokerUrl, credentials)
  await publishRaw(second, mqttTopic(late.nodeId, 'heartbeat'), heartbeat(late.nodeId))
  await waitFor(async () => Date.parse((await hub.node(late.nodeId)).lastSeenAt) >= restartedAt, {
    what: 'the late node heard from again',
    timeoutMs: 15_000,
  })
  const nodes = (await hub.nodes()).filter((n) => ids.includes(n.id))
  t.same(
    nodes.map((n) => n.online),
    [true, true],
    'both online',
  )
  for (const id of ids) {
    t.same(
      (await hub.events(id)).filter((e) => e.type === 'NodeOffline').map((e) => e.message),
      [],
      `no NodeOffline event for ${id}`,
    )
  }
  t.same(hub.logLines('node offline'), [], 'the hub never marked a node offline')
})

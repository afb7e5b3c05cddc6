// After a hub restart the nodes come back on the hub's reconnect hint. A few real agents enroll
// with a real hub (embedded broker), each stores the hint the hub sends when it comes online
// (1 s for a fleet this small), the hub is SIGKILLed while the agents keep working (their
// containers are killed, so their outboxes fill), and started again on the same data directory.
// Every agent reconnects (same process), heartbeats to the new hub, drains its outbox, and every
// retry it logged after the hint waited at most the hinted cap. No timing is asserted: how fast
// that is, is what scripts/bench/hub-reconnect.mjs measures.
import path from 'node:path'
import Database from 'better-sqlite3'
import t from 'tap'
import { dockerClient, testImage, waitFor } from '../support/index.js'
import { uniqueNodeId, waitForRunning, type AgentProcess } from '../support/agent-process.js'
import { deploymentYaml, sleepTemplate, startHubAgent, startHubProcess } from '../support/hub-process.js'

t.setTimeout(150_000)

function readAgentDb<T>(agent: AgentProcess, read: (db: Database.Database) => T): T {
  const db = new Database(path.join(agent.dataDir, 'agent.db'), { readonly: true, fileMustExist: true })
  db.pragma('busy_timeout = 10000')
  try {
    return read(db)
  } finally {
    db.close()
  }
}

const storedHint = (agent: AgentProcess): number | null =>
  readAgentDb(agent, (db) => (db.prepare('SELECT cap_ms FROM reconnect_hint WHERE id = 1').get() as { cap_ms: number } | undefined)?.cap_ms ?? null)
const outboxDepth = (agent: AgentProcess): number => readAgentDb(agent, (db) => (db.prepare('SELECT COUNT(*) AS n FROM outbox').get() as { n: number }).n)

/** The agent's JSON log lines with this message, in order. */
function logLines(agent: AgentProcess, msg: string): Record<string, unknown>[] {
  return agent
    .log()
    .split('\n')
    .filter((line) => line.includes(`"msg":"${msg}"`))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
}

t.test("agents keep the hub's reconnect hint and come back on it after the hub is SIGKILLed and restarted", async (t) => {
  const image = testImage()
  const hub = await startHubProcess(t)
  const fleet = uniqueNodeId('rc')
  const count = 3
  const token = await hub.createJoinToken({ maxUses: count, labels: { fleet } })
  const agents = await Promise.all(Array.from({ length: count }, (_, i) => startHubAgent(t, hub, { name: uniqueNodeId(`r${i}`), token })))
  const pids = agents.map((a) => a.pid)
  await hub.apply(deploymentYaml('steady', { mode: 'every-node', selector: { matchLabels: { fleet } }, template: sleepTemplate(image) }))
  const containers = await Promise.all(agents.map((a) => waitForRunning(a.nodeId, ['steady'])))

  for (const agent of agents) {
    const hint = await waitFor(() => storedHint(agent), { what: `${agent.nodeId} to store the hub's reconnect hint`, timeoutMs: 30_000, intervalMs: 100 })
    t.equal(hint, 1_000, `${agent.nodeId} stored the hint for a fleet of ${count}: a 1 s cap`)
  }
  await waitFor(async () => agents.every((a) => outboxDepth(a) === 0), { what: 'every outbox to drain before the kill', timeoutMs: 30_000, intervalMs: 200 })

  t.equal((await hub.kill('SIGKILL')).signal, 'SIGKILL', 'hub killed')
  // The agents work on: their containers die and come back (restart policy), and they report it.
  for (const [i, agent] of agents.entries()) {
    const container = containers[i]?.get('steady')
    if (container) await dockerClient().getContainer(container.id).kill()
    await waitFor(() => outboxDepth(agent) > 0, { what: `${agent.nodeId} to queue reports while the hub is down`, timeoutMs: 30_000, intervalMs: 100 })
  }
  for (const agent of agents) {
    await waitFor(() => logLines(agent, 'broker connection closed; retrying').length >= 2, {
      what: `${agent.nodeId} to retry the broker`,
      timeoutMs: 30_000,
      intervalMs: 100,
    })
  }
  const restartedAt = Date.now()
  await hub.start()

  for (const agent of agents) {
    const node = await waitFor(
      async () => {
        const n = await hub.node(agent.nodeId)
        const heard = n.usage !== null && Date.parse(n.usage.receivedAt) >= restartedAt
        return heard && n.condition.type === 'Ready' ? n : undefined
      },
      { what: `${agent.nodeId} to heartbeat to the restarted hub and be Ready`, timeoutMs: 60_000, intervalMs: 100 },
    )
    t.equal(node.condition.type, 'Ready', `${agent.nodeId} is Ready on the restarted hub`)
    await waitFor(() => outboxDepth(agent) === 0, { what: `${agent.nodeId} to drain its outbox to the restarted hub`, timeoutMs: 60_000, intervalMs: 100 })
    t.pass(`${agent.nodeId} drained what it queued while the hub was down`)
  }

  for (const [i, agent] of agents.entries()) {
    t.equal(agent.pid, pids[i], `${agent.nodeId} reconnected in the same process`)
    t.ok(logLines(agent, 'connected to broker').length >= 2, `${agent.nodeId} connected again`)
    const retries = logLines(agent, 'broker connection closed; retrying').filter((line) => line.hintedCapMs === 1_000)
    t.ok(retries.length >= 2, `${agent.nodeId} retried ${retries.length} times on the hint`)
    t.strictSame(
      retries.filter((line) => typeof line.retryInMs !== 'number' || line.retryInMs > 1_000 || line.retryInMs < 125),
      [],
      `${agent.nodeId}: every retry waited within [125 ms, the hinted 1 s]`,
    )
    t.equal(storedHint(agent), 1_000, `${agent.nodeId} still holds the hint (told again on reconnecting)`)
  }
})

// The hub on a 3-server nats-server cluster run as docs/brokers.md says: routes on loopback,
// JetStream clustered, the desired-state bucket kept on all three servers (--nats-replicas 3),
// one shared include of the users and rights the hub generates, and every server signalled
// on each rewrite. Real hub and agent processes, real Docker. A server is SIGKILLed twice:
// first the leader of the bucket's stream, then (after it has come back) the server an agent
// is connected to. Each time a new apply still reaches both agents, their statuses reach the
// hub, their outboxes drain (the hub acknowledged everything), a node enrolled meanwhile gets
// its workload, and node B's credentials still cannot read node A's document on any server.
import path from 'node:path'
import { connect } from 'nats'
import t, { type Test } from 'tap'
import { agentCredentials, enrollAgent, sleeperManifest, startHubProcess, writeBrokerConfig, type HubProcess } from '../support/broker-fleet.js'
import { uniqueNodeId, waitForRunning, type AgentProcess } from '../support/agent-process.js'
import { tempDir, testImage, waitFor } from '../support/index.js'
import { startNatsCluster, type NatsCluster, type NatsClusterServer } from '../support/nats-cluster.js'
import { profilesDirEdited } from '../support/profiles.js'

t.setTimeout(420_000)

const BUCKET = 'shoal_v1_desired'
const STREAM = `KV_${BUCKET}`

interface NodeDetail {
  generation: { latest: number; observed: number }
  workloadStatus: { name: string; state: string }[]
}

/** The hub has this node's status for the latest generation, with every named workload running. */
async function waitForHubStatus(hub: HubProcess, nodeId: string, workloads: readonly string[]): Promise<void> {
  await waitFor(
    async () => {
      const node = await hub.api<NodeDetail>('GET', `/api/v1/nodes/${nodeId}`)
      return (
        node.generation.observed === node.generation.latest && workloads.every((w) => node.workloadStatus.some((s) => s.name === w && s.state === 'running'))
      )
    },
    { what: `the hub to hold ${nodeId}'s status with [${workloads.join(', ')}] running`, timeoutMs: 90_000, intervalMs: 250 },
  )
}

/** Everything the agent wrote to its outbox was acknowledged by the hub (records are deleted only then). */
async function waitForDrainedOutbox(agent: AgentProcess): Promise<void> {
  await waitFor(async () => (await agent.status()).outbox.records === 0, { what: `${agent.nodeId}'s outbox to drain`, timeoutMs: 60_000 })
}

/**
 * B's own credentials on one server: its own key reads, A's is refused with a permissions
 * violation. Right after a server died, creating the watch's consumer can time out (seen on
 * nats-server 2.9.10 through a follower of the stream, while the cluster settles): the agent
 * then watches again 5 s later, and so does this check, a bounded number of times.
 */
async function isolation(server: NatsClusterServer, reader: { nodeId: string; username: string; password: string }, other: string): Promise<string> {
  const nc = await connect({
    servers: `127.0.0.1:${server.handle.port}`,
    user: reader.username,
    pass: reader.password,
    inboxPrefix: `_INBOX_${reader.nodeId}`,
    reconnect: false,
  })
  try {
    const kv = await nc.jetstream({ checkAPI: false, timeout: 10_000 }).views.kv(BUCKET, { bindOnly: true })
    let own: Awaited<ReturnType<typeof kv.watch>> | null = null
    for (let attempt = 1; own === null; attempt++) {
      try {
        own = await kv.watch({ key: reader.nodeId })
      } catch (error) {
        if ((error as { code?: string }).code !== 'TIMEOUT' || attempt === 6) throw error
        await new Promise((resolve) => setTimeout(resolve, 5_000))
      }
    }
    for await (const entry of own) {
      if (entry.operation !== 'PUT') return `${reader.nodeId} read no document of its own on ${server.name}`
      break
    }
    return await kv.get(other).then(
      () => `${reader.nodeId} read ${other}'s key on ${server.name}`,
      (error: Error) => (/Permissions Violation/.test(error.message) ? 'refused' : `unexpected error on ${server.name}: ${error.message}`),
    )
  } finally {
    await nc.close()
  }
}

async function everyLiveServerRefuses(t: Test, cluster: NatsCluster, reader: { nodeId: string; username: string; password: string }, other: string) {
  for (const server of cluster.servers) {
    if (server.handle.pid === undefined) continue
    t.equal(await isolation(server, reader, other), 'refused', `on ${server.name}, B reads its own document and not A's`)
  }
}

t.test('a 3-server NATS cluster loses a server twice: applies, statuses, enrollment and isolation go on', async (t) => {
  const image = testImage()
  const dir = tempDir(t, 'nats-cluster')
  const dataDir = path.join(dir, 'hub')
  const authDir = path.join(dir, 'broker-auth')

  // The operator's part (docs/brokers.md): the include once, then every server's config beside it.
  await writeBrokerConfig(dataDir, 'nats', authDir)
  const cluster = await startNatsCluster(t, { dir, includeFile: 'broker-auth/nats-authorization.conf' })
  const hub = await startHubProcess(t, {
    dataDir,
    args: [
      '--nats-url',
      cluster.url,
      '--nats-replicas',
      '3',
      '--broker-auth-dir',
      authDir,
      ...cluster.servers.flatMap((s) => ['--broker-reload-pid', s.pidFile]),
    ],
  })
  t.match(hub.log(), /"confirmed":true[^\n]*broker configuration written and reloaded/, 'the hub rewrote the include, signalled all three and saw the reload')
  t.match(hub.log(), /"signalled":\[\d+,\d+,\d+\]/, 'each of the three servers was signalled')

  const { token } = await hub.api<{ token: string }>('POST', '/api/v1/tokens', { maxUses: 3 })
  const nodeA = uniqueNodeId('a')
  const nodeB = uniqueNodeId('b')
  // A 10 s heartbeat: the keepalive period is then 30 s, and so is the desired watch's idle
  // heartbeat on a cluster, so a watch whose consumer died with the stream's leader is made anew
  // within about a minute (two missed beats) rather than two at the shipped 30 s heartbeat.
  const agentArgs = [
    '--profile',
    'generic-amd64',
    '--profiles-dir',
    profilesDirEdited(t, 'generic-amd64', (yaml) => yaml.replace(/^  heartbeatInterval: .*$/m, '  heartbeatInterval: 10s')),
  ]
  const a = await enrollAgent(t, hub, { nodeId: nodeA, dataDir: path.join(dir, 'a', 'data'), token, labels: { site: 'east' }, extraArgs: agentArgs })
  const b = await enrollAgent(t, hub, { nodeId: nodeB, dataDir: path.join(dir, 'b', 'data'), token, labels: { site: 'west' }, extraArgs: agentArgs })
  t.equal(agentCredentials(a).brokerUrl, cluster.url, "enrollment handed out every server of the cluster (the hub's list)")

  const apply = async (name: string): Promise<void> => {
    await hub.api('POST', '/api/v1/manifests', JSON.stringify(sleeperManifest(name, image, { mode: 'every-node' })), 'application/yaml')
  }
  const applied: string[] = []
  const reachesEveryone = async (name: string): Promise<void> => {
    await apply(name)
    applied.push(name)
    await Promise.all([waitForRunning(nodeA, applied, 150_000), waitForRunning(nodeB, applied, 150_000)])
    await Promise.all([waitForHubStatus(hub, nodeA, applied), waitForHubStatus(hub, nodeB, applied)])
    await Promise.all([waitForDrainedOutbox(a), waitForDrainedOutbox(b)])
  }

  await reachesEveryone('first')
  const replicas = await waitFor(async () => cluster.streamReplicas(STREAM), { what: 'the bucket stream to report its replicas', timeoutMs: 30_000 })
  t.equal(replicas, 3, 'the desired-state bucket is kept on three servers')
  const credsB = agentCredentials(b)
  await everyLiveServerRefuses(t, cluster, credsB, nodeA)

  await t.test('SIGKILL the leader of the bucket stream', async (t) => {
    const leader = cluster.byName(await waitFor(() => cluster.streamLeader(STREAM), { what: 'the bucket stream to have a leader', timeoutMs: 30_000 }))
    await leader.handle.kill('SIGKILL')
    t.comment(`killed ${leader.name}, the leader of ${STREAM}`)
    await reachesEveryone('second')
    t.pass('an apply after the kill reached both agents; their statuses reached the hub and their outboxes drained')
    await everyLiveServerRefuses(t, cluster, credsB, nodeA)

    // Enrollment rewrites the include and signals the servers with one of them down: the two
    // that answer must take the new user, the dead one reads the file when it starts again.
    const nodeC = uniqueNodeId('c')
    const c = await enrollAgent(t, hub, { nodeId: nodeC, dataDir: path.join(dir, 'c', 'data'), token, labels: { site: 'north' }, extraArgs: agentArgs })
    await waitForRunning(nodeC, applied, 90_000)
    await waitForHubStatus(hub, nodeC, applied)
    t.match(hub.log(), new RegExp(`"reason":"enrolled ${nodeC}"[^\\n]*"confirmed":true`), 'the reload with one server down was confirmed by the live two')
    await c.stop()

    await leader.handle.start()
    await cluster.metaLeader()
    await waitFor(() => cluster.streamCurrent(STREAM), { what: `${leader.name} to catch up with the bucket stream`, timeoutMs: 60_000 })
    t.equal(
      await isolation(leader, agentCredentials(c), nodeA),
      'refused',
      `${leader.name}, restarted, knows the node enrolled while it was down, and its rights`,
    )
  })

  await t.test('SIGKILL the server agent A is connected to', async (t) => {
    // Three live servers first (the step above restarts the one it killed, unless it failed
    // early): killing a second while one is down would take JetStream's quorum away.
    for (const server of cluster.servers) if (server.handle.pid === undefined) await server.handle.start()
    await cluster.metaLeader()
    await waitFor(() => cluster.streamCurrent(STREAM), { what: 'every server to hold the bucket stream, current', timeoutMs: 60_000 })
    const server = await waitFor(() => cluster.serverOf(`shoal-agent-${nodeA}`), { what: 'agent A to be connected', timeoutMs: 30_000 })
    await server.handle.kill('SIGKILL')
    t.comment(`killed ${server.name}, agent A's server`)
    await reachesEveryone('third')
    t.pass("an apply after the kill of A's server reached both agents; statuses and acks went on")
    const moved = await waitFor(() => cluster.serverOf(`shoal-agent-${nodeA}`), { what: 'agent A to reconnect', timeoutMs: 30_000 })
    t.not(moved.name, server.name, `agent A failed over to ${moved.name}`)
    await everyLiveServerRefuses(t, cluster, credsB, nodeA)
  })
})

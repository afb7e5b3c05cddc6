// Chaos: a power cut on a node while its hub is down too. The hub (and its embedded broker) and
// the agent are SIGKILLed, every container of the node is removed (an engine whose state was
// lost), and the agent boots again with nothing to talk to: it must bring its workloads back from
// its SQLite store alone. When the hub returns, the node reports in, every record reaches the
// hub once, and a revision applied then still rolls out. Prints its figures.
import t from 'tap'
import { dockerClient, removeContainersByLabel, testImage, waitFor } from '../support/index.js'
import { uniqueNodeId } from '../support/agent-process.js'
import { everyNodeSleeperYaml, manifestsYaml, startHubAgent, startHubProcess } from '../support/hub-process.js'

t.setTimeout(300_000)

t.test('an offline reboot with the hub down: workloads back from SQLite alone, then the hub hears everything once', async (t) => {
  const image = testImage()
  const hub = await startHubProcess(t)
  const fleet = uniqueNodeId('boot')
  const agent = await startHubAgent(t, hub, { name: uniqueNodeId('boot'), labels: { fleet } })
  const nodeId = agent.nodeId
  const names = ['one', 'two'].map((n) => `${n}-${fleet}`.slice(0, 63))
  const apply = async (round: number): Promise<number> => {
    const documents = names.map((name) => everyNodeSleeperYaml(name, fleet, image, round))
    return (await hub.apply(manifestsYaml(...documents))).results[0].revision as number
  }
  const runningIds = async (revision: number): Promise<string[] | undefined> => {
    const found = await dockerClient().listContainers({ filters: { label: [`io.shoal.node=${nodeId}`] } })
    const ids = names.map((name) =>
      found.filter((c) => c.Labels['io.shoal.workload'] === name && c.State === 'running' && Number(c.Labels['io.shoal.revision']) === revision),
    )
    return ids.every((list) => list.length === 1) ? ids.map((list) => list[0]?.Id ?? '') : undefined
  }

  const first = await apply(0)
  const before = await waitFor(() => runningIds(first), { what: 'both workloads running', timeoutMs: 90_000, intervalMs: 250 })
  await waitFor(async () => (await agent.status()).outbox.records === 0, { what: 'the outbox to drain before the cut', timeoutMs: 60_000 })

  // The power cut: hub and agent die, the engine forgets the node's containers.
  await hub.kill('SIGKILL')
  await agent.kill('SIGKILL')
  await removeContainersByLabel(`io.shoal.node=${nodeId}`)
  t.same(await dockerClient().listContainers({ all: true, filters: { label: [`io.shoal.node=${nodeId}`] } }), [], 'no container of the node is left')

  const bootAt = Date.now()
  await agent.start()
  const after = await waitFor(() => runningIds(first), { what: 'the agent to bring both workloads back with no hub', timeoutMs: 90_000, intervalMs: 250 })
  const backFromSqliteMs = Date.now() - bootAt
  t.notSame(after, before, 'new containers, made from the stored desired state')
  t.ok((await agent.status()).outbox.records > 0, 'what it did while alone is queued for the hub')

  const hubBackAt = Date.now()
  await hub.start()
  await waitFor(async () => (await hub.nodes()).find((n: { id: string }) => n.id === nodeId)?.online === true || undefined, {
    what: 'the node online at the hub again',
    timeoutMs: 120_000,
    intervalMs: 100,
  })
  const onlineAfterMs = Date.now() - hubBackAt
  await waitFor(async () => (await agent.status()).outbox.records === 0, { what: 'the outbox to drain to the returned hub', timeoutMs: 120_000 })
  const drainedAfterMs = Date.now() - hubBackAt
  // What it did alone, as the hub now knows it: the containers it made from SQLite.
  const reported = async () => {
    const detail = (await hub.api<{ workloadStatus: Array<{ name: string; containerId?: string }> }>('GET', `/api/v1/nodes/${nodeId}`)).body
    const ids = names.map((name) => detail.workloadStatus.find((w) => w.name === name)?.containerId)
    return ids.every((id, i) => id === after[i]) || undefined
  }
  await waitFor(reported, { what: 'the hub to know the containers the agent made while alone', timeoutMs: 30_000 })
  const statusAfterMs = Date.now() - hubBackAt
  t.pass('the hub shows the containers the agent made while alone')
  const second = await apply(1)
  await waitFor(() => runningIds(second), { what: 'a revision applied after the return to roll out', timeoutMs: 90_000, intervalMs: 250 })

  const events = (await hub.events(nodeId)).filter((e) => e.seq !== null)
  const seqs = events.map((e) => e.seq as number)
  t.equal(new Set(seqs).size, seqs.length, 'no record stored twice at the hub')
  t.comment(`figures: ${JSON.stringify({ backFromSqliteMs, onlineAfterMs, drainedAfterMs, statusAfterMs })}`)
})

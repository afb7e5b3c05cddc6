// Chaos: a network partition between a running hub and a running agent, made in a network
// namespace this test creates (a veth pair: the hub listens on the root side's address, the agent
// runs inside the namespace). Taking the link down drops every packet without either process
// exiting or any socket being closed; both must notice on their own (MQTT keepalive), the agent
// must keep its workload running and queue what it reports, and when the link comes back both
// sides converge: the revision applied during the partition runs, the outbox drains, and every
// record reaches the hub once. Prints its figures.
import { execFileSync } from 'node:child_process'
import { randomInt } from 'node:crypto'
import t from 'tap'
import { crashContainer, dockerClient, testImage, waitFor } from '../support/index.js'
import { uniqueNodeId } from '../support/agent-process.js'
import { everyNodeSleeperYaml, manifestsYaml, startHubAgent, startHubProcess } from '../support/hub-process.js'

t.setTimeout(360_000)

const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] })

/** A namespace joined to the root one by a veth pair on a random /30 of 10.254.0.0/16; removed at teardown. */
function makePartitionableLink(tap: { teardown(fn: () => void): void }): { netns: string; hubAddress: string; down: () => void; up: () => void } {
  const tag = `${process.pid.toString(36)}${randomInt(36 ** 3).toString(36)}`.slice(-6)
  const netns = `shoal-part-${tag}`
  const hostSide = `shp${tag}h`
  const nsSide = `shp${tag}n`
  const block = randomInt(16_384) * 4
  const subnet = (host: number) => `10.254.${Math.floor(block / 256)}.${(block % 256) + host}`
  tap.teardown(() => {
    for (const args of [
      ['netns', 'del', netns],
      ['link', 'del', hostSide],
    ]) {
      try {
        ip(...args)
      } catch {
        // already gone (deleting the namespace takes the pair with it)
      }
    }
  })
  ip('netns', 'add', netns)
  ip('link', 'add', hostSide, 'type', 'veth', 'peer', 'name', nsSide)
  ip('link', 'set', nsSide, 'netns', netns)
  ip('addr', 'add', `${subnet(1)}/30`, 'dev', hostSide)
  ip('link', 'set', hostSide, 'up')
  ip('netns', 'exec', netns, 'ip', 'addr', 'add', `${subnet(2)}/30`, 'dev', nsSide)
  ip('netns', 'exec', netns, 'ip', 'link', 'set', nsSide, 'up')
  ip('netns', 'exec', netns, 'ip', 'link', 'set', 'lo', 'up')
  return { netns, hubAddress: subnet(1), down: () => ip('link', 'set', hostSide, 'down'), up: () => ip('link', 'set', hostSide, 'up') }
}

t.test('a partition in a network namespace: both sides notice, nothing is lost, both converge after', async (t) => {
  const link = makePartitionableLink(t)
  const image = testImage()
  const hub = await startHubProcess(t, { host: link.hubAddress })
  const fleet = uniqueNodeId('part')
  const agent = await startHubAgent(t, hub, { name: uniqueNodeId('part'), labels: { fleet }, netns: link.netns })
  const nodeId = agent.nodeId
  const name = `keep-${fleet}`.slice(0, 63)
  const apply = async (round: number): Promise<number> => {
    const applied = await hub.apply(manifestsYaml(everyNodeSleeperYaml(name, fleet, image, round)))
    return applied.results[0].revision as number
  }
  const running = async (revision?: number) => {
    const found = await dockerClient().listContainers({ filters: { label: [`io.shoal.node=${nodeId}`, `io.shoal.workload=${name}`] } })
    return found.filter((c) => c.State === 'running' && (revision === undefined || Number(c.Labels['io.shoal.revision']) === revision))
  }
  const onlineAtHub = async (): Promise<boolean> => {
    const node = (await hub.nodes()).find((n: { id: string }) => n.id === nodeId)
    if (!node) throw new Error(`the hub does not list node ${nodeId}`)
    return node.online === true
  }
  const online = async () => (await onlineAtHub()) || undefined

  const first = await apply(0)
  await waitFor(async () => (await running(first)).length === 1 || undefined, { what: 'the first revision running', timeoutMs: 90_000, intervalMs: 250 })
  await waitFor(async () => (await agent.status()).outbox.records === 0, { what: 'the outbox to drain before the partition', timeoutMs: 60_000 })
  const linkDownBefore = agent.logLines('hub link down; working from the local store').length

  const partitionedAt = Date.now()
  link.down()
  t.ok(hub.alive && agent.alive, 'both processes keep running with the link down')

  // While partitioned: the workload dies and the agent restarts it (events queue in the outbox),
  // and the operator applies a new revision (it waits at the hub).
  const [victim] = await running(first)
  const restarted = await crashContainer(victim?.Id ?? '')
  await waitFor(async () => (await agent.status()).outbox.records > 0 || undefined, { what: 'the agent to queue what it saw while cut off', timeoutMs: 30_000 })
  // The agent starts the same container again after its restart backoff.
  await waitFor(async () => (await restarted()) || undefined, {
    what: 'the agent to restart its workload from its own store',
    timeoutMs: 60_000,
    intervalMs: 250,
  })
  const second = await apply(1)
  await waitFor(() => agent.logLines('hub link down; working from the local store').length > linkDownBefore || undefined, {
    what: 'the agent to notice the dead link (keepalive)',
    timeoutMs: 120_000,
    intervalMs: 250,
  })
  const agentNoticedMs = Date.now() - partitionedAt
  await waitFor(async () => !(await onlineAtHub()) || undefined, { what: 'the hub to mark the node offline (keepalive)', timeoutMs: 120_000, intervalMs: 250 })
  const hubNoticedMs = Date.now() - partitionedAt
  t.equal((await running(second)).length, 0, 'the revision applied during the partition has not reached the node')
  t.equal((await running(first)).length, 1, 'the node still runs its last revision')
  const queued = (await agent.status()).outbox.records
  t.ok(hub.alive && agent.alive, 'neither process exited while partitioned')

  const healedAt = Date.now()
  link.up()
  await waitFor(online, { what: 'the node online again at the hub', timeoutMs: 120_000, intervalMs: 100 })
  const onlineAfterMs = Date.now() - healedAt
  await waitFor(async () => (await running(second)).length === 1 || undefined, {
    what: 'the revision applied during the partition to run',
    timeoutMs: 120_000,
    intervalMs: 250,
  })
  const convergedAfterMs = Date.now() - healedAt
  await waitFor(async () => (await agent.status()).outbox.records === 0, { what: 'the outbox to drain after the partition', timeoutMs: 60_000 })
  const drainedAfterMs = Date.now() - healedAt

  const events = (await hub.events(nodeId)).filter((e) => e.seq !== null)
  const seqs = events.map((e) => e.seq as number)
  t.equal(new Set(seqs).size, seqs.length, 'no record stored twice at the hub')
  // `at` is the agent's clock (the same machine's here), `receivedAt` the hub's.
  const duringPartition = events.filter((e) => e.type === 'WorkloadStateChanged' && Date.parse(e.at) >= partitionedAt && Date.parse(e.at) < healedAt)
  t.ok(duringPartition.length > 0, 'what the agent saw while cut off (the workload dying and restarting) reached the hub')
  const receivedBeforeHeal = duringPartition.filter((e) => Date.parse((e as unknown as { receivedAt: string }).receivedAt) < healedAt)
  t.same(receivedBeforeHeal, [], 'and it arrived only after the link came back: queued, not lost')
  t.equal((await running()).length, 1, 'one copy of the workload, never two')
  t.comment(
    `figures: ${JSON.stringify({ agentNoticedMs, hubNoticedMs, recordsQueued: queued, onlineAfterMs, convergedAfterMs, drainedAfterMs, eventsFromPartition: duringPartition.length })}`,
  )
})

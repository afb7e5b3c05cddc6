// A node offline past a deployment's grace period: its replicated workload moves to another
// matching node, its every-node workload waits for it, and when its agent returns the surplus
// copy is removed so that exactly one copy runs fleet-wide. Real hub, embedded broker, three
// real agents and Docker; the agent is SIGKILLed, so the broker sees the connection die.
import t from 'tap'
import { testImage, waitFor } from '../support/index.js'
import { nodeContainers, uniqueNodeId, waitForRunning } from '../support/agent-process.js'
import { deploymentContainers, deploymentYaml, manifestsYaml, sleepTemplate, startHubAgent, startHubProcess } from '../support/hub-process.js'

t.setTimeout(150_000)

t.test('replicas move after the offline grace; every-node copies wait; the return removes the surplus', async (t) => {
  const image = testImage()
  const hub = await startHubProcess(t)
  const fleet = uniqueNodeId('grace')
  const token = await hub.createJoinToken({ maxUses: 3, labels: { fleet } })
  const agents = await Promise.all([
    startHubAgent(t, hub, { name: uniqueNodeId('p'), token, labels: { pool: 'yes' } }),
    startHubAgent(t, hub, { name: uniqueNodeId('q'), token, labels: { pool: 'yes' } }),
    startHubAgent(t, hub, { name: uniqueNodeId('r'), token, labels: { pool: 'no' } }),
  ])
  const ids = agents.map((a) => a.nodeId)
  const r = agents[2]!
  await hub.apply(
    manifestsYaml(
      deploymentYaml('every', { mode: 'every-node', selector: { matchLabels: { fleet } }, template: sleepTemplate(image) }),
      deploymentYaml('solo', { replicas: 1, offlineGrace: '10s', selector: { matchLabels: { fleet, pool: 'yes' } }, template: sleepTemplate(image) }),
    ),
  )
  const first = (await hub.deployment('solo')).placements as Array<{ nodeId: string }>
  t.equal(first.length, 1, 'one replica placed')
  const holder = agents.find((a) => a.nodeId === first[0]?.nodeId)!
  const other = agents.find((a) => a !== holder && a !== r)!
  t.ok(holder && other && holder !== r, `solo is on a pool node (${holder.nodeId})`)
  const holderBefore = await waitForRunning(holder.nodeId, ['every', 'solo'], 90_000)
  await Promise.all([waitForRunning(other.nodeId, ['every'], 90_000), waitForRunning(r.nodeId, ['every'], 90_000)])

  await t.test('SIGKILL the holder: after the grace the replica runs on the other pool node', async (t) => {
    const exit = await holder.kill('SIGKILL')
    t.equal(exit.signal, 'SIGKILL')
    const offline = await waitFor(
      async () => {
        const node = await hub.node(holder.nodeId)
        return node.online === false && node.offlineSince ? (node.offlineSince as string) : undefined
      },
      { what: 'the hub to see the holder offline', timeoutMs: 20_000, intervalMs: 200 },
    )
    const onOther = await waitForRunning(other.nodeId, ['every', 'solo'], 90_000)
    t.ok(onOther.get('solo'), `solo now runs on ${other.nodeId}`)
    const solo = await hub.deployment('solo')
    t.same(
      solo.placements.map((p: any) => p.nodeId),
      [other.nodeId],
      'the hub placed the replica on the other pool node',
    )
    const movedAt = Date.parse(solo.placements[0].since as string)
    t.ok(
      movedAt - Date.parse(offline) >= 10_000,
      `moved ${movedAt - Date.parse(offline)} ms after the node went offline (hub clock): not before the 10 s grace`,
    )
    const every = await hub.deployment('every')
    t.same(every.placements.map((p: any) => p.nodeId).sort(), [...ids].sort(), 'the every-node copy stays placed on the dead node')
    t.match(every.why, /1 on an offline node/, `why: ${every.why}`)
    t.same(
      (await nodeContainers(r.nodeId)).map((c) => c.workload),
      ['every'],
      'the non-matching node never got the replica',
    )
    // The dead agent's containers keep running under Docker's restart policy: a surplus copy exists.
    const stale = await nodeContainers(holder.nodeId)
    t.same(stale.map((c) => c.workload).sort(), ['every', 'solo'], 'the old copy is still on the dead node')
  })

  await t.test('the holder returns: its surplus copy is removed, nothing is duplicated', async (t) => {
    await holder.start()
    await waitFor(async () => (await hub.node(holder.nodeId)).online, { what: 'the holder online again', timeoutMs: 30_000 })
    const after = await waitForRunning(holder.nodeId, ['every'], 60_000)
    t.equal(after.get('every')?.id, holderBefore.get('every')?.id, 'its every-node container was adopted, not recreated')
    const solo = await deploymentContainers('solo', ids)
    t.same(
      solo.map((c) => [c.node, c.state]),
      [[other.nodeId, 'running']],
      'exactly one solo container fleet-wide',
    )
    t.equal((await deploymentContainers('every', ids)).length, 3, 'one every-node container per node')
    t.same(
      (await hub.deployment('solo')).placements.map((p: any) => p.nodeId),
      [other.nodeId],
      'no churn: the replica stays where it moved',
    )
    await waitFor(
      async () => {
        const [s, e] = [await hub.deployment('solo'), await hub.deployment('every')]
        return s.ready === 1 && e.ready === 3 && e.pending === 0
      },
      { what: 'solo 1/1 and every 3/3 ready', timeoutMs: 60_000, intervalMs: 500 },
    )
    const removed = await waitFor(
      async () => {
        const list = (await hub.events(holder.nodeId)).filter((e) => e.type === 'WorkloadRemoved' && e.workload === 'solo')
        return list.length > 0 ? list : undefined
      },
      { what: "the holder's WorkloadRemoved event for solo at the hub", timeoutMs: 30_000, intervalMs: 250 },
    )
    t.equal(removed.length, 1, 'the holder reported removing its surplus copy, once')
  })
})

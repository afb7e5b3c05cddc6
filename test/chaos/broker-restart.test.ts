// Chaos: the external broker (Mosquitto without persistence, nats-server with JetStream) crashes
// (SIGKILL) while a hub and two agents run, again and again. While it is down a workload dies and
// the operator applies a new revision; when it is back, both nodes run that revision, every
// outbox drains, and every record reaches the hub once. The embedded broker restarts with the
// hub, which hub-sigkill-apply covers. Prints its figures.
import t from 'tap'
import { crashContainer, dockerClient, startMosquitto, startNats, testImage, waitFor } from '../support/index.js'
import { uniqueNodeId } from '../support/agent-process.js'
import { everyNodeSleeperYaml, manifestsYaml, startHubAgent, startHubProcess } from '../support/hub-process.js'

t.setTimeout(600_000)

const ROUNDS = 2

for (const kind of ['mosquitto', 'nats'] as const) {
  t.test(`${kind} crashes ${ROUNDS} times under a running fleet: nothing lost, nothing twice, the fleet converges`, async (t) => {
    const image = testImage()
    const broker = kind === 'mosquitto' ? await startMosquitto(t) : await startNats(t)
    const hub = await startHubProcess(t, { extraArgs: [kind === 'mosquitto' ? '--mqtt-url' : '--nats-url', broker.url] })
    const fleet = uniqueNodeId(kind.slice(0, 4))
    // One after another: each agent's start-up inventory is CPU-heavy on a small machine.
    const agents = [await startHubAgent(t, hub, { name: uniqueNodeId(`${kind.slice(0, 4)}a`), labels: { fleet } })]
    agents.push(await startHubAgent(t, hub, { name: uniqueNodeId(`${kind.slice(0, 4)}b`), labels: { fleet } }))
    const name = `keep-${fleet}`.slice(0, 63)
    const apply = async (round: number): Promise<number> => {
      const applied = await hub.apply(manifestsYaml(everyNodeSleeperYaml(name, fleet, image, round)))
      return applied.results[0].revision as number
    }
    const running = async (nodeId: string, revision: number) => {
      const found = await dockerClient().listContainers({ filters: { label: [`io.shoal.node=${nodeId}`, `io.shoal.workload=${name}`] } })
      return found.filter((c) => c.State === 'running' && Number(c.Labels['io.shoal.revision']) === revision)
    }
    const converged = async (revision: number) => {
      for (const agent of agents) if ((await running(agent.nodeId, revision)).length !== 1) return undefined
      return true
    }
    const drained = async () => {
      for (const agent of agents) if ((await agent.status()).outbox.records !== 0) return undefined
      return true
    }

    const first = await apply(0)
    await waitFor(() => converged(first), { what: 'the first revision on both nodes', timeoutMs: 90_000, intervalMs: 250 })
    const figures: Array<{ round: number; convergedAfterMs: number; drainedAfterMs: number; queuedWhileDown: number }> = []
    let revision = first
    for (let round = 1; round <= ROUNDS; round++) {
      await broker.kill('SIGKILL')
      // While the broker is down: a workload dies on node a (the agent restarts it and queues
      // what it saw), and a new revision is applied (the hub must publish it once the broker is back).
      const [victim] = await running(agents[0]?.nodeId ?? '', revision)
      const restarted = await crashContainer(victim?.Id ?? '')
      await waitFor(async () => (await restarted()) || undefined, {
        what: `round ${round}: the agent to restart its workload with the broker down`,
        timeoutMs: 60_000,
        intervalMs: 250,
      })
      const queuedWhileDown = (await agents[0]?.status())?.outbox.records ?? 0
      t.ok(queuedWhileDown > 0, `round ${round}: the agent queued what it saw while the broker was down`)
      revision = await apply(round)
      t.ok(hub.alive && agents.every((a) => a.alive), `round ${round}: hub and agents outlive the broker`)

      const backAt = Date.now()
      await broker.start()
      await waitFor(() => converged(revision), {
        what: `round ${round}: revision ${revision} on both nodes after the broker came back`,
        timeoutMs: 120_000,
        intervalMs: 250,
      })
      const convergedAfterMs = Date.now() - backAt
      await waitFor(drained, { what: `round ${round}: every outbox drained`, timeoutMs: 120_000, intervalMs: 250 })
      figures.push({ round, convergedAfterMs, drainedAfterMs: Date.now() - backAt, queuedWhileDown })
    }

    for (const agent of agents) {
      const seqs = (await hub.events(agent.nodeId)).filter((e) => e.seq !== null).map((e) => e.seq as number)
      t.equal(new Set(seqs).size, seqs.length, `${agent.nodeId}: no record stored twice at the hub`)
    }
    const states = (await hub.events(agents[0]?.nodeId)).filter((e) => e.type === 'WorkloadStateChanged' && e.data?.exitCode === 137)
    t.ok(states.length >= ROUNDS, `every death while the broker was down reached the hub (${states.length} events)`)
    t.comment(`figures (${kind}): ${JSON.stringify(figures)}`)
  })
}

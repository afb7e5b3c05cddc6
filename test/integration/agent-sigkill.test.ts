// SIGKILL the agent process in the middle of reconciling, at several points, and start it
// again on the same data directory: it must converge with exactly one container per
// workload, and adopt the containers it finds (same container id) instead of recreating
// the workloads whose config did not change.
import path from 'node:path'
import t from 'tap'
import { dockerClient, pushImage, freePort, startMosquitto, tempDir, testImage, testRegistry, waitFor } from '../support/index.js'
import {
  fetchText,
  httpdWorkload,
  nodeContainers,
  startAgentProcess,
  uniqueNodeId,
  waitForRunning,
  type AgentProcess,
  type NodeContainer,
} from '../support/agent-process.js'
import { startMqttHubDouble, type WorkloadInput } from '../support/hub-double.js'

t.setTimeout(150_000)

/** Polls `condition` tightly and SIGKILLs the agent the moment it holds; resolves to what the condition returned. */
async function killWhen<T>(agent: AgentProcess, what: string, condition: () => T | Promise<T>): Promise<NonNullable<T>> {
  const seen = await waitFor(condition, { what, timeoutMs: 60_000, intervalMs: 10 })
  const exit = await agent.kill('SIGKILL')
  if (exit.signal !== 'SIGKILL') throw new Error(`the agent ended on its own before the kill: ${JSON.stringify(exit)}`)
  return seen
}

const summary = (containers: readonly NodeContainer[]): string =>
  containers
    .map((c) => `${c.workload}:${c.state}`)
    .sort()
    .join(', ') || 'no containers'

t.test('converges and adopts after SIGKILL mid-reconcile', async (t) => {
  const image = testImage()
  const nodeId = uniqueNodeId('kill')
  const broker = await startMosquitto(t)
  const hub = await startMqttHubDouble(t, broker.url)
  const dir = tempDir(t, 'agent-kill')
  const docker = dockerClient()

  // A private tag in the loopback registry, absent locally: the agent's first pass must pull it.
  const repo = `${testRegistry()}/shoal-test/kill-${nodeId}`
  const pulled = `${repo}:1`
  await docker.getImage(image).tag({ repo, tag: '1' })
  t.teardown(() =>
    docker
      .getImage(pulled)
      .remove({ force: true })
      .catch(() => undefined),
  )
  t.notOk(await pushImage(pulled, testRegistry()), 'the image was pushed')
  await docker.getImage(pulled).remove()

  const [portA, portB, portC] = [await freePort(), await freePort(), await freePort()]
  // b and c run httpd as PID 1, which ignores SIGTERM: stopping them takes the agent's whole
  // stop timeout, a wide window to kill the agent in the middle of a recreate.
  const a = (): WorkloadInput => httpdWorkload('a-pulled', portA, image, { image: pulled })
  const b = (env?: Record<string, string>): WorkloadInput => httpdWorkload('b-slow-stop', portB, image, { fastStop: false, ...(env ? { env } : {}) })
  const c = (env?: Record<string, string>): WorkloadInput => httpdWorkload('c-slow-stop', portC, image, { fastStop: false, ...(env ? { env } : {}) })
  const names = ['a-pulled', 'b-slow-stop', 'c-slow-stop']

  const agent = await startAgentProcess(t, { nodeId, dataDir: path.join(dir, 'data'), hubUrl: broker.url, hubKey: hub.publicKey })

  await t.test('killed while pulling the first image of a newly accepted document', async (t) => {
    await hub.publishDesired(nodeId, [a(), b(), c()], 1)
    await killWhen(agent, 'the agent to start pulling', () => agent.logLines('pulling image').length > 0)
    t.comment(`at the kill: ${summary(await nodeContainers(nodeId))}`)
    await agent.start()
    const running = await waitForRunning(nodeId, names)
    t.equal(running.size, 3, 'one container per workload, no duplicates')
    for (const [port, name] of [
      [portA, 'a-pulled'],
      [portB, 'b-slow-stop'],
      [portC, 'c-slow-stop'],
    ] as const) {
      t.equal(await waitFor(() => fetchText(port), { what: `${name} to serve`, timeoutMs: 15_000 }), `hello-${name}`)
    }
    t.equal((await agent.status()).generation, 1, 'the document accepted before the kill was kept')
  })

  await t.test('killed in the middle of a recreate (old container still stopping)', async (t) => {
    const before = await waitForRunning(nodeId, names)
    await hub.publishDesired(nodeId, [a(), b({ V: '2' }), c()], 2)
    await killWhen(agent, 'the agent to be stopping b', async () => {
      const recreating = agent.logLines('reconciling').some((l) => JSON.stringify(l.steps).includes('recreate b-slow-stop'))
      return recreating && (await nodeContainers(nodeId)).some((x) => x.id === before.get('b-slow-stop')?.id)
    })
    t.comment(`at the kill: ${summary(await nodeContainers(nodeId))}`)
    await agent.start()
    const after = await waitFor(
      async () => {
        const now = await waitForRunning(nodeId, names)
        return now.get('b-slow-stop')?.id !== before.get('b-slow-stop')?.id ? now : undefined
      },
      { what: 'b to be recreated after the restart', timeoutMs: 60_000 },
    )
    t.equal(after.get('a-pulled')?.id, before.get('a-pulled')?.id, 'a was adopted, not recreated')
    t.equal(after.get('c-slow-stop')?.id, before.get('c-slow-stop')?.id, 'c was adopted, not recreated')
    const env = (await docker.getContainer(after.get('b-slow-stop')?.id ?? '').inspect()).Config.Env
    t.ok(env.includes('V=2'), 'b runs the new config')
    t.equal(await waitFor(() => fetchText(portB), { what: 'b to serve', timeoutMs: 15_000 }), 'hello-b-slow-stop')
  })

  await t.test('killed right after the old container of a recreate is gone', async (t) => {
    const before = await waitForRunning(nodeId, names)
    const oldC = before.get('c-slow-stop')?.id
    await hub.publishDesired(nodeId, [a(), b({ V: '2' }), c({ V: '3' })], 3)
    await killWhen(agent, "c's old container to be removed", async () => {
      const now = await nodeContainers(nodeId)
      return agent.logLines('reconciling').some((l) => JSON.stringify(l.steps).includes('recreate c-slow-stop')) && !now.some((x) => x.id === oldC)
    })
    t.comment(`at the kill: ${summary(await nodeContainers(nodeId))}`)
    await agent.start()
    const after = await waitFor(
      async () => {
        const now = await waitForRunning(nodeId, names)
        const cId = now.get('c-slow-stop')?.id
        if (!cId || cId === oldC) return undefined
        const info = await docker.getContainer(cId).inspect()
        return info.Config.Env.includes('V=3') ? now : undefined
      },
      { what: 'c to run its new config after the restart', timeoutMs: 60_000 },
    )
    t.equal(after.get('a-pulled')?.id, before.get('a-pulled')?.id, 'a was adopted')
    t.equal(after.get('b-slow-stop')?.id, before.get('b-slow-stop')?.id, 'b was adopted')
    for (const id of [after.get('a-pulled')?.id, after.get('b-slow-stop')?.id]) {
      t.equal((await docker.getContainer(id ?? '').inspect()).RestartCount, 0, 'adopted containers were not restarted')
    }
    t.equal(await waitFor(() => fetchText(portC), { what: 'c to serve', timeoutMs: 15_000 }), 'hello-c-slow-stop')
    const status = await hub.waitForStatus(
      nodeId,
      (s) => s.observedGeneration === 3 && s.workloads.length === 3 && s.workloads.every((w) => w.state === 'running'),
      {
        what: 'generation 3 running',
        timeoutMs: 30_000,
      },
    )
    t.same(
      status.workloads.map((w) => [w.name, w.containerId]).sort(),
      names.map((n) => [n, after.get(n)?.id]),
      'the status names the adopted and new containers',
    )
  })

  t.same(hub.ledger.refused, [], 'every batch was valid')
  t.same(hub.ledger.anomalies, [], 'no record arrived out of order, across three crashes')
})

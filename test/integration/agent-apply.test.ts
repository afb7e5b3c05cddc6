// The agent daemon as a real process, against a real Mosquitto and the real Docker engine:
// a signed document becomes running containers that serve on 127.0.0.1, a change recreates
// only the workload whose config changed, a removal removes, and containers the agent does
// not own are never touched. Status records reach the hub with the right states and
// observedGeneration.
import { randomBytes } from 'node:crypto'
import path from 'node:path'
import t from 'tap'
import { dockerClient, freePort, removeContainersByLabel, startMosquitto, tempDir, testImage, testRunId, waitFor, TEST_RUN_LABEL } from '../support/index.js'
import { fetchText, httpdWorkload, nodeContainers, startAgentProcess, uniqueNodeId, waitForRunning } from '../support/agent-process.js'
import { startMqttHubDouble } from '../support/hub-double.js'

t.setTimeout(120_000)

t.test('applies, changes and removes workloads, and leaves unowned containers alone', async (t) => {
  const image = testImage()
  const nodeId = uniqueNodeId('apply')
  const otherNode = uniqueNodeId('other')
  const broker = await startMosquitto(t)
  const hub = await startMqttHubDouble(t, broker.url)
  const dir = tempDir(t, 'agent-apply')

  // Two containers the agent must never touch: one without shoal labels, one that belongs to
  // another node (even named like one of our workloads).
  const docker = dockerClient()
  const suffix = randomBytes(3).toString('hex')
  await removeContainersByLabel(t, `io.shoal.node=${otherNode}`)
  await removeContainersByLabel(t, `unowned-by=${nodeId}`)
  const unowned = await docker.createContainer({
    name: `unowned-${suffix}`,
    Image: image,
    Cmd: ['sleep', '600'],
    Labels: { [TEST_RUN_LABEL]: testRunId(), 'unowned-by': nodeId },
    HostConfig: { NetworkMode: 'host' },
  })
  await unowned.start()
  const foreign = await docker.createContainer({
    name: `foreign-${suffix}`,
    Image: image,
    Cmd: ['sleep', '600'],
    Labels: { [TEST_RUN_LABEL]: testRunId(), 'io.shoal.node': otherNode, 'io.shoal.workload': 'web-a', 'io.shoal.config-hash': 'x' },
    HostConfig: { NetworkMode: 'host' },
  })
  await foreign.start()

  const agent = await startAgentProcess(t, { nodeId, dataDir: path.join(dir, 'data'), hubUrl: broker.url, hubKey: hub.publicKey })
  const [portA, portB] = [await freePort(), await freePort()]

  await t.test('generation 1: two workloads run and serve', async (t) => {
    await hub.publishDesired(nodeId, [httpdWorkload('web-a', portA, image), httpdWorkload('web-b', portB, image)], 1)
    await waitForRunning(nodeId, ['web-a', 'web-b'])
    t.equal(await waitFor(() => fetchText(portA), { what: 'web-a to serve', timeoutMs: 15_000 }), 'hello-web-a')
    t.equal(await waitFor(() => fetchText(portB), { what: 'web-b to serve', timeoutMs: 15_000 }), 'hello-web-b')
    const status = await hub.waitForStatus(
      nodeId,
      (s) => s.observedGeneration === 1 && s.workloads.length === 2 && s.workloads.every((w) => w.state === 'running'),
      {
        what: 'generation 1 running',
      },
    )
    t.same(status.workloads.map((w) => w.name).sort(), ['web-a', 'web-b'])
    const containers = await nodeContainers(nodeId)
    for (const w of status.workloads) {
      t.equal(w.containerId, containers.find((c) => c.workload === w.name)?.id, `${w.name}: the status names its container`)
      t.equal(w.revision, 1)
    }
    t.ok(
      hub.events(nodeId, 'DesiredAccepted').some((e) => e.data?.generation === 1),
      'the hub heard that generation 1 was accepted',
    )
    for (const name of ['web-a', 'web-b']) {
      const transitions = hub.events(nodeId, 'WorkloadStateChanged').filter((e) => e.workload === name)
      t.equal(
        transitions.at(-1)?.data?.to,
        'running',
        `${name}: its transitions end in running (${transitions.map((e) => `${e.data?.from}→${e.data?.to}`).join(', ')})`,
      )
    }
    for (const c of containers) {
      t.equal(c.labels[TEST_RUN_LABEL], testRunId(), `${c.workload} carries the test-run label`)
      t.equal(c.name, `shoal-${nodeId}-${c.workload}`)
    }
  })

  const before = await waitForRunning(nodeId, ['web-a', 'web-b'])

  await t.test('generation 2: a changed env recreates only that workload', async (t) => {
    await hub.publishDesired(nodeId, [httpdWorkload('web-a', portA, image, { env: { GREETING: 'two' }, revision: 2 }), httpdWorkload('web-b', portB, image)], 2)
    const after = await waitFor(
      async () => {
        const now = await waitForRunning(nodeId, ['web-a', 'web-b'])
        return now.get('web-a')?.id !== before.get('web-a')?.id ? now : undefined
      },
      { what: 'web-a to be recreated', timeoutMs: 60_000 },
    )
    t.equal(after.get('web-b')?.id, before.get('web-b')?.id, 'web-b kept its container')
    t.not(after.get('web-a')?.configHash, before.get('web-a')?.configHash, 'web-a has a new config hash')
    const env = (await docker.getContainer(after.get('web-a')?.id ?? '').inspect()).Config.Env
    t.ok(env.includes('GREETING=two'), 'the new container has the new env')
    t.equal(await waitFor(() => fetchText(portA), { what: 'web-a to serve again', timeoutMs: 15_000 }), 'hello-web-a')
    t.equal(await fetchText(portB), 'hello-web-b')
    const status = await hub.waitForStatus(
      nodeId,
      (s) =>
        s.observedGeneration === 2 && s.workloads.length === 2 && s.workloads.every((w) => w.state === 'running' && w.containerId === after.get(w.name)?.id),
      { what: 'generation 2 running with the new container' },
    )
    t.equal(status.workloads.find((w) => w.name === 'web-a')?.revision, 2)
    t.equal(status.workloads.find((w) => w.name === 'web-b')?.revision, 1)
  })

  const beforeRemoval = await waitForRunning(nodeId, ['web-a', 'web-b'])

  await t.test('generation 3: a workload left out of the document is removed', async (t) => {
    const seq = hub.lastSeq(nodeId)
    await hub.publishDesired(nodeId, [httpdWorkload('web-a', portA, image, { env: { GREETING: 'two' }, revision: 2 })], 3)
    const after = await waitForRunning(nodeId, ['web-a'])
    t.equal(after.get('web-a')?.id, beforeRemoval.get('web-a')?.id, 'web-a was not touched')
    await waitFor(async () => (await docker.listContainers({ all: true, filters: { id: [beforeRemoval.get('web-b')?.id ?? ''] } })).length === 0, {
      what: 'web-b container to be gone',
    })
    await waitFor(
      () =>
        fetchText(portB).then(
          () => false,
          () => true,
        ),
      { what: 'web-b to stop serving' },
    )
    await hub.waitForEvent(nodeId, 'WorkloadRemoved', (e) => e.workload === 'web-b', { afterSeq: seq })
    const status = await hub.waitForStatus(nodeId, (s) => s.observedGeneration === 3 && s.workloads.length === 1, { what: 'generation 3 status' })
    t.same(
      status.workloads.map((w) => [w.name, w.state]),
      [['web-a', 'running']],
    )
    const report = await agent.status()
    t.equal(report.generation, 3, 'agent status shows generation 3')
    t.same(
      report.workloads.map((w) => [w.name, w.state]),
      [['web-a', 'running']],
    )
  })

  await t.test('containers the agent does not own were never touched', async (t) => {
    for (const [what, container] of [
      ['unlabelled', unowned],
      ["another node's", foreign],
    ] as const) {
      const info = await container.inspect()
      t.equal(info.State.Status, 'running', `the ${what} container still runs`)
      t.equal(info.RestartCount, 0, `the ${what} container was never restarted`)
    }
  })

  t.equal(hub.ledger.refused.length, 0, `every batch was a valid OutboxBatch: ${JSON.stringify(hub.ledger.refused)}`)
  t.same(hub.ledger.anomalies, [], 'records arrived in seq order')
  t.ok(agent.alive, 'the agent is still running')
  t.same(await agent.stop(), { code: 0, signal: null }, 'SIGTERM stops it cleanly')
  const left = await waitForRunning(nodeId, ['web-a'])
  t.equal(left.size, 1, 'containers keep running after the agent stopped')
})

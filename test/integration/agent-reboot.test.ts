// A reboot, simulated: the agent stops, every container of its node disappears (as after a
// power cut on a device whose engine state was lost), and the agent starts again with no
// broker reachable. It must bring the workloads back from its SQLite store alone, and tell the
// hub about it once the broker is back.
import path from 'node:path'
import t from 'tap'
import { freePort, removeContainersByLabel, startMosquitto, tempDir, testImage, waitFor } from '../support/index.js'
import { fetchText, httpdWorkload, nodeContainers, startAgentProcess, uniqueNodeId, waitForRunning } from '../support/agent-process.js'
import { startMqttHubDouble } from '../support/hub-double.js'

t.setTimeout(120_000)

t.test('recreates its workloads from SQLite alone after a reboot with no network', async (t) => {
  const image = testImage()
  const nodeId = uniqueNodeId('reboot')
  const broker = await startMosquitto(t)
  const hub = await startMqttHubDouble(t, broker.url)
  const dir = tempDir(t, 'agent-reboot')
  const [portA, portB] = [await freePort(), await freePort()]
  const agent = await startAgentProcess(t, { nodeId, dataDir: path.join(dir, 'data'), hubUrl: broker.url, hubKey: hub.publicKey })

  await hub.publishDesired(nodeId, [httpdWorkload('web-a', portA, image), httpdWorkload('web-b', portB, image, { env: { MODE: 'b' } })], 4)
  const before = await waitForRunning(nodeId, ['web-a', 'web-b'])
  await hub.waitForStatus(nodeId, (s) => s.observedGeneration === 4 && s.workloads.every((w) => w.state === 'running'), { what: 'generation 4 running' })

  t.same(await agent.stop(), { code: 0, signal: null }, 'the agent stops cleanly on SIGTERM')
  t.equal((await nodeContainers(nodeId)).length, 2, 'its containers outlive it')
  await broker.stop()
  t.equal(await removeContainersByLabel(`io.shoal.node=${nodeId}`), 2, 'the "reboot" took every container of the node')

  await agent.start()
  const after = await waitForRunning(nodeId, ['web-a', 'web-b'])
  t.not(after.get('web-a')?.id, before.get('web-a')?.id, 'web-a is a new container')
  t.equal(await waitFor(() => fetchText(portA), { what: 'web-a to serve', timeoutMs: 15_000 }), 'hello-web-a')
  t.equal(await waitFor(() => fetchText(portB), { what: 'web-b to serve', timeoutMs: 15_000 }), 'hello-web-b')
  t.equal(after.get('web-a')?.configHash, before.get('web-a')?.configHash, 'recreated with the same config')
  t.equal(after.get('web-b')?.configHash, before.get('web-b')?.configHash)
  t.equal(agent.logLines('connected to broker').length, 0, 'the agent never reached a broker')
  const report = await waitFor(
    async () => {
      const r = await agent.status()
      return r.workloads.length === 2 && r.workloads.every((w) => w.state === 'running') ? r : undefined
    },
    { what: 'agent status to show both running' },
  )
  t.equal(report.generation, 4, 'from the stored document')
  t.ok(report.outbox.records > 0, `what happened waits in the outbox (${report.outbox.records} records)`)

  await t.test('once the broker is back, the hub hears about it', async (t) => {
    const seq = hub.lastSeq(nodeId)
    await broker.start()
    const status = await hub.waitForStatus(
      nodeId,
      (s) =>
        s.observedGeneration === 4 && s.workloads.length === 2 && s.workloads.every((w) => w.state === 'running' && w.containerId === after.get(w.name)?.id),
      { what: 'the status after the reboot', timeoutMs: 90_000 },
    )
    t.ok(status, 'the hub sees both workloads running in their new containers')
    t.ok(
      hub.records(nodeId).some((r) => r.seq > seq),
      'records queued offline were delivered',
    )
    await waitFor(async () => (await agent.status()).outbox.records === 0, { what: 'the outbox to drain', timeoutMs: 30_000 })
    t.same(hub.ledger.anomalies, [])
    t.same(hub.ledger.refused, [])
  })
})

// The same apply flow over NATS: the hub puts the signed document into the JetStream KV
// bucket, the agent's KV watch delivers it, status and events come back on the outbox
// subject and the hub's acks (on the ack subject) trim the agent's outbox.
import path from 'node:path'
import t from 'tap'
import { NATS_DESIRED_BUCKET } from '../../protocol/index.js'
import { freePort, startNats, tempDir, testImage, waitFor } from '../support/index.js'
import { fetchText, httpdWorkload, startAgentProcess, uniqueNodeId, waitForRunning } from '../support/agent-process.js'
import { startNatsHubDouble } from '../support/hub-double-nats.js'

t.setTimeout(120_000)

t.test('applies a document delivered through NATS JetStream KV', async (t) => {
  const image = testImage()
  const nodeId = uniqueNodeId('nats')
  const nats = await startNats(t)
  const hub = await startNatsHubDouble(t, nats.url)
  t.equal((await hub.bucket.status()).bucket, NATS_DESIRED_BUCKET, 'the hub created the desired-state bucket')
  const dir = tempDir(t, 'agent-nats')
  const [portA, portB] = [await freePort(), await freePort()]
  const agent = await startAgentProcess(t, { nodeId, dataDir: path.join(dir, 'data'), hubUrl: nats.url, hubKey: hub.publicKey })

  await hub.publishDesired(nodeId, [httpdWorkload('web-a', portA, image)], 1)
  const first = await waitForRunning(nodeId, ['web-a'])
  t.equal(await waitFor(() => fetchText(portA), { what: 'web-a to serve', timeoutMs: 15_000 }), 'hello-web-a')
  await hub.waitForEvent(nodeId, 'DesiredAccepted', (e) => e.data?.generation === 1)
  await hub.waitForStatus(nodeId, (s) => s.observedGeneration === 1 && s.workloads.length === 1 && s.workloads[0]?.state === 'running', {
    what: 'generation 1 running',
  })

  // A later put on the same key reaches the agent through the same watch.
  await hub.publishDesired(nodeId, [httpdWorkload('web-a', portA, image), httpdWorkload('web-b', portB, image)], 2)
  const second = await waitForRunning(nodeId, ['web-a', 'web-b'])
  t.equal(second.get('web-a')?.id, first.get('web-a')?.id, 'web-a kept its container')
  t.equal(await waitFor(() => fetchText(portB), { what: 'web-b to serve', timeoutMs: 15_000 }), 'hello-web-b')
  await hub.waitForStatus(nodeId, (s) => s.observedGeneration === 2 && s.workloads.length === 2 && s.workloads.every((w) => w.state === 'running'), {
    what: 'generation 2 running',
  })

  await waitFor(async () => (await agent.status()).outbox.records === 0, { what: 'acks over NATS to trim the outbox', timeoutMs: 30_000 })
  t.pass('the outbox drained through NATS acks')
  t.same(hub.ledger.anomalies, [])
  t.same(hub.ledger.refused, [])
  t.same(await agent.stop(), { code: 0, signal: null }, 'SIGTERM stops it cleanly, NATS connection and all')
})

// The agent's SQLite file is damaged while it is down (an SD card that lost power mid-write):
// truncated, or overwritten with garbage. On start it must move the file aside (never delete
// it), keep running, keep the containers it finds while it has no document, report the reset,
// and converge (adopting those containers) once the hub publishes the node's document again.
import { openSync, readdirSync, statSync, truncateSync, writeSync, closeSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import path from 'node:path'
import t, { type Test } from 'tap'
import { freePort, startMosquitto, tempDir, testImage, waitFor } from '../support/index.js'
import { fetchText, httpdWorkload, startAgentProcess, uniqueNodeId, waitForRunning } from '../support/agent-process.js'
import { startMqttHubDouble, type MqttHubDouble } from '../support/hub-double.js'

t.setTimeout(150_000)

const broker = await startMosquitto(t)
const hub = await startMqttHubDouble(t, broker.url)
const image = testImage()

async function survivesCorruption(t: Test, hub: MqttHubDouble, damage: (dbFile: string) => void): Promise<void> {
  const nodeId = uniqueNodeId('corrupt')
  const dir = tempDir(t, 'agent-corrupt')
  const dataDir = path.join(dir, 'data')
  const dbFile = path.join(dataDir, 'agent.db')
  const [portA, portB] = [await freePort(), await freePort()]
  const workloads = [httpdWorkload('web-a', portA, image), httpdWorkload('web-b', portB, image)]
  const agent = await startAgentProcess(t, { nodeId, dataDir, hubUrl: broker.url, hubKey: hub.publicKey })

  await hub.publishDesired(nodeId, workloads, 3)
  const before = await waitForRunning(nodeId, ['web-a', 'web-b'])
  await hub.waitForStatus(nodeId, (s) => s.observedGeneration === 3 && s.workloads.every((w) => w.state === 'running'), { what: 'generation 3 running' })
  // No retained document may rescue the agent: the hub "forgets" it (resolves once the broker has it).
  const seq = hub.lastSeq(nodeId)
  await hub.clearRetainedDesired(nodeId)
  t.same(await agent.stop(), { code: 0, signal: null }, 'the agent stopped cleanly')

  damage(dbFile)
  const refused = await agent.status().then(
    () => 'no error',
    (error: Error & { stderr?: string }) => error.stderr ?? error.message,
  )
  t.match(refused, /cannot read the agent database.*moves it aside/s, '`agent status` on the damaged file says what is wrong and what happens next')
  await agent.start()
  const aside = await waitFor(() => readdirSync(dataDir).find((f) => f.startsWith('agent.db.corrupt-')), { what: 'the damaged file to be moved aside' })
  t.ok(statSync(path.join(dataDir, aside)).size > 0, `the damaged file is kept as ${aside}`)
  t.equal(agent.logLines('database is unreadable or corrupt; moving it aside and starting afresh').length, 1, 'the agent logged why')
  const reset = await hub.waitForEvent(nodeId, 'StoreReset', undefined, { afterSeq: seq, timeoutMs: 30_000 })
  t.match(reset.message, /moved aside/, 'the hub was told')
  t.equal(reset.severity, 'error')

  // With no document, several reconcile passes must leave the containers alone.
  const passes = agent.passCount()
  await agent.waitForPasses(passes, 3)
  const kept = await waitForRunning(nodeId, ['web-a', 'web-b'])
  t.equal(kept.get('web-a')?.id, before.get('web-a')?.id, 'web-a was kept while the agent had no document')
  t.equal(kept.get('web-b')?.id, before.get('web-b')?.id, 'web-b was kept while the agent had no document')
  t.equal(await fetchText(portA), 'hello-web-a')
  const fresh = await agent.status()
  t.equal(fresh.generation, null, 'the fresh store has no document yet')
  t.equal(fresh.nodeId, nodeId, 'the node kept its identity')
  t.ok(fresh.hubKeyPinned, 'and its pinned hub key')
  t.ok(agent.alive, 'the agent keeps running')

  // The hub republishes the node's latest document; the agent adopts what runs.
  await hub.publishDesired(nodeId, workloads, 3)
  const status = await hub.waitForStatus(
    nodeId,
    (s) => s.observedGeneration === 3 && s.workloads.length === 2 && s.workloads.every((w) => w.state === 'running'),
    {
      what: 'generation 3 running again',
    },
  )
  const after = await waitForRunning(nodeId, ['web-a', 'web-b'])
  t.equal(after.get('web-a')?.id, before.get('web-a')?.id, 'web-a adopted, not recreated')
  t.equal(after.get('web-b')?.id, before.get('web-b')?.id, 'web-b adopted, not recreated')
  t.same(status.workloads.map((w) => w.containerId).sort(), [before.get('web-a')?.id, before.get('web-b')?.id].sort())
  t.equal((await agent.status()).generation, 3, 'the new store holds the document')
  await waitFor(async () => (await agent.status()).outbox.records === 0, { what: 'the outbox to drain', timeoutMs: 30_000 })
  t.same(hub.ledger.anomalies, [], 'seqs kept increasing across the reset (the hub would otherwise drop records as duplicates)')
}

t.test('a truncated database is moved aside and the agent converges', (t) =>
  survivesCorruption(t, hub, (file) => truncateSync(file, Math.floor(statSync(file).size / 2))),
)

t.test('a database overwritten with garbage is moved aside and the agent converges', (t) =>
  survivesCorruption(t, hub, (file) => {
    const fd = openSync(file, 'r+')
    try {
      writeSync(fd, randomBytes(8192), 0, 8192, 0)
    } finally {
      closeSync(fd)
    }
  }),
)

t.test('the hub never received an invalid batch', async (t) => {
  t.same(hub.ledger.refused, [])
})

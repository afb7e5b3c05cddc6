// Local revert, offline. A rollout moves a copy to a revision that exits at once, with the
// previous revision as its fallback. While the hub can be reached the agent only reports the
// crash loop; once the broker is gone (and even across a SIGKILL of the agent) it puts the
// fallback back by itself, keeps it across restarts, and reports the revert when the broker
// returns. A newer revision from the hub then clears it.
import Database from 'better-sqlite3'
import path from 'node:path'
import t from 'tap'
import { freePort, startMosquitto, tempDir, testImage, waitFor } from '../support/index.js'
import { fetchText, httpdWorkload, nodeContainers, startAgentProcess, uniqueNodeId, type NodeContainer } from '../support/agent-process.js'
import { startMqttHubDouble, type WorkloadInput } from '../support/hub-double.js'

t.setTimeout(240_000)

interface StoredRevert {
  readonly fromRevision: number
  readonly toRevision: number
  readonly reason: string
}

/** The agent's revert bookkeeping, read straight from its SQLite file (read-only, beside the running agent). */
function stored(dbPath: string): { windows: Array<{ workload: string; revision: number; startedAt: number }>; reverts: Map<string, StoredRevert> } {
  const db = new Database(dbPath, { readonly: true, fileMustExist: true })
  try {
    const windows = db.prepare('SELECT workload, revision, started_at AS startedAt FROM revert_window ORDER BY workload').all() as Array<{
      workload: string
      revision: number
      startedAt: number
    }>
    const rows = db.prepare('SELECT workload, from_revision AS fromRevision, to_revision AS toRevision, reason FROM local_revert').all() as Array<
      StoredRevert & { workload: string }
    >
    return { windows, reverts: new Map(rows.map((r) => [r.workload, r])) }
  } finally {
    db.close()
  }
}

/** The one container of the workload, once it runs the given revision. */
async function runningRevision(nodeId: string, workload: string, revision: number, what: string): Promise<NodeContainer> {
  let last = ''
  return waitFor(
    async () => {
      const containers = (await nodeContainers(nodeId)).filter((c) => c.workload === workload)
      last = containers.map((c) => `${c.id.slice(0, 12)}:${c.state}:rev${c.labels['io.shoal.revision']}`).join(', ') || 'none'
      const [only] = containers
      return containers.length === 1 && only?.state === 'running' && only.labels['io.shoal.revision'] === String(revision) ? only : undefined
    },
    { what: `${what} (containers: ${last})`, timeoutMs: 60_000, intervalMs: 100 },
  )
}

t.test('a failing revision is reverted to its fallback while the hub is unreachable, and the revert is reported', async (t) => {
  const image = testImage()
  const nodeId = uniqueNodeId('revert')
  const broker = await startMosquitto(t)
  const hub = await startMqttHubDouble(t, broker.url)
  const dir = tempDir(t, 'agent-revert')
  const dataDir = path.join(dir, 'data')
  const dbPath = path.join(dataDir, 'agent.db')
  const port = await freePort()
  const agent = await startAgentProcess(t, { nodeId, dataDir, hubUrl: broker.url, hubKey: hub.publicKey })

  const good = httpdWorkload('app', port, image, { revision: 1 })
  const bad: WorkloadInput = {
    name: 'app',
    deployment: 'app',
    revision: 2,
    template: { image, command: ['sh', '-c', 'echo revision 2 is broken; exit 1'], restartPolicy: 'always', network: 'host' },
    fallback: { revision: 1, template: good.template, revertWindowSeconds: 3600 },
  }

  await hub.publishDesired(nodeId, [good], 1)
  const first = await runningRevision(nodeId, 'app', 1, 'revision 1 to run')
  t.equal(await waitFor(() => fetchText(port), { what: 'revision 1 to serve' }), 'hello-app')

  await t.test('hub reachable: the crash loop of revision 2 is reported, not reverted', async (t) => {
    const seq = hub.lastSeq(nodeId)
    await hub.publishDesired(nodeId, [bad], 2)
    const status = await hub.waitForStatus(
      nodeId,
      (s) => s.observedGeneration === 2 && s.workloads.some((w) => w.name === 'app' && w.revision === 2 && w.state === 'crash-loop'),
      {
        what: 'revision 2 reported crash-looping',
        timeoutMs: 60_000,
      },
    )
    t.notOk(status.workloads[0]?.revert, 'no revert in the status')
    t.same(hub.events(nodeId, 'LocalRevert', seq), [], 'no LocalRevert event')
    const app = (await nodeContainers(nodeId)).filter((c) => c.workload === 'app')
    t.same(
      app.map((c) => c.labels['io.shoal.revision']),
      ['2'],
      'the node runs revision 2 only',
    )
    const { windows, reverts } = stored(dbPath)
    t.same(
      windows.map((w) => [w.workload, w.revision]),
      [['app', 2]],
      'the revert window of revision 2 was stored',
    )
    t.equal(reverts.size, 0, 'no revert stored')
  })

  await t.test('SIGKILL during the window, then the broker goes: the restarted agent reverts on its own', async (t) => {
    const windowBefore = stored(dbPath).windows[0]
    await agent.kill('SIGKILL')
    await broker.stop()
    await agent.start()
    const back = await runningRevision(nodeId, 'app', 1, 'the agent to put revision 1 back, offline')
    t.not(back.id, first.id, 'a new container, from the fallback template')
    t.equal(back.configHash, first.configHash, 'with revision 1’s config')
    t.equal(await waitFor(() => fetchText(port), { what: 'revision 1 to serve again' }), 'hello-app')
    const { windows, reverts } = stored(dbPath)
    t.same(windows[0], windowBefore, 'the window start survived the SIGKILL unchanged')
    const revert = reverts.get('app')
    t.equal(revert?.fromRevision, 2, 'the revert is stored: from revision 2')
    t.equal(revert?.toRevision, 1, 'to revision 1')
    t.match(revert?.reason, /crash-loop/, `with the reason (${revert?.reason})`)
    t.ok(agent.logLines('hub unreachable; reverting to the fallback revision').length > 0, 'and logged')
  })

  await t.test('the revert sticks across another SIGKILL while offline', async (t) => {
    const before = await runningRevision(nodeId, 'app', 1, 'revision 1')
    await agent.kill('SIGKILL')
    await agent.start()
    await agent.waitForPasses(agent.passCount(), 3)
    const after = await runningRevision(nodeId, 'app', 1, 'revision 1 still')
    t.equal(after.id, before.id, 'the same container is adopted; revision 2 never comes back')
    t.equal(stored(dbPath).reverts.get('app')?.fromRevision, 2)
  })

  await t.test('broker back: the hub receives the LocalRevert event and a status with revert', async (t) => {
    await broker.start()
    const event = await hub.waitForEvent(nodeId, 'LocalRevert', (e) => e.workload === 'app', { timeoutMs: 90_000 })
    t.equal(event.severity, 'warning')
    t.same([event.data?.fromRevision, event.data?.toRevision], [2, 1])
    const status = await hub.waitForStatus(nodeId, (s) => s.workloads.some((w) => w.name === 'app' && w.revert !== undefined && w.state === 'running'), {
      what: 'a status with the revert',
      timeoutMs: 60_000,
    })
    const app = status.workloads.find((w) => w.name === 'app')
    t.equal(app?.revision, 1, 'the status names the revision the copy runs')
    t.same([app?.revert?.fromRevision, app?.revert?.toRevision], [2, 1])
    t.match(app?.revert?.reason, /crash-loop/)
    t.equal(status.observedGeneration, 2)
    t.same(hub.ledger.anomalies, [])
    t.same(hub.ledger.refused, [])
  })

  await t.test('the same revision again stays reverted; a newer revision clears the revert', async (t) => {
    const reverted = await runningRevision(nodeId, 'app', 1, 'revision 1')
    const seq = hub.lastSeq(nodeId)
    await hub.publishDesired(nodeId, [bad], 3)
    await hub.waitForEvent(nodeId, 'DesiredAccepted', (e) => e.data?.generation === 3, { afterSeq: seq })
    await waitFor(async () => (await agent.status()).generation === 3, { what: 'the agent to store generation 3' })
    await agent.waitForPasses(agent.passCount(), 3)
    t.equal(
      (await runningRevision(nodeId, 'app', 1, 'revision 1')).id,
      reverted.id,
      'still the same revision 1 container under a document that repeats revision 2',
    )
    t.equal(stored(dbPath).reverts.get('app')?.fromRevision, 2, 'the revert is still stored')
    t.same(hub.events(nodeId, 'LocalRevertCleared', seq), [], 'and was not cleared')
    const reported = hub.latestStatus(nodeId)?.workloads.find((w) => w.name === 'app')
    t.same([reported?.revision, reported?.revert?.fromRevision], [1, 2], 'the latest status still says reverted')

    const newer = httpdWorkload('app', port, image, { revision: 3, env: { REVISION: '3' } })
    await hub.publishDesired(nodeId, [newer], 4)
    await runningRevision(nodeId, 'app', 3, 'revision 3 to run')
    const cleared = await hub.waitForEvent(nodeId, 'LocalRevertCleared', (e) => e.workload === 'app', { afterSeq: seq })
    t.equal(cleared.data?.revision, 3)
    const latest = await hub.waitForStatus(nodeId, (s) => s.observedGeneration === 4 && s.workloads.some((w) => w.revision === 3 && w.state === 'running'), {
      what: 'revision 3 running',
    })
    t.notOk(latest.workloads[0]?.revert, 'no revert in the status any more')
    t.equal(stored(dbPath).reverts.size, 0, 'the stored revert is gone')
    t.equal(await waitFor(() => fetchText(port), { what: 'revision 3 to serve' }), 'hello-app')
  })

  t.ok(agent.alive)
})

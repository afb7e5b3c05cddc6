// The broker goes away for a while. The agent keeps its workloads running, restarts one that
// crashes during the outage and records it, and its SQLite outbox grows. When the broker is
// back, every record reaches the hub, in seq order, exactly once after the hub's dedupe, and
// the outbox is trimmed as the hub acknowledges.
import Database from 'better-sqlite3'
import path from 'node:path'
import t from 'tap'
import { dockerClient, freePort, startMosquitto, tempDir, testImage, waitFor } from '../support/index.js'
import { fetchText, httpdWorkload, startAgentProcess, uniqueNodeId, waitForRunning } from '../support/agent-process.js'
import { startMqttHubDouble } from '../support/hub-double.js'

t.setTimeout(150_000)

interface PendingRow {
  readonly seq: number
  readonly kind: 'status' | 'event'
  readonly type: string | null
}

/** The unacknowledged outbox, read straight from the agent's SQLite file (read-only, beside the running agent). */
function pendingOutbox(dbPath: string): PendingRow[] {
  const db = new Database(dbPath, { readonly: true, fileMustExist: true })
  try {
    const rows = db.prepare('SELECT seq, kind, body FROM outbox ORDER BY seq').all() as Array<{ seq: number; kind: 'status' | 'event'; body: string }>
    return rows.map((row) => ({ seq: row.seq, kind: row.kind, type: row.kind === 'event' ? String((JSON.parse(row.body) as { type: string }).type) : null }))
  } finally {
    db.close()
  }
}

t.test('keeps working through a broker outage and delivers the outbox afterwards', async (t) => {
  const image = testImage()
  const nodeId = uniqueNodeId('outage')
  const broker = await startMosquitto(t)
  const hub = await startMqttHubDouble(t, broker.url)
  const dir = tempDir(t, 'agent-outage')
  const dataDir = path.join(dir, 'data')
  const docker = dockerClient()
  const [port, portCalm] = [await freePort(), await freePort()]
  const agent = await startAgentProcess(t, { nodeId, dataDir, hubUrl: broker.url, hubKey: hub.publicKey })

  await hub.publishDesired(nodeId, [httpdWorkload('web', port, image), httpdWorkload('calm', portCalm, image)], 1)
  const before = await waitForRunning(nodeId, ['web', 'calm'])
  await hub.waitForStatus(nodeId, (s) => s.observedGeneration === 1 && s.workloads.length === 2 && s.workloads.every((w) => w.state === 'running'), {
    what: 'both running',
  })
  await waitFor(async () => (await agent.status()).outbox.records === 0, { what: 'the outbox to drain while online' })
  const seqBeforeOutage = hub.lastSeq(nodeId)

  await broker.stop()
  await waitFor(() => agent.logLines('hub link down; working from the local store').length > 0, { what: 'the agent to notice the outage' })

  await t.test('during the outage: workloads run, a crash is restarted and recorded, the outbox grows', async (t) => {
    t.equal(await fetchText(port), 'hello-web', 'web still serves')
    t.equal(await fetchText(portCalm), 'hello-calm', 'calm still serves')
    const webId = before.get('web')?.id ?? ''
    const startedBefore = (await docker.getContainer(webId).inspect()).State.StartedAt
    // SIGKILL from outside: the engine leaves a killed container down, so only the agent brings it back.
    await docker.getContainer(webId).kill()
    const restarted = await waitFor(
      async () => {
        const info = await docker.getContainer(webId).inspect()
        return info.State.Running && info.State.StartedAt !== startedBefore ? info : undefined
      },
      { what: 'the agent to start the killed container again, offline', timeoutMs: 60_000 },
    )
    t.ok(restarted, 'the same container runs again')
    t.equal(await waitFor(() => fetchText(port), { what: 'web to serve again', timeoutMs: 15_000 }), 'hello-web')
    const report = await waitFor(
      async () => {
        const r = await agent.status()
        const web = r.workloads.find((w) => w.name === 'web')
        return web && web.state === 'running' && web.restarts >= 1 ? r : undefined
      },
      { what: 'agent status to show the restart' },
    )
    t.equal(report.workloads.find((w) => w.name === 'web')?.exitCode, 137, 'the crash exit code (SIGKILL) is recorded')
    const pending = await waitFor(
      () => {
        const rows = pendingOutbox(path.join(dataDir, 'agent.db'))
        return rows.filter((r) => r.type === 'WorkloadStateChanged').length >= 2 ? rows : undefined
      },
      { what: 'the transitions to be queued in the outbox' },
    )
    t.ok(pending.length >= 3, `the outbox holds the transitions and a status (${pending.length} records)`)
    t.equal((await agent.status()).outbox.records, pending.length, '`agent status` reports the same depth')
    t.equal(await fetchText(portCalm), 'hello-calm', 'the other workload was never disturbed')
    t.equal(before.get('calm')?.id, (await waitForRunning(nodeId, ['web', 'calm'])).get('calm')?.id)
  })

  await t.test('broker back: every record delivered in order exactly once, then trimmed', async (t) => {
    const pending = pendingOutbox(path.join(dataDir, 'agent.db'))
    t.ok(pending.length > 0, 'records are waiting')
    t.ok(
      pending.every((r) => r.seq > seqBeforeOutage),
      'they are all newer than what the hub already has',
    )
    await broker.start()
    const lastPending = pending.at(-1)?.seq ?? 0
    await waitFor(() => hub.lastSeq(nodeId) >= lastPending, { what: `the hub to receive up to seq ${lastPending}`, timeoutMs: 90_000 })
    const received = hub.records(nodeId)
    const receivedSeqs = new Set(received.map((r) => r.seq))
    for (const row of pending.filter((r) => r.kind === 'event')) {
      t.ok(receivedSeqs.has(row.seq), `event ${row.seq} (${row.type}) was delivered`)
    }
    for (const row of pending.filter((r) => r.kind === 'status')) {
      // A status may be compacted into a newer one; the newest the hub has must be at least as new.
      const newest = received.filter((r) => r.kind === 'status').at(-1)?.seq ?? 0
      t.ok(receivedSeqs.has(row.seq) || newest > row.seq, `status ${row.seq} was delivered or superseded`)
    }
    const seqs = received.map((r) => r.seq)
    t.ok(
      seqs.every((seq, i) => i === 0 || seq > (seqs[i - 1] ?? 0)),
      'the hub stored records in strictly increasing seq order',
    )
    t.same(hub.ledger.anomalies, [], 'no out-of-order or misaddressed records')
    t.same(hub.ledger.refused, [], 'every batch was valid')
    t.comment(`${received.length} records stored, ${hub.ledger.duplicates} duplicate deliveries dropped by the dedupe`)

    const transitions = hub.events(nodeId, 'WorkloadStateChanged', seqBeforeOutage).filter((e) => e.workload === 'web')
    t.ok(
      transitions.some((e) => e.data?.from === 'running' && e.data?.exitCode === 137),
      `the crash was reported: ${JSON.stringify(transitions.map((e) => e.data))}`,
    )
    t.equal(transitions.at(-1)?.data?.to, 'running', 'and the recovery')
    const status = await hub.waitForStatus(
      nodeId,
      (s) => s.workloads.find((w) => w.name === 'web')?.restarts === 1 && s.workloads.every((w) => w.state === 'running'),
      {
        what: 'a status with the restart',
      },
    )
    t.equal(status.observedGeneration, 1)

    await waitFor(async () => (await agent.status()).outbox.records === 0, { what: 'the outbox to be trimmed after the acks', timeoutMs: 30_000 })
    t.pass('outbox depth is back to 0')
    t.ok(agent.alive, 'the agent ran through it all')
  })

  await t.test('acks lost: the agent resends, the hub dedupes, nothing is trimmed before the ack', async (t) => {
    hub.setAcking(false)
    const seq = hub.lastSeq(nodeId)
    const duplicatesBefore = hub.ledger.duplicates
    await hub.publishDesired(nodeId, [httpdWorkload('web', port, image), httpdWorkload('calm', portCalm, image, { env: { CALM: 'yes' } })], 2)
    await hub.waitForEvent(nodeId, 'DesiredAccepted', (e) => e.data?.generation === 2, { afterSeq: seq })
    await waitFor(() => hub.ledger.duplicates > duplicatesBefore, { what: 'the unacknowledged records to be sent again', timeoutMs: 60_000 })
    const depth = (await agent.status()).outbox.records
    t.ok(depth > 0, `unacknowledged records stay in the outbox (${depth})`)
    await waitForRunning(nodeId, ['web', 'calm'])
    hub.setAcking(true)
    await waitFor(async () => (await agent.status()).outbox.records === 0, { what: 'the outbox to be trimmed once acks flow again', timeoutMs: 30_000 })
    const seqs = hub.records(nodeId).map((r) => r.seq)
    t.equal(new Set(seqs).size, seqs.length, 'each record stored once')
    t.ok(
      seqs.every((s, i) => i === 0 || s > (seqs[i - 1] ?? 0)),
      'still in strictly increasing seq order',
    )
    t.same(hub.ledger.anomalies, [])
    t.comment(`${hub.ledger.duplicates - duplicatesBefore} resent records dropped by the dedupe`)
  })
})

// SIGKILL the hub in the middle of a busy period (deployments applied one after another, a
// crash-looping workload, agents creating and removing containers and reporting all of it),
// then start it again on the same data directory. Every event each agent put in its outbox
// reaches the hub exactly once (no lost record, no duplicate (node, seq)); generations never
// go backwards, at the hub or at the agents; the agents and their containers are unaffected.
//
// What an agent generated is taken from its own SQLite file: the test adds a trigger that logs
// every outbox insert (seq, kind, event type) to a side table, since acknowledged records are
// deleted from the outbox itself.
import path from 'node:path'
import Database from 'better-sqlite3'
import t from 'tap'
import { testImage, waitFor } from '../support/index.js'
import { nodeContainers, uniqueNodeId, waitForRunning, type AgentProcess } from '../support/agent-process.js'
import { deploymentYaml, sleepTemplate, startHubAgent, startHubProcess, type HubEvent, type HubProcess } from '../support/hub-process.js'

t.setTimeout(150_000)

interface LoggedRecord {
  readonly seq: number
  readonly kind: 'status' | 'event'
  readonly type: string | null
}

function agentDb(agent: AgentProcess, readonly: boolean): Database.Database {
  const db = new Database(path.join(agent.dataDir, 'agent.db'), { readonly, fileMustExist: true })
  db.pragma('busy_timeout = 10000')
  return db
}

/** From now on, every record the agent inserts into its outbox is also logged to a side table. */
function instrumentOutbox(agent: AgentProcess): void {
  const db = agentDb(agent, false)
  try {
    db.exec(`
      CREATE TABLE IF NOT EXISTS test_outbox_log (seq INTEGER NOT NULL, kind TEXT NOT NULL, type TEXT);
      CREATE TRIGGER IF NOT EXISTS test_outbox_log_insert AFTER INSERT ON outbox
      BEGIN
        INSERT INTO test_outbox_log (seq, kind, type) VALUES (NEW.seq, NEW.kind, json_extract(NEW.body, '$.type'));
      END;
    `)
  } finally {
    db.close()
  }
}

function loggedRecords(agent: AgentProcess): LoggedRecord[] {
  const db = agentDb(agent, true)
  try {
    return db.prepare('SELECT seq, kind, type FROM test_outbox_log ORDER BY seq').all() as LoggedRecord[]
  } finally {
    db.close()
  }
}

function outboxDepth(agent: AgentProcess): number {
  const db = agentDb(agent, true)
  try {
    return (db.prepare('SELECT COUNT(*) AS n FROM outbox').get() as { n: number }).n
  } finally {
    db.close()
  }
}

function acceptedGeneration(agent: AgentProcess): number {
  const db = agentDb(agent, true)
  try {
    return (db.prepare('SELECT generation FROM desired WHERE id = 1').get() as { generation: number } | undefined)?.generation ?? 0
  } finally {
    db.close()
  }
}

/** Samples generations (hub's latest per node, agents' accepted) until stopped; records any step back. */
function watchGenerations(hub: HubProcess, agents: readonly AgentProcess[]) {
  const hubSeen = new Map<string, number[]>()
  const agentSeen = new Map<string, number[]>()
  let stopped = false
  const loop = (async () => {
    while (!stopped) {
      try {
        const nodes = await hub.nodes()
        for (const node of nodes) hubSeen.set(node.id, [...(hubSeen.get(node.id) ?? []), node.generation.latest as number])
      } catch {
        // the hub is down: nothing to sample
      }
      for (const agent of agents) {
        try {
          agentSeen.set(agent.nodeId, [...(agentSeen.get(agent.nodeId) ?? []), acceptedGeneration(agent)])
        } catch {
          // busy: next time
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 200))
    }
  })()
  return {
    hubSeen,
    agentSeen,
    async stop() {
      stopped = true
      await loop
    },
  }
}

const backwards = (series: readonly number[]): number => series.filter((value, i) => i > 0 && value < (series[i - 1] ?? 0)).length

t.test('a hub SIGKILLed while busy loses no report, applies none twice, and never moves a generation back', async (t) => {
  const image = testImage()
  const hub = await startHubProcess(t)
  const fleet = uniqueNodeId('busy')
  const token = await hub.createJoinToken({ maxUses: 2, labels: { fleet } })
  const agents = await Promise.all([startHubAgent(t, hub, { name: uniqueNodeId('a'), token }), startHubAgent(t, hub, { name: uniqueNodeId('b'), token })])
  for (const agent of agents) instrumentOutbox(agent)
  const pids = agents.map((a) => a.pid)

  const every = (name: string, template: Record<string, unknown>) =>
    deploymentYaml(name, { mode: 'every-node', selector: { matchLabels: { fleet } }, template })
  await hub.apply(every('steady', sleepTemplate(image)))
  const steady = await Promise.all(agents.map((a) => waitForRunning(a.nodeId, ['steady'])))
  const watch = watchGenerations(hub, agents)
  t.teardown(() => watch.stop())

  // The busy period: a crash loop, and deployments applied one after another.
  await hub.apply(every('crasher', { image, command: ['sh', '-c', 'sleep 1; exit 3'], restartPolicy: 'always', network: 'host' }))
  const churnEvents = async (): Promise<number> =>
    (await hub.events()).filter((e) => e.workload?.startsWith('churn-') && e.type === 'WorkloadStateChanged').length
  const churn: string[] = []
  while (churn.length < 12) {
    const name = `churn-${churn.length}`
    await hub.apply(every(name, sleepTemplate(image)))
    churn.push(name)
    if (churn.length >= 4 && (await churnEvents()) >= 2) break
  }
  const genBeforeKill = new Map((await hub.nodes()).map((n: any) => [n.id as string, n.generation.latest as number]))
  const exit = await hub.kill('SIGKILL')
  t.equal(exit.signal, 'SIGKILL', `hub killed after ${churn.length} churn deployments, while agents were busy`)
  t.ok(
    agents.some((a) => loggedRecords(a).length > 0),
    'the agents were reporting',
  )
  // While the hub is down the agents keep working and queue what they report.
  const pending = await waitFor(
    () => {
      const depth = agents.reduce((sum, a) => sum + outboxDepth(a), 0)
      return depth > 0 ? depth : undefined
    },
    { what: "reports to queue up in the agents' outboxes while the hub is down", timeoutMs: 30_000, intervalMs: 100 },
  )
  t.ok(pending > 0, `${pending} report(s) waiting in the agents' outboxes across the hub's restart`)
  await hub.start()

  await t.test('after the restart the fleet converges, with the same agents and containers', async (t) => {
    // More work after the restart, then clean up everything but the steady workload.
    const last = `churn-${churn.length}`
    await hub.apply(every(last, sleepTemplate(image)))
    churn.push(last)
    for (const name of churn) await hub.ok('DELETE', `/api/v1/deployments/${name}`)
    await hub.ok('DELETE', '/api/v1/deployments/crasher')
    const after = await Promise.all(agents.map((a) => waitForRunning(a.nodeId, ['steady'], 90_000)))
    agents.forEach((a, i) => {
      t.equal(a.pid, pids[i], `agent ${a.nodeId} kept running (same pid)`)
      t.equal(after[i]?.get('steady')?.id, steady[i]?.get('steady')?.id, `agent ${a.nodeId} kept its steady container`)
    })
    for (const agent of agents) {
      await waitFor(
        async () => {
          const latest = (await hub.node(agent.nodeId)).generation.latest as number
          const status = await agent.status()
          return status.generation === latest && status.outbox.records === 0
        },
        { what: `${agent.nodeId} to accept the latest generation and drain its outbox`, timeoutMs: 60_000, intervalMs: 500 },
      )
    }
    for (const [id, before] of genBeforeKill)
      t.ok(((await hub.node(id)).generation.latest as number) > before, `${id}: generation grew past ${before} after the restart`)
  })

  await t.test('every event each agent generated is stored exactly once', async (t) => {
    const events = await hub.events()
    for (const agent of agents) {
      const logged = loggedRecords(agent)
      const loggedEvents = logged.filter((r) => r.kind === 'event')
      t.ok(
        loggedEvents.length >= 10,
        `${agent.nodeId} generated ${loggedEvents.length} events and ${logged.length - loggedEvents.length} status records while watched`,
      )
      const first = logged[0]?.seq ?? 0
      const stored: HubEvent[] = events.filter((e) => e.nodeId === agent.nodeId && e.seq !== null)
      const seqs = stored.map((e) => e.seq as number)
      t.equal(new Set(seqs).size, seqs.length, `${agent.nodeId}: no duplicate (node, seq) among ${seqs.length} stored events`)
      const storedWatched = stored.filter((e) => (e.seq as number) >= first)
      t.same(
        storedWatched.map((e) => [e.seq, e.type]),
        loggedEvents.map((r) => [r.seq, r.type]),
        `${agent.nodeId}: the hub holds exactly the events the agent generated, in order (no gap, nothing extra)`,
      )
      t.equal((await agent.status()).outbox.droppedEvents, 0, `${agent.nodeId}: its outbox dropped nothing`)
    }
    t.ok(
      events.some((e) => e.type === 'WorkloadStateChanged' && e.workload === 'crasher'),
      'the crash loop was reported',
    )
    t.comment(`records the hub received again and dropped as duplicates: ${await hub.metric('shoal_outbox_records_total', { outcome: 'duplicate' })}`)
  })

  await t.test("the hub's status equals what the agents report (no stale status applied over a newer one)", async (t) => {
    for (const agent of agents) {
      const local = await agent.status()
      const node = await waitFor(
        async () => {
          const n = await hub.node(agent.nodeId)
          return n.workloadStatus.length === local.workloads.length && n.workloadStatus.every((w: any) => w.state === 'running') ? n : undefined
        },
        { what: `${agent.nodeId}'s status at the hub to match the agent`, timeoutMs: 30_000, intervalMs: 250 },
      )
      t.same(
        node.workloadStatus.map((w: any) => [w.name, w.state, w.containerId]),
        local.workloads.map((w) => [w.name, w.state, w.containerId]),
        `${agent.nodeId}: hub and agent agree`,
      )
      t.equal(node.generation.observed, node.generation.latest, `${agent.nodeId}: observed generation caught up`)
      t.same(
        (await nodeContainers(agent.nodeId)).map((c) => c.workload),
        ['steady'],
      )
    }
  })

  await t.test('generations never went backwards, at the hub or at the agents', async (t) => {
    await watch.stop()
    for (const agent of agents) {
      const hubSeries = watch.hubSeen.get(agent.nodeId) ?? []
      const agentSeries = watch.agentSeen.get(agent.nodeId) ?? []
      t.ok(hubSeries.length > 10 && agentSeries.length > 10, `${agent.nodeId}: sampled ${hubSeries.length} hub and ${agentSeries.length} agent generations`)
      t.equal(backwards(hubSeries), 0, `${agent.nodeId}: the hub's latest generation only grew (${hubSeries[0]} → ${hubSeries.at(-1)})`)
      t.equal(backwards(agentSeries), 0, `${agent.nodeId}: the agent's accepted generation only grew (${agentSeries[0]} → ${agentSeries.at(-1)})`)
    }
  })
})

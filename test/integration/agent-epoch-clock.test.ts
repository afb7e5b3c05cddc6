// Power cut on a board without an RTC: the agent's database is damaged while it is down and it
// boots with its clock in the past (libfaketime on the agent process only). The fresh database
// numbers its outbox from that clock, below what the hub already acknowledged for the node; with
// outbox epochs the real hub stores those reports instead of dropping them as duplicates. Every
// event the agent puts in its new outbox reaches the hub (taken from a trigger on the agent's
// SQLite file, since acknowledged records are deleted). Once per broker: the hub's embedded aedes,
// and a private Mosquitto and nats-server (JetStream) of the test's own, each bounded in time.
import { existsSync, readdirSync, statSync, truncateSync } from 'node:fs'
import path from 'node:path'
import Database from 'better-sqlite3'
import t from 'tap'
import { startMosquitto, startNats, testImage, waitFor } from '../support/index.js'
import { uniqueNodeId, waitForRunning, type AgentProcess, type AgentTestLike } from '../support/agent-process.js'
import { deploymentYaml, readAgentIdentity, sleepTemplate, startHubAgent, startHubProcess, type HubProcess } from '../support/hub-process.js'

t.setTimeout(480_000)

type Broker = 'aedes' | 'mosquitto' | 'nats'
const BROKERS: readonly Broker[] = ['aedes', 'mosquitto', 'nats']
/** Each broker's run, bounded on its own. */
const PER_BROKER_TIMEOUT_MS = 150_000

const LIBFAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1'

function agentDb(agent: AgentProcess, readonly: boolean): Database.Database {
  const db = new Database(path.join(agent.dataDir, 'agent.db'), { readonly, fileMustExist: true })
  db.pragma('busy_timeout = 10000')
  return db
}

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

function query<T>(agent: AgentProcess, sql: string): T[] {
  const db = agentDb(agent, true)
  try {
    return db.prepare(sql).all() as T[]
  } finally {
    db.close()
  }
}

/**
 * A hub on its embedded aedes, or on a private external broker started for this test (a broker
 * of its own: another test's hub on a shared one would see this node's outbox too); with the
 * external broker's URL.
 */
async function hubOn(t: AgentTestLike, broker: Broker): Promise<{ hub: HubProcess; external: string | null }> {
  switch (broker) {
    case 'aedes':
      return { hub: await startHubProcess(t), external: null }
    case 'mosquitto': {
      const { url } = await startMosquitto(t)
      return { hub: await startHubProcess(t, { extraArgs: ['--mqtt-url', url] }), external: url }
    }
    case 'nats': {
      const { url } = await startNats(t, { jetstream: true })
      return { hub: await startHubProcess(t, { extraArgs: ['--nats-url', url] }), external: url }
    }
    default: {
      const unknown: never = broker
      throw new Error(`unknown broker ${String(unknown)}`)
    }
  }
}

for (const broker of BROKERS) {
  t.test(`on ${broker}: after a corrupt database and a clock in the past, every new report reaches the hub`, { timeout: PER_BROKER_TIMEOUT_MS }, async (t) => {
    t.ok(existsSync(LIBFAKETIME), `libfaketime is installed (${LIBFAKETIME}; Debian package faketime)`)
    const image = testImage()
    const { hub, external } = await hubOn(t, broker)
    const fleet = uniqueNodeId('epoch')
    const token = await hub.createJoinToken({ maxUses: 1, labels: { fleet } })
    const agent = await startHubAgent(t, hub, { name: uniqueNodeId('rtc'), token })
    const nodeId = agent.nodeId
    if (external !== null) t.equal(readAgentIdentity(agent).brokerUrl, external, `the agent talks to the hub through ${broker} (${external})`)
    const every = (name: string) => deploymentYaml(name, { mode: 'every-node', selector: { matchLabels: { fleet } }, template: sleepTemplate(image) })

    await hub.apply(every('before'))
    await waitForRunning(nodeId, ['before'])
    await waitFor(() => query<{ n: number }>(agent, 'SELECT COUNT(*) AS n FROM outbox')[0]?.n === 0, { what: 'the first outbox to drain', timeoutMs: 60_000 })
    const oldMark = Math.max(...(await hub.events(nodeId)).map((e) => e.seq ?? 0))
    t.ok(oldMark > 0, `the hub acknowledged the first database's records up to at least seq ${oldMark}`)

    t.same(await agent.stop(), { code: 0, signal: null }, 'the agent stopped cleanly')
    const dbFile = path.join(agent.dataDir, 'agent.db')
    truncateSync(dbFile, Math.floor(statSync(dbFile).size / 2))
    // Two hours back: the fresh outbox's seqs (ms of its clock) start below the old epoch's.
    await agent.start({ env: { LD_PRELOAD: LIBFAKETIME, FAKETIME: '-2h', FAKETIME_DONT_FAKE_MONOTONIC: '1' } })
    await waitFor(() => readdirSync(agent.dataDir).find((f) => f.startsWith('agent.db.corrupt-')), { what: 'the damaged file to be moved aside' })
    instrumentOutbox(agent)

    const reset = await waitFor(async () => (await hub.events(nodeId)).find((e) => e.type === 'StoreReset'), {
      what: 'the StoreReset event at the hub',
      timeoutMs: 60_000,
    })
    t.ok(reset.seq !== null && reset.seq < oldMark, `the reset was stored although its seq ${reset.seq} is below the old mark ${oldMark}`)

    // More reports from the new database: the hub's document again, and a new deployment.
    await hub.apply(every('after'))
    await waitForRunning(nodeId, ['before', 'after'])
    await waitFor(() => query<{ n: number }>(agent, 'SELECT COUNT(*) AS n FROM outbox')[0]?.n === 0, { what: 'the new outbox to drain', timeoutMs: 60_000 })
    const logged = query<{ seq: number; type: string }>(agent, "SELECT seq, type FROM test_outbox_log WHERE kind = 'event' ORDER BY seq")
    t.ok(logged.length > 0, `${logged.length} event(s) reported after the restart`)
    t.ok(
      logged.every((r) => r.seq < oldMark),
      'all of them numbered below what the hub had acknowledged before',
    )
    const atHub = new Map<string, number>()
    for (const e of await hub.events(nodeId)) atHub.set(`${e.seq}:${e.type}`, (atHub.get(`${e.seq}:${e.type}`) ?? 0) + 1)
    const missing = logged.filter((r) => !atHub.has(`${r.seq}:${r.type}`))
    t.same(missing, [], 'every event made after the restart is at the hub')
    t.same(
      logged.filter((r) => atHub.get(`${r.seq}:${r.type}`) !== 1),
      missing,
      'and none of them twice',
    )
    // The node view counts the workloads the node last reported: both, from the new database's status.
    const counts = await waitFor(
      async () => {
        const node = (await hub.node(nodeId)) as { workloads: { running: number; total: number } }
        return node.workloads.total === 2 && node.workloads.running === 2 ? node.workloads : undefined
      },
      { what: "the new database's status (two running workloads) at the hub", timeoutMs: 30_000 },
    )
    t.same(counts, { running: 2, total: 2 }, 'and so is its latest status')
    // Two hours behind the documents the hub signed: the agent says its clock is wrong.
    const behind = await waitFor(async () => (await hub.events(nodeId)).find((e) => e.type === 'ClockBehind'), {
      what: 'the ClockBehind event at the hub',
      timeoutMs: 60_000,
    })
    t.match(behind.message, /this node's clock reads .* before .*: set its time/)
    t.ok(Number(behind.data?.behindSeconds) > 3_000, `about two hours behind the hub's newest document (${behind.data?.behindSeconds} s)`)
  })
}

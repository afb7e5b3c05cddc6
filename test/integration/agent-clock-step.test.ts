// A board's wall clock stepped back by a year and forward again while its agent runs and a
// workload crash-loops (libfaketime on the agent process only, the faked time rewritten at
// run time through FAKETIME_TIMESTAMP_FILE; the monotonic clock stays real). Real hub (aedes),
// real agent, real Docker. The agent must behave as with a steady clock: the workload stays in
// crash-loop (one transition, never out of it), every crash is counted once, `BackOff` events
// keep coming at most one per interval, the agent never starts the container on top of the engine's
// own backoff, its wake-up timer never overflows, and every event it puts in its outbox is
// stored by the hub exactly once.
import { existsSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import Database from 'better-sqlite3'
import t from 'tap'
import { dockerClient, tempDir, testImage, waitFor } from '../support/index.js'
import { profilesDirWith } from '../support/profiles.js'
import { uniqueNodeId, type AgentProcess } from '../support/agent-process.js'
import { deploymentYaml, startHubAgent, startHubProcess, type HubEvent } from '../support/hub-process.js'

t.setTimeout(420_000)

const LIBFAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1'
const DAY_MS = 24 * 3600 * 1000
/**
 * The agent's BackOff pacing, set through its firmware profile (`agent.backOffEventInterval`, 60 s
 * by default) to half a minute so the test takes half the time; less what delivery delays can take
 * off a gap, it still lies well above the 11 s between crashes, so one event per crash would fail.
 */
const BACKOFF_EVENT_INTERVAL_MS = 30_000
const DELIVERY_SLACK_MS = 10_000

type StoredEvent = HubEvent & { readonly receivedAt?: string }

/** Every `die` of the node's containers for one workload, from the engine's event stream, until aborted. */
async function collectDies(nodeId: string, workload: string, signal: AbortSignal, into: string[]): Promise<void> {
  const docker = dockerClient()
  const stream = (await docker.getEvents({
    filters: { type: ['container'], event: ['die'], label: [`io.shoal.node=${nodeId}`, `io.shoal.workload=${workload}`] },
    abortSignal: signal,
  } as Parameters<typeof docker.getEvents>[0])) as NodeJS.ReadableStream
  let pending = ''
  try {
    for await (const chunk of stream) {
      pending += chunk.toString()
      let newline: number
      while ((newline = pending.indexOf('\n')) !== -1) {
        const line = pending.slice(0, newline).trim()
        pending = pending.slice(newline + 1)
        if (line) into.push(String((JSON.parse(line) as { timeNano: number }).timeNano))
      }
    }
  } catch (error) {
    if (!signal.aborted) throw error
  }
}

/** A trigger on the agent's outbox: every record it ever inserts, kept after the ack deletes it. */
function instrumentOutbox(agent: AgentProcess): void {
  const db = new Database(path.join(agent.dataDir, 'agent.db'), { fileMustExist: true })
  try {
    db.pragma('busy_timeout = 10000')
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
  const db = new Database(path.join(agent.dataDir, 'agent.db'), { readonly: true, fileMustExist: true })
  try {
    db.pragma('busy_timeout = 10000')
    return db.prepare(sql).all() as T[]
  } finally {
    db.close()
  }
}

t.test('a clock stepped a year back and forward while a workload crash-loops: backoff and outbox as with a steady clock', async (t) => {
  t.ok(existsSync(LIBFAKETIME), `libfaketime is installed (${LIBFAKETIME}; Debian package faketime)`)
  const image = testImage()
  const hub = await startHubProcess(t)
  const fleet = uniqueNodeId('step')
  const token = await hub.createJoinToken({ maxUses: 1, labels: { fleet } })
  const profiles = profilesDirWith(t, 'generic-amd64', [`backOffEventInterval: ${BACKOFF_EVENT_INTERVAL_MS / 1000}s`])
  const agent = await startHubAgent(t, hub, { name: uniqueNodeId('step'), token, profile: 'generic-amd64', extraArgs: ['--profiles-dir', profiles] })
  const nodeId = agent.nodeId
  t.same(await agent.stop(), { code: 0, signal: null }, 'enrolled; stopped to start again under libfaketime')

  // The faked time is an offset from the real one, read again at every call.
  const timeFile = path.join(tempDir(t, 'clock-step'), 'faketime')
  const setOffset = (spec: string): void => writeFileSync(timeFile, `${spec}\n`)
  setOffset('+0')
  instrumentOutbox(agent)
  await agent.start({
    env: { LD_PRELOAD: LIBFAKETIME, FAKETIME_TIMESTAMP_FILE: timeFile, FAKETIME_NO_CACHE: '1', DONT_FAKE_MONOTONIC: '1', FAKETIME_DONT_FAKE_MONOTONIC: '1' },
  })

  const dies: string[] = []
  const stopWatching = new AbortController()
  t.teardown(() => stopWatching.abort())
  const watching = collectDies(nodeId, 'boom', stopWatching.signal, dies)
  await new Promise((resolve) => setImmediate(resolve))

  // Runs 11 s before it fails: the engine's restart delay goes back to 100 ms after a run of
  // 10 s, so it crashes about every 11 s, always within the agent's five-minute crash window.
  const template = { image, command: ['sh', '-c', 'echo up; sleep 11; echo boom; exit 3'], restartPolicy: 'always', network: 'host' }
  await hub.apply(deploymentYaml('boom', { mode: 'every-node', selector: { matchLabels: { fleet } }, template }))

  const events = async (): Promise<StoredEvent[]> => (await hub.events(nodeId)) as StoredEvent[]
  const backOffs = async (): Promise<StoredEvent[]> => (await events()).filter((e) => e.type === 'BackOff' && e.workload === 'boom')
  const waitForEvent = (what: string, match: (e: StoredEvent) => boolean, timeoutMs = 120_000): Promise<StoredEvent> =>
    waitFor(async () => (await events()).find(match), { what, timeoutMs, intervalMs: 250 })

  await waitForEvent('the crash-loop transition at the hub', (e) => e.type === 'WorkloadStateChanged' && e.workload === 'boom' && e.data?.to === 'crash-loop')
  const first = await waitForEvent('a first BackOff event', (e) => e.type === 'BackOff' && e.workload === 'boom')
  t.pass(`crash-loop, then BackOff (${first.data?.count} restart(s)) with a steady clock`)

  // A year back.
  setOffset('-365d')
  const behind = await waitForEvent('ClockBehind from the agent', (e) => e.type === 'ClockBehind', 60_000)
  t.ok(Date.parse(behind.at) < Date.now() - 300 * DAY_MS, `the agent's clock reads ${behind.at}`)
  const duringBack = await waitForEvent(
    'a BackOff event made with the clock a year back',
    (e) => e.type === 'BackOff' && e.workload === 'boom' && Date.parse(e.at) < Date.now() - 300 * DAY_MS,
  )
  t.pass(`BackOff events go on with the clock a year back (${duringBack.data?.count} restart(s))`)

  // And a year forward again.
  setOffset('+0')
  const recovered = await waitForEvent('ClockRecovered from the agent', (e) => e.type === 'ClockRecovered', 60_000)
  const afterForward = await waitForEvent(
    'a BackOff event made after the step forward',
    (e) => e.type === 'BackOff' && e.workload === 'boom' && e.id > recovered.id,
  )
  t.pass(`and after the step forward (${afterForward.data?.count} restart(s))`)

  // Every crash counted once: the agent's restart count meets the engine's die events.
  const restarts = async (): Promise<number> => (await agent.status()).workloads.find((w) => w.name === 'boom')?.restarts ?? -1
  await waitFor(async () => (await restarts()) === dies.length && dies.length > 0, {
    what: `the agent's restart count to equal the engine's ${dies.length} die events`,
    timeoutMs: 30_000,
    intervalMs: 200,
  })
  t.pass(`${dies.length} crashes, each counted once`)

  const all = await events()
  const transitions = all.filter((e) => e.type === 'WorkloadStateChanged' && e.workload === 'boom')
  t.equal(transitions.filter((e) => e.data?.to === 'crash-loop').length, 1, 'one transition into crash-loop')
  t.same(
    transitions.filter((e) => e.data?.from === 'crash-loop').map((e) => e.message),
    [],
    'and none out of it: crashes a year ahead or behind neither ended the loop nor kept it from counting',
  )

  const paced = await backOffs()
  t.ok(paced.length >= 3, `${paced.length} BackOff events`)
  const received = paced.map((e) => Date.parse(e.receivedAt ?? ''))
  t.ok(
    received.every((at) => Number.isFinite(at)),
    'the hub stamps each with its receive time',
  )
  const gaps = received.slice(1).map((at, i) => at - (received[i] ?? at))
  t.comment(`gaps between BackOff events at the hub (ms): ${gaps.join(', ')}`)
  t.ok(
    gaps.every((gap) => gap >= BACKOFF_EVENT_INTERVAL_MS - DELIVERY_SLACK_MS),
    `at most one per ${BACKOFF_EVENT_INTERVAL_MS / 1000} s before, during and after the steps (on the hub clock, less delivery delays)`,
  )
  const counted = paced.reduce((sum, e) => sum + Number(e.data?.count ?? 0), 0)
  t.ok(counted <= dies.length, `the BackOff counts (${counted}) never exceed the crashes (${dies.length})`)

  const ownStarts = agent
    .logLines('reconciling')
    .flatMap((l) => (l.steps as string[]) ?? [])
    .filter((step) => /^start boom \(/.test(step))
  t.same(ownStarts, [], "the agent never started the container on top of the engine's backoff")
  t.notMatch(agent.log(), /TimeoutOverflowWarning/, 'its wake-up timer never got a deadline a year away')
  t.comment(`resends for want of an ack: ${agent.logLines('no ack in time; resending').length}`)

  // No outbox record lost or stored twice.
  await waitFor(() => query<{ n: number }>(agent, 'SELECT COUNT(*) AS n FROM outbox')[0]?.n === 0, { what: 'the outbox to drain', timeoutMs: 60_000 })
  const logged = query<{ seq: number; type: string }>(agent, "SELECT seq, type FROM test_outbox_log WHERE kind = 'event' ORDER BY seq")
  const atHub = (await events()).filter((e) => e.seq !== null)
  const bySeq = new Map<number, StoredEvent[]>()
  for (const e of atHub) bySeq.set(e.seq ?? 0, [...(bySeq.get(e.seq ?? 0) ?? []), e])
  t.ok(logged.length > 0, `${logged.length} events emitted since the agent started under libfaketime`)
  t.same(
    logged.filter((r) => bySeq.get(r.seq)?.length !== 1 || bySeq.get(r.seq)?.[0]?.type !== r.type),
    [],
    'every one of them is at the hub exactly once',
  )
  t.same(
    [...bySeq.entries()].filter(([, list]) => list.length > 1).map(([seq]) => seq),
    [],
    'no seq stored twice',
  )

  stopWatching.abort()
  await watching
  t.ok(agent.alive, 'the agent kept running')
})

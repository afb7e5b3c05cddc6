#!/usr/bin/env node
// hub-reconnect: how long real agents take to come back after their hub restarts.
//
// A `shoal hub serve` (embedded aedes broker, SQLite) and N real agent processes
// (`shoal agent run --hub http://… --token …`) on the real Docker engine, each running one
// container of an `every-node` deployment. Each round: SIGKILL the hub; kill every agent's
// container (Docker restarts it; the agents report that into their outboxes, which then hold
// records the hub has not acknowledged); keep the hub down for --outage-seconds; start it again
// on the same data directory and ports. From the moment the restarted hub answers /healthz
// (`hubBack`, also timed from the spawn) the benchmark polls every --poll-ms:
//   ready     the node's first heartbeat received by the restarted hub (`usage.receivedAt` at or
//             after the restart), the node not Offline: the agent has reconnected (its condition
//             may be Degraded: the killed containers soon count as crash-looping)
//   drained   the agent's outbox (its own SQLite file, read-only) empty again
// and reports, per round, the time to the first and last node for each, and each agent's reconnect
// hint (the cap it stored, null for an agent or hub from before hints).
//
//   node scripts/bench/hub-reconnect.mjs [--agents 10] [--rounds 3] [--outage-seconds 5] [--poll-ms 50]
import path from 'node:path'
import Database from 'better-sqlite3'
import { benchArgs } from './lib/args.mjs'
import { SLEEP_COMMAND, TEST_IMAGE, benchRun, docker, ensureTestImage } from './lib/docker.mjs'
import { machine, machineLoad } from './lib/machine.mjs'
import { note, printResult, round } from './lib/output.mjs'
import { runBenchmark, sleep, startProcess, stopProcess, waitFor } from './lib/processes.mjs'
import { CLI, benchDir, startAgentProcess, startHub } from './lib/services.mjs'
import { summarize } from './lib/stats.mjs'

const options = benchArgs(
  { agents: 10, rounds: 3, outageSeconds: 5, pollMs: 50, logLevel: 'warn' },
  'node scripts/bench/hub-reconnect.mjs: hub SIGKILLed and restarted → every real agent Ready again and its outbox drained',
)

/** The agent's own SQLite file, read-only: its outbox depth and the reconnect hint it stored. */
function agentFacts(dataDir) {
  let db
  try {
    db = new Database(path.join(dataDir, 'agent.db'), { readonly: true, fileMustExist: true })
    db.pragma('busy_timeout = 2000')
    const outbox = db.prepare('SELECT COUNT(*) AS n FROM outbox').get().n
    let hintMs = null
    try {
      hintMs = db.prepare('SELECT cap_ms FROM reconnect_hint WHERE id = 1').get()?.cap_ms ?? null
    } catch {
      // an agent from before hints has no such table
    }
    return { outbox, hintMs }
  } finally {
    db?.close()
  }
}

await runBenchmark(async () => {
  const host = await machine()
  const load = machineLoad()
  await ensureTestImage()
  const dir = benchDir('reconnect')
  const run = benchRun('reconnect')
  let hub = await startHub(dir, { logLevel: options.logLevel })
  const { apiUrl, mqttPort, dataDir: hubData, api } = hub
  const apiPort = Number(new URL(apiUrl).port)

  /** The same hub again: same data directory, same ports (agents dial the broker URL they were given). */
  const restartHub = async () => {
    const handle = startProcess(
      'hub',
      process.execPath,
      [
        CLI,
        'hub',
        'serve',
        '--data-dir',
        hubData,
        '--listen',
        `127.0.0.1:${apiPort}`,
        '--mqtt-listen',
        `127.0.0.1:${mqttPort}`,
        '--log-level',
        options.logLevel,
      ],
      {
        logFile: path.join(dir, 'hub.log'),
      },
    )
    await waitFor(
      async () => {
        if (handle.exited) throw new Error(`hub exited (${JSON.stringify(handle.exited)})`)
        try {
          return (await fetch(`${apiUrl}/healthz`)).ok
        } catch {
          return false
        }
      },
      { what: 'the restarted hub to answer /healthz', timeoutMs: 60_000, intervalMs: 10 },
    )
    return handle
  }

  const { token } = await api('POST', '/api/v1/tokens', { maxUses: options.agents })
  const agents = []
  for (let i = 0; i < options.agents; i++) {
    const name = `${run.id}-${String(i).padStart(2, '0')}`
    const dataDir = path.join(dir, name)
    agents.push({
      name,
      dataDir,
      handle: startAgentProcess({ dataDir, name, hub: apiUrl, token, labels: `bench=${run.id}`, containerLabels: run.label, logLevel: options.logLevel }),
    })
  }
  const yaml = `apiVersion: shoal/v1\nkind: Deployment\nmetadata: { name: steady }\nspec:\n  mode: every-node\n  selector: { matchLabels: { bench: ${run.id} } }\n  template:\n    image: ${TEST_IMAGE}\n    command: ${JSON.stringify(SLEEP_COMMAND)}\n    restartPolicy: always\n    network: host\n`
  await api('POST', '/api/v1/manifests', yaml, 'application/yaml')
  const settled = async () => {
    const nodes = (await api('GET', '/api/v1/nodes')).items.filter((n) => n.labels.bench === run.id)
    return (
      nodes.length === options.agents && nodes.every((n) => n.online && n.workloads.running === 1) && agents.every((a) => agentFacts(a.dataDir).outbox === 0)
    )
  }
  await waitFor(settled, { what: `${options.agents} agents enrolled, running their container, outboxes empty`, timeoutMs: 300_000, intervalMs: 500 })
  note(`${options.agents} agents up`)

  const rounds = []
  for (let round_ = 1; round_ <= options.rounds; round_++) {
    await waitFor(settled, {
      what: 'the fleet to settle before the round (crash-loop backoff may hold a container a while)',
      timeoutMs: 600_000,
      intervalMs: 500,
    })
    const hints = agents.map((a) => agentFacts(a.dataDir).hintMs)
    const killedAt = performance.now()
    process.kill(hub.handle.pid, 'SIGKILL')
    await hub.handle.exitedPromise
    const containers = await docker().listContainers({ filters: { label: [run.label], status: ['running'] } })
    for (const c of containers)
      await docker()
        .getContainer(c.Id)
        .kill()
        .catch(() => undefined)
    await waitFor(() => agents.every((a) => agentFacts(a.dataDir).outbox > 0), {
      what: 'every agent to queue reports while the hub is down',
      timeoutMs: 60_000,
      intervalMs: 100,
    })
    const queued = agents.map((a) => agentFacts(a.dataDir).outbox)
    const waitMs = options.outageSeconds * 1000 - (performance.now() - killedAt)
    if (waitMs > 0) await sleep(waitMs)

    const spawnedAt = performance.now()
    const restartedWall = Date.now()
    const handle = await restartHub()
    hub = { ...hub, handle }
    const backAt = performance.now()
    const ready = new Map()
    const drained = new Map()
    await waitFor(
      async () => {
        const now = performance.now()
        const nodes = await api('GET', '/api/v1/nodes').catch(() => null)
        for (const n of nodes?.items ?? []) {
          if (ready.has(n.id) || n.labels.bench !== run.id) continue
          // Not Offline rather than Ready: a container killed every round soon counts as a crash
          // loop (Degraded), which says nothing about the link.
          if (n.usage && Date.parse(n.usage.receivedAt) >= restartedWall && n.condition.type !== 'Offline') ready.set(n.id, now - backAt)
        }
        for (const a of agents) if (!drained.has(a.name) && agentFacts(a.dataDir).outbox === 0) drained.set(a.name, now - backAt)
        return ready.size === options.agents && drained.size === options.agents
      },
      { what: 'every node Ready on the restarted hub with its outbox drained', timeoutMs: 300_000, intervalMs: options.pollMs },
    )
    const readyMs = [...ready.values()]
    const drainedMs = [...drained.values()]
    const result = {
      round: round_,
      outageMs: round(backAt - killedAt, 0),
      hubStartMs: round(backAt - spawnedAt, 0),
      queuedRecords: queued,
      hintsMs: hints,
      allReadyMs: round(Math.max(...readyMs), 0),
      allDrainedMs: round(Math.max(...drainedMs), 0),
      // From the restart's spawn: nodes may connect to the broker before the API answers.
      allReadyFromSpawnMs: round(backAt - spawnedAt + Math.max(...readyMs), 0),
      allDrainedFromSpawnMs: round(backAt - spawnedAt + Math.max(...drainedMs), 0),
      readyMs: summarize(readyMs, 0),
      drainedMs: summarize(drainedMs, 0),
    }
    note(
      `round ${round_}: all Ready ${result.allReadyMs} ms, all drained ${result.allDrainedMs} ms after the hub was back (hints ${[...new Set(hints)].join(',')})`,
    )
    rounds.push(result)
  }
  for (const a of agents) await stopProcess(a.handle)
  await stopProcess(hub.handle)
  printResult({
    benchmark: 'hub-reconnect',
    agents: 'real',
    count: options.agents,
    options,
    machine: { ...host, ...load() },
    rounds,
    summary: {
      allReadyMs: summarize(
        rounds.map((r) => r.allReadyMs),
        0,
      ),
      allDrainedMs: summarize(
        rounds.map((r) => r.allDrainedMs),
        0,
      ),
      allReadyFromSpawnMs: summarize(
        rounds.map((r) => r.allReadyFromSpawnMs),
        0,
      ),
    },
  })
})

#!/usr/bin/env node
// agent-copy-vs-deployments: one copy with four containers (a several-container template:
// `containers`, host network) against the same four containers as four one-container
// workloads (four deployments), for a real agent process over a real broker against the real
// Docker engine. Per scenario and round, a fresh agent (its own node id and data dir):
//   1. the agent connects and takes an empty desired document; after --settle-seconds, RSS
//      is sampled over --window-seconds (idle);
//   2. one signed document with the scenario's workloads is published and timed, from just
//      before the publish, to: the engine's `start` event of the first and of the fourth
//      container, and the agent's status saying all four are running reaching the hub side
//      (includes the outbox's batching); the agent's peak RSS over the apply (VmHWM, reset
//      through /proc/<pid>/clear_refs just before the publish, and 20 ms samples) and its CPU
//      time from the publish to that status;
//   3. after --settle-seconds with the four running, RSS and CPU over --window-seconds;
//   4. an empty document, timed to the fourth container's `destroy` event; the agent stops.
// Scenarios alternate in order from round to round; --warmup rounds are run and not counted.
// The four containers are the bench busybox image waiting on `sleep`, host network.
//
//   node scripts/bench/agent-copy-vs-deployments.mjs [--rounds 5] [--warmup 1] [--settle-seconds 10] [--window-seconds 15]
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { benchArgs } from './lib/args.mjs'
import { SLEEP_COMMAND, TEST_IMAGE, benchRun, docker, ensureTestImage, removeContainersByLabel, watchContainerEvents } from './lib/docker.mjs'
import { machine, machineLoad } from './lib/machine.mjs'
import { MqttHubDouble } from './lib/mqtt-hub-double.mjs'
import { note, printResult, round } from './lib/output.mjs'
import { MB, alive, cpuTimes, memory, sampleProcess } from './lib/proc.mjs'
import { runBenchmark, sleep, stopProcess } from './lib/processes.mjs'
import { benchDir, startAgentProcess, startMosquitto } from './lib/services.mjs'
import { summarize } from './lib/stats.mjs'

const options = benchArgs(
  { rounds: 5, warmup: 1, settleSeconds: 10, windowSeconds: 15, containers: 4, logLevel: 'warn' },
  'node scripts/bench/agent-copy-vs-deployments.mjs: one copy of four containers against four one-container deployments (apply latency, agent RSS)',
)
const CONTAINERS = Array.from({ length: options.containers }, (_, i) => `c${i}`)
const container = () => ({ image: TEST_IMAGE, command: SLEEP_COMMAND, restartPolicy: 'always' })

/** The desired workloads of a scenario, and the io.shoal.workload label of each container it runs. */
const SCENARIOS = {
  copy: {
    what: `one copy with ${CONTAINERS.length} containers (host network)`,
    workloads: () => [
      { name: 'pod', deployment: 'pod', revision: 1, template: { network: 'host', containers: CONTAINERS.map((name) => ({ name, ...container() })) } },
    ],
    members: CONTAINERS.map((name) => `pod.${name}`),
    allRunning: (status) => {
      const copy = status.workloads.find((w) => w.name === 'pod')
      return copy?.state === 'running' && copy.containers?.length === CONTAINERS.length && copy.containers.every((c) => c.state === 'running')
    },
  },
  deployments: {
    what: `${CONTAINERS.length} one-container workloads (${CONTAINERS.length} deployments, host network)`,
    workloads: () => CONTAINERS.map((name) => ({ name: `dep-${name}`, deployment: `dep-${name}`, revision: 1, template: { ...container(), network: 'host' } })),
    members: CONTAINERS.map((name) => `dep-${name}`),
    allRunning: (status) => CONTAINERS.every((name) => status.workloads.some((w) => w.name === `dep-${name}` && w.state === 'running')),
  },
}

/** Resets the process's peak RSS (VmHWM) to its current RSS; false where the kernel refuses. */
function resetPeak(pid) {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5')
    return true
  } catch {
    return false
  }
}

const mib = (bytes) => round(bytes / MB, 1)
const windowFigures = (w) => ({
  rssMiB: { mean: mib(w.rssBytes.mean), min: mib(w.rssBytes.min), max: mib(w.rssBytes.max), samples: w.rssBytes.samples },
  rssAnonMiB: mib(w.rssAnonBytes),
  pssMiB: w.pssBytes === null ? null : mib(w.pssBytes),
  cpuPercentOfOneCore: round(w.cpuPercentOfOneCore, 3),
  windowSeconds: round(w.windowSeconds, 1),
})

await runBenchmark(async () => {
  const host = await machine()
  const load = machineLoad()
  await ensureTestImage()
  const dir = benchDir('copy-vs-deployments')
  const run = benchRun('cvd')
  const broker = await startMosquitto(dir)

  // Engine events for every container of this run (all carry the run's bench label).
  const events = []
  const eventWaiters = new Set()
  const stopEvents = await watchContainerEvents(run.label, (event) => {
    events.push(event)
    for (const waiter of eventWaiters) waiter()
  })
  /** Resolves with the events matching `predicate` once there are `count` of them (from index `from`). */
  const waitEvents = (predicate, count, what, { from = 0, timeoutMs = 60_000 } = {}) =>
    new Promise((resolve, reject) => {
      const check = () => {
        const found = events.slice(from).filter(predicate)
        if (found.length < count) return
        clearTimeout(timer)
        eventWaiters.delete(check)
        resolve(found.slice(0, count))
      }
      const timer = setTimeout(() => {
        eventWaiters.delete(check)
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`))
      }, timeoutMs)
      eventWaiters.add(check)
      check()
    })

  let units = 0
  /** One scenario with a fresh agent: idle, apply, running, teardown. */
  const unit = async (key, roundIndex) => {
    const scenario = SCENARIOS[key]
    const nodeId = `${run.id}-${units++}`
    const hub = new MqttHubDouble(nodeId)
    await hub.connect(broker.url)
    const agent = startAgentProcess({
      dataDir: path.join(dir, nodeId),
      name: nodeId,
      hub: broker.url,
      hubKey: hub.publicKey,
      containerLabels: run.label,
      logLevel: options.logLevel,
    })
    try {
      let generation = 1
      await hub.publishDesired(generation, [])
      await hub.waitForOnline()
      await sleep(options.settleSeconds * 1000)
      const idle = sampleProcess(agent.pid)
      await sleep(options.windowSeconds * 1000)
      const idleWindow = idle.stop()

      // --- apply ---
      const mine = (e) => e.labels['io.shoal.node'] === nodeId && scenario.members.includes(e.labels['io.shoal.workload'])
      const fromEvent = events.length
      const fromStatus = hub.statuses.length
      const peakReset = resetPeak(agent.pid)
      const rssBefore = memory(agent.pid).rss
      let sampledMax = rssBefore
      const sampler = setInterval(() => {
        if (alive(agent.pid)) sampledMax = Math.max(sampledMax, memory(agent.pid).rss)
      }, 20)
      const cpu0 = cpuTimes(agent.pid).self
      generation++
      const t0 = performance.now()
      await hub.publishDesired(generation, scenario.workloads())
      const started = await waitEvents(
        (e) => e.action === 'start' && mine(e),
        scenario.members.length,
        `${scenario.members.length} containers of ${key} to start`,
        {
          from: fromEvent,
        },
      )
      const status = await hub.waitForStatus((s) => s.observedGeneration === generation && scenario.allRunning(s), { from: fromStatus, timeoutMs: 60_000 })
      const cpuApply = cpuTimes(agent.pid).self - cpu0
      clearInterval(sampler)
      const mem = memory(agent.pid)
      sampledMax = Math.max(sampledMax, mem.rss)
      // Every status record that reached the hub side during the apply, in order (for reading).
      const timeline = hub.statuses.slice(fromStatus, hub.statuses.indexOf(status) + 1).map((s) => ({
        ms: round(s.at - t0, 1),
        generation: s.status.observedGeneration,
        workloads: s.status.workloads.map((w) => `${w.name}:${w.state}${w.containers ? `[${w.containers.map((c) => `${c.name}:${c.state}`).join(',')}]` : ''}`),
      }))
      const distinct = new Set(started.map((e) => e.labels['io.shoal.workload']))
      if (distinct.size !== scenario.members.length) throw new Error(`${key}: a container started twice before all had started (${[...distinct].join(', ')})`)

      // --- running ---
      await sleep(options.settleSeconds * 1000)
      const running = sampleProcess(agent.pid)
      await sleep(options.windowSeconds * 1000)
      const runningWindow = running.stop()
      const names = (await docker().listContainers({ filters: { label: [run.label, `io.shoal.node=${nodeId}`] } })).map((c) => ({
        name: c.Names[0]?.replace(/^\//, ''),
        workload: c.Labels['io.shoal.workload'],
        state: c.State,
        network: c.HostConfig?.NetworkMode,
      }))
      if (names.length !== scenario.members.length || names.some((c) => c.state !== 'running'))
        throw new Error(`${key}: expected ${scenario.members.length} running containers after the window, found ${JSON.stringify(names)}`)
      const lastStatus = hub.statuses.at(-1)?.status

      // --- teardown (timed, for reading) ---
      const ids = new Set(started.map((e) => e.id))
      const fromRemove = events.length
      generation++
      const r0 = performance.now()
      await hub.publishDesired(generation, [])
      const removed = await waitEvents((e) => e.action === 'destroy' && ids.has(e.id), ids.size, `the removal of ${key}'s containers`, { from: fromRemove })

      const starts = started.map((e) => e.at - t0)
      const result = {
        scenario: key,
        round: roundIndex,
        nodeId,
        agentPid: agent.pid,
        applyMs: {
          firstContainerStarted: round(Math.min(...starts), 1),
          allContainersStarted: round(Math.max(...starts), 1),
          statusAllRunningAtHub: round(status.at - t0, 1),
        },
        applyAgentCpuMs: round(cpuApply * 1000, 0),
        statusTimeline: timeline,
        rssBeforeApplyMiB: mib(rssBefore),
        peakRssDuringApplyMiB: { vmHwm: peakReset ? mib(mem.peak) : null, sampled20ms: mib(sampledMax) },
        idle: windowFigures(idleWindow),
        running: windowFigures(runningWindow),
        peakRssSinceStartMiB: mib(runningWindow.peakRssBytes),
        removeAllMs: round(Math.max(...removed.map((e) => e.at - r0)), 1),
        containers: names,
        statusAtEnd: lastStatus?.workloads ?? null,
      }
      note(
        `round ${roundIndex} ${key}: all started ${result.applyMs.allContainersStarted} ms, status ${result.applyMs.statusAllRunningAtHub} ms,` +
          ` rss idle ${result.idle.rssMiB.mean} → running ${result.running.rssMiB.mean} MiB (apply peak ${result.peakRssDuringApplyMiB.sampled20ms})`,
      )
      return result
    } finally {
      await stopProcess(agent)
      await hub.close()
      await removeContainersByLabel(`io.shoal.node=${nodeId}`)
    }
  }

  const results = []
  const total = options.warmup + options.rounds
  for (let r = 0; r < total; r++) {
    const order = r % 2 === 0 ? ['copy', 'deployments'] : ['deployments', 'copy']
    for (const key of order) {
      const result = await unit(key, r)
      if (r >= options.warmup) results.push(result)
    }
  }
  stopEvents()
  await stopProcess(broker.handle)
  await removeContainersByLabel(run.label)

  const of = (key, pick) => summarize(results.filter((r) => r.scenario === key).map(pick))
  const scenarioSummary = (key) => ({
    what: SCENARIOS[key].what,
    applyMs: {
      firstContainerStarted: of(key, (r) => r.applyMs.firstContainerStarted),
      allContainersStarted: of(key, (r) => r.applyMs.allContainersStarted),
      statusAllRunningAtHub: of(key, (r) => r.applyMs.statusAllRunningAtHub),
    },
    applyAgentCpuMs: of(key, (r) => r.applyAgentCpuMs),
    rssMiB: {
      idle: of(key, (r) => r.idle.rssMiB.mean),
      beforeApply: of(key, (r) => r.rssBeforeApplyMiB),
      peakDuringApply: of(key, (r) => r.peakRssDuringApplyMiB.vmHwm ?? r.peakRssDuringApplyMiB.sampled20ms),
      running: of(key, (r) => r.running.rssMiB.mean),
      runningMinusIdle: of(key, (r) => r.running.rssMiB.mean - r.idle.rssMiB.mean),
      runningAnon: of(key, (r) => r.running.rssAnonMiB),
      runningPss: of(key, (r) => r.running.pssMiB),
    },
    runningCpuPercentOfOneCore: of(key, (r) => r.running.cpuPercentOfOneCore),
    removeAllMs: of(key, (r) => r.removeAllMs),
    containerNames: results.find((r) => r.scenario === key)?.containers.map((c) => c.name) ?? [],
  })
  printResult({
    benchmark: 'agent-copy-vs-deployments',
    command: `node scripts/bench/agent-copy-vs-deployments.mjs ${process.argv.slice(2).join(' ')}`.trim(),
    at: new Date().toISOString(),
    machine: { ...host, ...load() },
    agents: 'real',
    broker: 'mosquitto',
    image: TEST_IMAGE,
    containersPerScenario: CONTAINERS.length,
    rounds: options.rounds,
    warmupRounds: options.warmup,
    settleSeconds: options.settleSeconds,
    windowSeconds: options.windowSeconds,
    logLevel: options.logLevel,
    units: { latency: 'ms', rss: 'MiB', summaries: 'n/min/p50/p90/p99/max/mean over the counted rounds' },
    copy: scenarioSummary('copy'),
    deployments: scenarioSummary('deployments'),
    raw: results.map(({ containers: _containers, statusAtEnd, ...r }, i) => (i < 2 ? { ...r, statusAtEnd } : r)),
  })
})

#!/usr/bin/env node
// agent-apply-latency: time from a new signed desired document to its container running (image
// present), over a real broker, for a real agent process against the real Docker engine;
// beside the floor: the same container created and started through dockerode directly.
//
// Set-up: Mosquitto on a free loopback port; the benchmark plays the hub (its own Ed25519
// key, pinned by the agent with --hub-key; documents published retained at QoS 1; the outbox
// acknowledged); `shoal agent run --hub mqtt://127.0.0.1:PORT`.
// Each run publishes generation g with one new workload (busybox, sh waiting on sleep) and
// times, from just before the publish:
//   dockerStart  the engine's `start` event for that container reaching the benchmark
//   statusRunning  the agent's status record saying the workload is `running` reaching the
//                  hub side (includes the outbox's batching: see notes in docs/benchmarks.md)
// Then generation g+1 empties the node (untimed) before the next run; each run starts after a
// random pause (0..--jitter-ms) so that it meets the agent's periodic timers at a random phase.
// Floor runs alternate with agent runs: dockerode createContainer (the agent's own create
// options) + start, timed to start() returning and to the same `start` event.
//
//   node scripts/bench/agent-apply-latency.mjs [--runs 50] [--warmup 3] [--jitter-ms 5000]
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { benchArgs } from './lib/args.mjs'
import { BENCH_LABEL, SLEEP_COMMAND, TEST_IMAGE, benchRun, docker, ensureTestImage, removeContainersByLabel, watchContainerEvents } from './lib/docker.mjs'
import { machine, machineLoad } from './lib/machine.mjs'
import { MqttHubDouble } from './lib/mqtt-hub-double.mjs'
import { note, printResult, round } from './lib/output.mjs'
import { runBenchmark, sleep, stopProcess } from './lib/processes.mjs'
import { DIST, benchDir, startAgentProcess, startMosquitto } from './lib/services.mjs'
import { summarize } from './lib/stats.mjs'

const options = benchArgs(
  { runs: 50, warmup: 3, jitterMs: 5000, logLevel: 'warn' },
  'node scripts/bench/agent-apply-latency.mjs: desired document → container running, beside dockerode create+start',
)
const { containerCreateOptions } = await import(pathToFileURL(path.join(DIST, 'agent', 'runtime', 'docker-container-config.js')).href)
const { Workload } = await import(pathToFileURL(path.join(DIST, 'protocol', 'index.js')).href)

const template = { image: TEST_IMAGE, command: SLEEP_COMMAND, restartPolicy: 'always' }

await runBenchmark(async () => {
  const host = await machine()
  const load = machineLoad()
  await ensureTestImage()
  const dir = benchDir('apply')
  const run = benchRun('apply')
  const nodeId = run.id
  const broker = await startMosquitto(dir)
  const hub = new MqttHubDouble(nodeId)
  await hub.connect(broker.url)

  // Engine events for this run's containers, by workload label.
  const events = []
  const eventWaiters = new Set()
  const stopEvents = await watchContainerEvents(run.label, (event) => {
    events.push(event)
    for (const waiter of eventWaiters) waiter()
  })
  const waitEvent = (predicate, what, timeoutMs = 30_000) =>
    new Promise((resolve, reject) => {
      const check = () => {
        const found = events.find(predicate)
        if (!found) return
        clearTimeout(timer)
        eventWaiters.delete(check)
        resolve(found)
      }
      const timer = setTimeout(() => {
        eventWaiters.delete(check)
        reject(new Error(`timed out waiting for ${what}`))
      }, timeoutMs)
      eventWaiters.add(check)
      check()
    })

  const agent = startAgentProcess({
    dataDir: path.join(dir, 'agent'),
    name: nodeId,
    hub: broker.url,
    hubKey: hub.publicKey,
    containerLabels: run.label,
    logLevel: options.logLevel,
  })
  let generation = 1
  await hub.publishDesired(generation, [])
  // An empty first document changes nothing, so the agent reports no status for it: wait for
  // its presence, then give it a moment to take the document in.
  await hub.waitForOnline()
  await sleep(1000)
  note(`agent pid ${agent.pid} connected`)

  const agentRuns = []
  const floorRuns = []
  const total = options.warmup + options.runs
  for (let i = 0; i < total; i++) {
    const counted = i >= options.warmup
    // --- through the agent ---
    const name = `lat-${i}`
    // A random pause, so runs land at random phases of the agent's timers (the outbox is
    // flushed on a 5 s tick; without this every run would meet that tick at the same phase).
    await sleep(Math.random() * options.jitterMs)
    const fromStatus = hub.statuses.length
    generation++
    const t0 = performance.now()
    await hub.publishDesired(generation, [{ name, deployment: 'lat', revision: 1, template }])
    const started = await waitEvent((e) => e.action === 'start' && e.labels['io.shoal.workload'] === name, `the start of ${name}`)
    const status = await hub.waitForStatus((s) => s.observedGeneration === generation && s.workloads.some((w) => w.name === name && w.state === 'running'), {
      from: fromStatus,
    })
    if (counted) agentRuns.push({ dockerStartMs: started.at - t0, statusRunningMs: status.at - t0 })
    // Empty the node again (untimed).
    generation++
    await hub.publishDesired(generation, [])
    await waitEvent((e) => e.action === 'destroy' && e.id === started.id, `the removal of ${name}`)
    await hub.waitForStatus((s) => s.observedGeneration === generation && s.workloads.length === 0, { from: hub.statuses.length - 1 })

    // --- the floor: dockerode directly, the same create options ---
    const floorName = `floor-${i}`
    const spec = {
      nodeId: `${nodeId}-floor`,
      name: `shoal-${nodeId}-floor-${i}`,
      workload: Workload.parse({ name: floorName, deployment: 'floor', revision: 1, template }),
      configHash: 'floor',
      extraLabels: { [BENCH_LABEL]: run.id },
    }
    const f0 = performance.now()
    const container = await docker().createContainer(containerCreateOptions(spec))
    await container.start()
    const returned = performance.now()
    const floorStart = await waitEvent((e) => e.action === 'start' && e.id === container.id, `the start of ${floorName}`)
    if (counted) floorRuns.push({ startReturnedMs: returned - f0, dockerStartMs: floorStart.at - f0 })
    await container.remove({ force: true, v: true })
    await sleep(200)
    if (counted && (i - options.warmup + 1) % 10 === 0) note(`${i - options.warmup + 1}/${options.runs} runs`)
  }
  stopEvents()
  await stopProcess(agent)
  await hub.close()
  await removeContainersByLabel(run.label)

  const agentStart = summarize(agentRuns.map((r) => r.dockerStartMs))
  const floorEvent = summarize(floorRuns.map((r) => r.dockerStartMs))
  printResult({
    benchmark: 'agent-apply-latency',
    command: `node scripts/bench/agent-apply-latency.mjs ${process.argv.slice(2).join(' ')}`.trim(),
    at: new Date().toISOString(),
    machine: { ...host, ...load() },
    agents: 'real',
    broker: 'mosquitto',
    runs: options.runs,
    warmupRuns: options.warmup,
    jitterMs: options.jitterMs,
    unit: 'ms',
    agent: {
      toDockerStartEvent: agentStart,
      toStatusRunningAtHub: summarize(agentRuns.map((r) => r.statusRunningMs)),
    },
    floorDockerode: {
      createStartReturned: summarize(floorRuns.map((r) => r.startReturnedMs)),
      toDockerStartEvent: floorEvent,
    },
    agentOverFloor: { p50: round(agentStart.p50 - floorEvent.p50, 1), p99: round(agentStart.p99 - floorEvent.p99, 1) },
    raw: {
      agent: agentRuns.map((r) => ({ dockerStartMs: round(r.dockerStartMs, 1), statusRunningMs: round(r.statusRunningMs, 1) })),
      floor: floorRuns.map((r) => ({ startReturnedMs: round(r.startReturnedMs, 1), dockerStartMs: round(r.dockerStartMs, 1) })),
    },
  })
})

#!/usr/bin/env node
// hub-fanout: apply a deployment to N connected agents and time until all N have acknowledged
// the new generation (GET /api/v1/nodes: generation.observed >= generation.latest), with the
// hub's CPU and RSS, and per-message costs to extrapolate from.
//
// Each configuration gets a fresh hub (`shoal hub serve`, embedded aedes broker, SQLite) and
// N agents enrolled with one join token, labelled bench=<run id>:
//   real:N    N real agent processes (`shoal agent run`) on the real Docker engine
//   hollow:N  SIMULATED nodes: the real agent code over HollowRuntime (in memory, runs
//             nothing), up to --per-process agents in each Node process ("agents": "hollow")
// Then, per round, an `every-node` deployment selecting bench=<run id> is applied with a new
// revision (so every node gets a new generation), and the benchmark measures:
//   postMs          POST /api/v1/manifests until it answers (schedule, sign, store, publish)
//   allRunningMs    until every node's runtime started the new container (docker `start`
//                   events for real agents, HollowRuntime start callbacks for hollow ones)
//   allAckedMs      until the hub's API shows every node's observed generation caught up
// Hub CPU (utime+stime) is split into the POST (the publish side, per desired document) and the
// rest (the ingest side, per outbox batch and record), after subtracting the idle rate
// (heartbeats, timers: measured before the rounds) and the cost of the benchmark's own polls
// (measured too; polls are spaced so they stay under ~10% of the hub's time).
// Hollow agents enroll --hollow-concurrency at a time in all (default 8): the hub hashes each
// new node's credentials synchronously, so a bigger join storm only stalls its event loop.
// A configuration that fails (a fleet that never gets fully online within --join-timeout
// seconds, say) is reported with its error and what was measured up to then; the others run.
// --hub-cpu-profile true runs the hub under `node --cpu-prof` and adds where its time went.
//
//   node scripts/bench/hub-fanout.mjs [--configs real:10,real:20,hollow:10,hollow:100,hollow:1000] [--rounds 3]
//        [--idle-seconds 20] [--tail-ms 6000] [--poll-ms 200] [--per-process 250] [--hollow-concurrency 8]
//        [--join-timeout 900] [--hub-cpu-profile false]
import { mkdirSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { benchArgs } from './lib/args.mjs'
import { summarizeProfiles } from './lib/cpu-profile.mjs'
import { SLEEP_COMMAND, TEST_IMAGE, benchRun, ensureTestImage, removeContainersByLabel, watchContainerEvents } from './lib/docker.mjs'
import { machine, machineLoad } from './lib/machine.mjs'
import { note, printResult, round } from './lib/output.mjs'
import { MB, cpuTimes, io, memory } from './lib/proc.mjs'
import { runBenchmark, sleep, startProcess, stopProcess, waitFor } from './lib/processes.mjs'
import { benchDir, parseMetrics, startAgentProcess, startHub } from './lib/services.mjs'
import { summarize } from './lib/stats.mjs'

const options = benchArgs(
  {
    configs: ['real:10', 'real:20', 'hollow:10', 'hollow:100', 'hollow:1000'],
    rounds: 3,
    idleSeconds: 20,
    tailMs: 6000,
    pollMs: 200,
    perProcess: 250,
    hollowConcurrency: 8,
    joinTimeout: 900,
    hubCpuProfile: false,
    logLevel: 'warn',
  },
  'node scripts/bench/hub-fanout.mjs: time for a deployment to reach N agents, and what it costs the hub',
)

const HOLLOW_FLEET = fileURLToPath(new URL('./lib/hollow-fleet.mjs', import.meta.url))
const HOLLOW_NOTE = 'SIMULATED nodes: real agent code over an in-memory runtime (agent/runtime/hollow-runtime.ts), many per Node process'
const epochNow = () => performance.timeOrigin + performance.now()

function parseConfig(text) {
  const match = /^(real|hollow):(\d+)$/.exec(text)
  if (!match || Number(match[2]) < 1) throw new Error(`config ${JSON.stringify(text)}: expected real:N or hollow:N`)
  return { name: text, kind: match[1], count: Number(match[2]) }
}

function manifest(name, runId, round) {
  return JSON.stringify({
    apiVersion: 'shoal/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: {
      mode: 'every-node',
      selector: { matchLabels: { bench: runId } },
      template: { image: TEST_IMAGE, command: SLEEP_COMMAND, env: { ROUND: String(round) }, restartPolicy: 'always' },
    },
  })
}

/** Samples hub RSS every 200 ms while a round runs. */
function rssWatch(pid) {
  let max = memory(pid).rss
  const timer = setInterval(() => {
    max = Math.max(max, memory(pid).rss)
  }, 200)
  return () => {
    clearInterval(timer)
    return Math.max(max, memory(pid).rss)
  }
}

const counter = (metrics, key) => metrics.get(key) ?? 0
function messageCounts(before, after) {
  const d = (key) => counter(after, key) - counter(before, key)
  return {
    desiredOut: d('shoal_messages_out_total{channel="desired"}'),
    acksOut: d('shoal_messages_out_total{channel="ack"}'),
    outboxBatchesIn: d('shoal_messages_in_total{channel="outbox"}'),
    outboxRecordsApplied: d('shoal_outbox_records_total{outcome="applied"}'),
    outboxRecordsDuplicate: d('shoal_outbox_records_total{outcome="duplicate"}'),
    heartbeatsIn: d('shoal_messages_in_total{channel="heartbeat"}'),
    presenceIn: d('shoal_messages_in_total{channel="presence"}'),
  }
}

const median = (values) =>
  summarize(
    values.filter((v) => v !== null && v !== undefined),
    3,
  ).p50

/** Starts the N agents of a configuration; returns their handles and a hook on runtime starts. */
async function startFleet(config, run, base, hub, token, onStart, result) {
  const handles = []
  let stopEvents = () => undefined
  if (config.kind === 'real') {
    stopEvents = await watchContainerEvents(run.label, (event) => {
      if (event.action === 'start') onStart(event.labels['io.shoal.node'], Number(event.labels['io.shoal.revision']), performance.timeOrigin + event.at)
    })
    for (let i = 0; i < config.count; i++) {
      const name = `${run.id}-${String(i).padStart(3, '0')}`
      handles.push(
        startAgentProcess({
          dataDir: path.join(base, name),
          name,
          hub: hub.apiUrl,
          token,
          labels: `bench=${run.id}`,
          containerLabels: run.label,
          logLevel: options.logLevel,
        }),
      )
    }
    return { handles, stopEvents }
  }
  const processes = Math.ceil(config.count / options.perProcess)
  const concurrency = Math.max(1, Math.floor(options.hollowConcurrency / processes))
  result.hollow = { note: HOLLOW_NOTE, processes, enrollConcurrencyPerProcess: concurrency }
  for (let p = 0; p < processes; p++) {
    const count = Math.min(options.perProcess, config.count - p * options.perProcess)
    const spec = {
      hubUrl: hub.apiUrl,
      token,
      count,
      prefix: `${run.id}-p${p}`,
      labels: { bench: run.id },
      dataRoot: path.join(base, `hollow-${p}`),
      logLevel: options.logLevel,
      image: TEST_IMAGE,
      concurrency,
    }
    const handle = startProcess(`hollow fleet ${p}`, process.execPath, [HOLLOW_FLEET, JSON.stringify(spec)], { logFile: path.join(base, `hollow-${p}.log`) })
    handle.onLine = (line) => {
      const message = JSON.parse(line)
      if (message.type === 'start') onStart(message.nodeId, message.revision, message.at)
    }
    handles.push(handle)
  }
  return { handles, stopEvents }
}

/** Waits until all N are online, recording how many were online over time. */
async function waitForFleet(config, benchNodes, hubPid, handles, result) {
  const started = performance.now()
  const joinCpu0 = cpuTimes(hubPid).self
  const timeline = []
  const firstAt = {}
  const intervalMs = config.count > 200 ? 2000 : 1000
  const record = (online) => {
    const seconds = (performance.now() - started) / 1000
    timeline.push([round(seconds, 1), online])
    for (const fraction of [0.5, 0.9, 1]) if (online >= Math.ceil(fraction * config.count)) firstAt[`${fraction * 100}%`] ??= round(seconds, 1)
    result.join = {
      note: 'from starting the agents until all are online: enrollment (the hub hashes each node credential with scrypt), first MQTT connect, first documents and statuses',
      secondsToOnline: firstAt,
      online,
      hubCpuMs: round((cpuTimes(hubPid).self - joinCpu0) * 1000, 0),
      hubCpuMsPerNode: round(((cpuTimes(hubPid).self - joinCpu0) * 1000) / Math.max(1, online), 1),
      agentProcessesCpuMs: round(handles.reduce((sum, h) => sum + (h.exited ? 0 : cpuTimes(h.pid).self), 0) * 1000, 0),
      hubRssMiB: round(memory(hubPid).rss / MB, 1),
      onlineTimeline: timeline.filter((_, i) => i % Math.max(1, Math.floor(timeline.length / 40)) === 0 || i === timeline.length - 1),
    }
  }
  await waitFor(
    async () => {
      const dead = handles.find((h) => h.exited)
      if (dead) throw new Error(`${dead.name} exited (${JSON.stringify(dead.exited)}); see ${dead.logFile}`)
      const online = (await benchNodes()).filter((n) => n.online).length
      record(online)
      return online === config.count
    },
    { what: `${config.count} agents enrolled and online`, timeoutMs: options.joinTimeout * 1000, intervalMs },
  )
  return (performance.now() - started) / 1000
}

async function measureIdle(hub, hubPid, result) {
  const metrics0 = parseMetrics(await hub.api('GET', '/metrics'))
  const cpu0 = cpuTimes(hubPid).self
  const io0 = io(hubPid).writeBytes
  const started = performance.now()
  await sleep(options.idleSeconds * 1000)
  const cpu1 = cpuTimes(hubPid).self
  const writeBytes = io(hubPid).writeBytes - io0
  const elapsed = (performance.now() - started) / 1000
  const counts = messageCounts(metrics0, parseMetrics(await hub.api('GET', '/metrics')))
  const rate = (cpu1 - cpu0) / elapsed
  result.hubIdle = {
    windowSeconds: round(elapsed, 1),
    cpuPercentOfOneCore: round(rate * 100, 3),
    rssMiB: round(memory(hubPid).rss / MB, 1),
    messages: counts,
    cpuMsPerHeartbeat: counts.heartbeatsIn > 0 ? round((rate * elapsed * 1000) / counts.heartbeatsIn, 3) : null,
    diskWriteBytesPerHour: Math.round((writeBytes * 3600) / elapsed),
    diskWriteBytesPerHeartbeat: counts.heartbeatsIn > 0 ? Math.round(writeBytes / counts.heartbeatsIn) : null,
  }
  return rate
}

async function runRound(r, ctx) {
  const { config, hub, hubPid, run, starts, benchNodes, idleCpuRate, pollCpuSeconds, pollIntervalMs } = ctx
  const before = new Map((await benchNodes()).map((n) => [n.id, n.generation.latest]))
  const metrics0 = parseMetrics(await hub.api('GET', '/metrics'))
  const stopRss = rssWatch(hubPid)
  const cpu0 = cpuTimes(hubPid).self
  const io0 = io(hubPid).writeBytes
  const t0 = performance.now()
  const t0Epoch = epochNow()
  const applied = await hub.api('POST', '/api/v1/manifests', manifest(`fanout-${run.id}`.slice(0, 63), run.id, r), 'application/yaml')
  const tPost = performance.now()
  const cpuPost = cpuTimes(hubPid).self
  const revision = applied.results[0].revision
  const ackedAt = new Map()
  let polls = 0
  await waitFor(
    async () => {
      const nodes = await benchNodes()
      polls++
      const now = performance.now()
      for (const node of nodes) {
        if (!ackedAt.has(node.id) && node.generation.latest > (before.get(node.id) ?? 0) && node.generation.observed >= node.generation.latest)
          ackedAt.set(node.id, now - t0)
      }
      return ackedAt.size === config.count
    },
    { what: `all ${config.count} nodes to acknowledge round ${r} (${ackedAt.size} so far)`, timeoutMs: 180_000, intervalMs: pollIntervalMs },
  )
  const tAck = performance.now()
  await waitFor(() => [...before.keys()].every((id) => starts.has(`${id}@${revision}`)), {
    what: `every node to start revision ${revision}`,
    timeoutMs: 60_000,
    intervalMs: 100,
  })
  // Let trailing status batches and acks land, then close the window.
  await sleep(options.tailMs)
  const cpu1 = cpuTimes(hubPid).self
  const writeBytes = io(hubPid).writeBytes - io0
  const t1 = performance.now()
  const maxRss = stopRss()
  const counts = messageCounts(metrics0, parseMetrics(await hub.api('GET', '/metrics')))
  const runningTimes = [...before.keys()].map((id) => starts.get(`${id}@${revision}`) - t0Epoch)
  const publishCpuMs = (cpuPost - cpu0) * 1000
  const restSeconds = (t1 - tPost) / 1000
  const ingestCpuMs = (cpu1 - cpuPost - idleCpuRate * restSeconds - polls * pollCpuSeconds) * 1000
  note(
    `${config.name} round ${r}: post ${round(tPost - t0, 0)} ms, all running ${round(Math.max(...runningTimes), 0)} ms, all acked ${round(tAck - t0, 0)} ms, hub cpu ${round((cpu1 - cpu0) * 1000, 0)} ms`,
  )
  return {
    round: r,
    revision,
    postMs: round(tPost - t0, 1),
    allRunningMs: round(Math.max(...runningTimes), 1),
    runningMs: summarize(runningTimes),
    allAckedMs: round(tAck - t0, 1),
    ackedMs: summarize([...ackedAt.values()]),
    hubCpuMs: {
      total: round((cpu1 - cpu0) * 1000, 0),
      post: round(publishCpuMs, 0),
      afterPost: round((cpu1 - cpuPost) * 1000, 0),
      idleShare: round(idleCpuRate * restSeconds * 1000, 0),
      pollShare: round(polls * pollCpuSeconds * 1000, 0),
    },
    windowSeconds: round((t1 - t0) / 1000, 2),
    polls,
    messages: counts,
    cpuMsPerDesiredPublished: counts.desiredOut > 0 ? round(publishCpuMs / counts.desiredOut, 3) : null,
    cpuMsPerOutboxBatchIngested: counts.outboxBatchesIn > 0 ? round(ingestCpuMs / counts.outboxBatchesIn, 3) : null,
    cpuMsPerStatusRecordIngested: counts.outboxRecordsApplied > 0 ? round(ingestCpuMs / counts.outboxRecordsApplied, 3) : null,
    hubMaxRssMiB: round(maxRss / MB, 1),
    hubDiskWriteBytes: writeBytes,
  }
}

/** One configuration, filling `result` as it goes (so a failure still reports what was measured). */
async function runConfig(config, dir, result) {
  const load = machineLoad()
  const run = benchRun(`fan-${config.kind}${config.count}`)
  const base = path.join(dir, run.id)
  const profileDir = path.join(base, 'hub-profile')
  if (options.hubCpuProfile) mkdirSync(profileDir, { recursive: true })
  const hub = await startHub(base, { logLevel: options.logLevel, nodeArgs: options.hubCpuProfile ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [] })
  const hubPid = hub.handle.pid
  let fleet = { handles: [], stopEvents: () => undefined }
  try {
    const { token } = await hub.api('POST', '/api/v1/tokens', { maxUses: config.count })
    const starts = new Map() // `${nodeId}@${revision}` → epoch ms of the runtime start
    const onStart = (nodeId, revision, at) => {
      if (!starts.has(`${nodeId}@${revision}`)) starts.set(`${nodeId}@${revision}`, at)
    }
    fleet = await startFleet(config, run, base, hub, token, onStart, result)
    const benchNodes = async () => (await hub.api('GET', '/api/v1/nodes')).items.filter((n) => n.labels.bench === run.id)
    const joinSeconds = await waitForFleet(config, benchNodes, hubPid, fleet.handles, result)
    note(`${config.name}: ${config.count} agents online after ${joinSeconds.toFixed(1)} s`)
    if (result.hollow) {
      result.hollow.processRssMiB = fleet.handles.map((h) => round(memory(h.pid).rss / MB, 1))
      result.hollow.rssMiBPerHollowAgent = round(fleet.handles.reduce((sum, h) => sum + memory(h.pid).rss, 0) / MB / config.count, 2)
    }
    await sleep(5000)
    const idleCpuRate = await measureIdle(hub, hubPid, result)

    // What one poll of GET /api/v1/nodes costs the hub, to subtract from the rounds, and a
    // poll interval that keeps the benchmark's own load under ~10% of the hub's time.
    const pollCpu0 = cpuTimes(hubPid).self
    const pollsToMeasure = 10
    for (let i = 0; i < pollsToMeasure; i++) await benchNodes()
    const pollCpuSeconds = (cpuTimes(hubPid).self - pollCpu0) / pollsToMeasure
    const pollIntervalMs = Math.max(options.pollMs, Math.ceil(pollCpuSeconds * 1000 * 10))
    result.hubIdle.cpuMsPerNodesPoll = round(pollCpuSeconds * 1000, 2)
    result.pollIntervalMs = pollIntervalMs

    result.rounds = []
    const ctx = { config, hub, hubPid, run, starts, benchNodes, idleCpuRate, pollCpuSeconds, pollIntervalMs }
    for (let r = 1; r <= options.rounds; r++) result.rounds.push(await runRound(r, ctx))
    const rounds = result.rounds
    result.summary = {
      allAckedMsMedian: median(rounds.map((r) => r.allAckedMs)),
      allRunningMsMedian: median(rounds.map((r) => r.allRunningMs)),
      postMsMedian: median(rounds.map((r) => r.postMs)),
      cpuMsPerDesiredPublished: median(rounds.map((r) => r.cpuMsPerDesiredPublished)),
      cpuMsPerOutboxBatchIngested: median(rounds.map((r) => r.cpuMsPerOutboxBatchIngested)),
      cpuMsPerStatusRecordIngested: median(rounds.map((r) => r.cpuMsPerStatusRecordIngested)),
      hubMaxRssMiB: Math.max(...rounds.map((r) => r.hubMaxRssMiB)),
      hubRssMiBAfter: round(memory(hubPid).rss / MB, 1),
    }
  } finally {
    result.machineDuringConfig = load()
    fleet.stopEvents()
    await Promise.all(fleet.handles.map((h) => stopProcess(h, 30_000)))
    await stopProcess(hub.handle, 30_000)
    await removeContainersByLabel(run.label)
    if (options.hubCpuProfile) {
      try {
        result.hubCpuProfile = summarizeProfiles(profileDir)
      } catch (error) {
        result.hubCpuProfile = { error: error.message }
      }
    }
  }
}

await runBenchmark(async () => {
  const configs = options.configs.map(parseConfig)
  const host = await machine()
  const load = machineLoad()
  await ensureTestImage()
  const dir = benchDir('fanout')
  const results = []
  for (const config of configs) {
    note(`${config.name}: starting a hub and ${config.count} ${config.kind} agents`)
    const result = { config: config.name, agents: config.kind, count: config.count }
    results.push(result)
    try {
      await runConfig(config, dir, result)
    } catch (error) {
      result.error = error.message
      note(`${config.name} failed: ${error.message}`)
    }
  }
  printResult({
    benchmark: 'hub-fanout',
    command: `node scripts/bench/hub-fanout.mjs ${process.argv.slice(2).join(' ')}`.trim(),
    at: new Date().toISOString(),
    machine: { ...host, ...load() },
    transport: 'embedded aedes (hub serve --mqtt-listen)',
    rounds: options.rounds,
    results,
  })
})

#!/usr/bin/env node
// hub-rollout: what the hub's rollout controller adds per wave of a rolling update (issue 10):
// maxUnavailable 10%, minReadySeconds 0 ("no health wait"), over N SIMULATED nodes.
//
// Per node count: a fresh `shoal hub serve` (embedded aedes broker on 127.0.0.1, SQLite) and N
// simulated nodes (lib/sim-nodes.mjs, all in this process): bare MQTT clients that enroll with a
// join token over the real API, connect with their credentials, send heartbeats, and answer every
// new desired document AT ONCE with a status in an outbox batch (the real format): each workload
// `running`, health `none`, at the document's revision. An agent's own work (pulling, starting,
// its outbox timer) is left out on purpose: what remains between a report and the next wave is
// the hub's. An every-node deployment (or `--mode replicated`, N replicas) selecting the nodes
// is applied and left to complete; then each round applies a new template and measures, on this
// process's monotonic clock:
//   waves                 the hub's RolloutWave events (which copies moved in each pass)
//   overheadMs            per wave after the first: from the ready report that freed the wave's
//                         last slot (a node's first report on the new revision; the (C − B)-th one
//                         sent, for a wave that brings the copies moved to C with a budget of B)
//                         to the wave's first document arriving ("toFirst") and to its last one
//                         arriving ("toLast": the whole wave published): the controller's overhead
//   totalMs               from the POST of the new template to the last node's ready report, and
//                         to the hub's rollout API showing `complete` (polled after that only)
//   hubCpuSeconds         hub CPU (utime+stime, /proc/<pid>/stat) over the rollout
//   pass                  the hub's own shoal_schedule_seconds summary over the rollout's passes
// `--hub-cpu-profile true` runs the hub under `node --cpu-prof` and says where its CPU went
// during the rollout (lib/cpu-profile-window.mjs): a fleet pass by step, publishing, ingesting.
//
//   node scripts/bench/hub-rollout.mjs [--counts 100,1000] [--mode every-node|replicated] [--rounds 1]
//        [--enroll-concurrency 8] [--join-timeout 300] [--rollout-timeout 300] [--settle-seconds 5]
//        [--hub-cpu-profile false] [--log-level warn]
import { mkdirSync } from 'node:fs'
import path from 'node:path'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { benchArgs } from './lib/args.mjs'
import { profileWindow } from './lib/cpu-profile-window.mjs'
import { machine, machineLoad } from './lib/machine.mjs'
import { note, printResult, round } from './lib/output.mjs'
import { MB, cpuTimes, memory } from './lib/proc.mjs'
import { runBenchmark, sleep, stopProcess, waitFor } from './lib/processes.mjs'
import { benchDir, parseMetrics, startHub } from './lib/services.mjs'
import { SimNode, enrollSimNode, monoMs, simNodeName } from './lib/sim-nodes.mjs'
import { summarize } from './lib/stats.mjs'

const options = benchArgs(
  {
    counts: ['100', '1000'],
    mode: 'every-node',
    rounds: 1,
    enrollConcurrency: 8,
    joinTimeout: 300,
    rolloutTimeout: 300,
    settleSeconds: 5,
    hubCpuProfile: false,
    logLevel: 'warn',
  },
  "node scripts/bench/hub-rollout.mjs: the rollout controller's overhead per wave (maxUnavailable 10%, minReadySeconds 0) over N simulated nodes",
)
if (!['every-node', 'replicated'].includes(options.mode)) {
  process.stderr.write(`--mode: every-node or replicated, not ${JSON.stringify(options.mode)}\n`)
  process.exit(2)
}

const SIM_NOTE = 'SIMULATED nodes: bare MQTT clients that enroll, heartbeat and answer each new document at once with a running status (lib/sim-nodes.mjs)'
const STRATEGY = { maxUnavailable: '10%', minReadySeconds: 0, progressDeadline: '10m' }

function manifest(name, runId, count, version) {
  return JSON.stringify({
    apiVersion: 'shoal/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: {
      mode: options.mode,
      ...(options.mode === 'replicated' ? { replicas: count } : {}),
      selector: { matchLabels: { bench: runId } },
      strategy: STRATEGY,
      // Nothing runs it: the simulated nodes only report on it.
      template: { image: 'shoal-test/busybox:1', command: ['sleep', '3600'], env: { VERSION: String(version) } },
    },
  })
}

const quantiles = (values) => {
  const s = summarize(values, 1)
  const sorted = [...values].sort((a, b) => a - b)
  const p95 = sorted.length === 0 ? null : sorted[Math.min(sorted.length - 1, Math.ceil(0.95 * sorted.length) - 1)]
  return { n: s.n, min: s.min, p50: s.p50, p95: round(p95, 1), max: s.max, mean: s.mean }
}

/** Resolves once every node has sent a status for `revision` of `deployment`; bounded. */
async function allReported(log, from, nodes, deployment, revision, timeoutMs, what) {
  await waitFor(
    () => {
      const done = new Set()
      for (let i = from; i < log.length; i++) if (log[i].type === 'send' && log[i].revisions[deployment] === revision) done.add(log[i].nodeId)
      return done.size >= nodes
    },
    { what, timeoutMs, intervalMs: 20 },
  )
}

async function rolloutPhase(hub, name, revision) {
  const status = await hub.api('GET', `/api/v1/deployments/${name}/rollout`)
  if (status.revision === revision && status.phase === 'failed')
    throw new Error(`the rollout of revision ${revision} failed: ${JSON.stringify(status.failure ?? status).slice(0, 500)}`)
  return status.revision === revision ? status.phase : `at revision ${status.revision}`
}

async function eventsSince(hub, sinceId) {
  const items = []
  let since = sinceId
  for (let page = 0; page < 100; page++) {
    const batch = (await hub.api('GET', `/api/v1/events?since=${since}&limit=1000`)).items
    items.push(...batch)
    if (batch.length < 1000) return items
    since = Math.max(...batch.map((e) => e.id))
  }
  throw new Error('more than 100,000 events during one rollout')
}

/** One new template, timed wave by wave. */
async function measureRollout(hub, sims, log, name, runId, count, version, profile) {
  const [{ id: lastEventId = 0 } = {}] = (await hub.api('GET', '/api/v1/events?limit=1')).items
  const metrics0 = parseMetrics(await hub.api('GET', '/metrics'))
  const from = log.length
  const cpu0 = cpuTimes(hub.handle.pid).self
  // This process runs every simulated node: if its own event loop lagged, arrivals would be stamped late.
  const simCpu0 = process.cpuUsage()
  const lag = monitorEventLoopDelay({ resolution: 10 })
  lag.enable()
  const t0 = monoMs()
  const applied = await hub.api('POST', '/api/v1/manifests', manifest(name, runId, count, version), 'application/yaml')
  const postMs = monoMs() - t0
  const revision = applied.results[0].revision
  await allReported(log, from, count, name, revision, options.rolloutTimeout * 1000, `all ${count} nodes to report revision ${revision}`)
  const tReported = monoMs()
  const cpuReported = cpuTimes(hub.handle.pid).self
  await waitFor(async () => (await rolloutPhase(hub, name, revision)) === 'complete', {
    what: `the hub to call revision ${revision} complete`,
    timeoutMs: 60_000,
    intervalMs: 100,
  })
  const tComplete = monoMs()
  const cpu1 = cpuTimes(hub.handle.pid).self
  lag.disable()
  const simCpu = process.cpuUsage(simCpu0)
  const metrics1 = parseMetrics(await hub.api('GET', '/metrics'))

  const events = (await eventsSince(hub, lastEventId)).filter((e) => e.workload === name && e.data?.revision === revision)
  const waveEvents = events.filter((e) => e.type === 'RolloutWave').sort((a, b) => a.id - b.id)
  const recv = new Map() // nodeId → first arrival of a document with the new revision
  const sends = [] // when each node sent its first ready report on the new revision
  const reported = new Set()
  for (let i = from; i < log.length; i++) {
    const entry = log[i]
    if (entry.revisions[name] !== revision) continue
    if (entry.type === 'recv' && !recv.has(entry.nodeId)) recv.set(entry.nodeId, entry.at)
    // A node's first report on the new revision is the one the rollout waits for; it reports
    // again when the next pass drops the document's fallback, which waits for nothing.
    if (entry.type === 'send' && !reported.has(entry.nodeId)) {
      reported.add(entry.nodeId)
      sends.push(entry.at)
    }
  }
  sends.sort((a, b) => a - b)
  // Replicated copies are named by node in the event too: the node ids are what moved.
  const waves = waveEvents.map((e, k) => {
    const nodes = String(e.data.nodes ?? '')
      .split(',')
      .filter(Boolean)
    const times = nodes.map((n) => recv.get(n)).filter((t) => t !== undefined)
    if (times.length !== nodes.length)
      throw new Error(`wave ${k + 1}: ${nodes.length - times.length} of ${nodes.length} nodes never received revision ${revision}`)
    return { copies: nodes.length, firstRecv: Math.min(...times), lastRecv: Math.max(...times) }
  })
  // Copies move as the budget frees up (a sliding window, not lock-step waves): the first wave
  // takes the whole budget B, and every copy moved after it took the slot of one copy that
  // became available. So the wave that brings the total moved to C waited for the (C − B)-th
  // ready report (in the order they were sent): that report is its trigger.
  const budget = waves[0]?.copies ?? 0
  let moved = 0
  const perWave = waves.map((w, k) => {
    moved += w.copies
    const entry = { wave: k + 1, copies: w.copies, publishSpreadMs: round(w.lastRecv - w.firstRecv, 1) }
    if (k === 0) return { ...entry, sinceApplyMs: round(w.firstRecv - t0, 1) }
    const trigger = sends[Math.min(sends.length, Math.max(1, moved - budget)) - 1]
    return { ...entry, toFirstMs: round(w.firstRecv - trigger, 1), toLastMs: round(w.lastRecv - trigger, 1) }
  })
  const later = perWave.slice(1)
  const d = (key) => (metrics1.get(key) ?? 0) - (metrics0.get(key) ?? 0)
  const passCount = d('shoal_schedule_seconds_count')
  const result = {
    revision,
    postMs: round(postMs, 1),
    waves: waves.length,
    waveSizes: [...new Set(waves.map((w) => w.copies))],
    overheadMs: {
      toFirst: quantiles(later.map((w) => w.toFirstMs)),
      toLast: quantiles(later.map((w) => w.toLastMs)),
    },
    firstWaveAfterApplyMs: perWave[0]?.sinceApplyMs ?? null,
    totalMs: { toLastReport: round(tReported - t0, 0), toHubComplete: round(tComplete - t0, 0) },
    hubCpuSeconds: { toLastReport: round(cpuReported - cpu0, 2), toHubComplete: round(cpu1 - cpu0, 2) },
    hubCpuMsPerWave: round(((cpuReported - cpu0) * 1000) / Math.max(1, waves.length), 0),
    pass: {
      count: passCount,
      meanMs:
        passCount > 0 && (metrics1.get('shoal_schedule_seconds_count') ?? 0) < 1024 ? round((d('shoal_schedule_seconds_sum') * 1000) / passCount, 1) : null,
      // The hub's summary covers its last 1024 passes, so these include the passes before the rollout.
      p50Ms: round((metrics1.get('shoal_schedule_seconds{quantile="0.5"}') ?? 0) * 1000, 1),
      p90Ms: round((metrics1.get('shoal_schedule_seconds{quantile="0.9"}') ?? 0) * 1000, 1),
      p99Ms: round((metrics1.get('shoal_schedule_seconds{quantile="0.99"}') ?? 0) * 1000, 1),
    },
    messages: {
      desiredOut: d('shoal_messages_out_total{channel="desired"}'),
      outboxIn: d('shoal_messages_in_total{channel="outbox"}'),
      heartbeatsIn: d('shoal_messages_in_total{channel="heartbeat"}'),
      // The hub's summaries keep their last 1024 samples: a mean over the window only while fewer were taken.
      publishMeanMs:
        (metrics1.get('shoal_publish_seconds_count') ?? 0) < 1024 && d('shoal_publish_seconds_count') > 0
          ? round((d('shoal_publish_seconds_sum') * 1000) / d('shoal_publish_seconds_count'), 2)
          : null,
    },
    simulatedNodesProcess: {
      cpuSeconds: round((simCpu.user + simCpu.system) / 1e6, 2),
      // Beyond the monitor's own 10 ms period, which its histogram includes.
      eventLoopDelayMs: Object.fromEntries(
        [
          ['p50', lag.percentile(50)],
          ['p99', lag.percentile(99)],
          ['max', lag.max],
        ].map(([k, ns]) => [k, round(Math.max(0, ns / 1e6 - 10), 1)]),
      ),
    },
    events: Object.fromEntries([...new Set(events.map((e) => e.type))].map((t) => [t, events.filter((e) => e.type === t).length])),
    perWave,
  }
  if (profile) result.window = { t0, tReported, tComplete }
  return result
}

async function runCount(count, dir, result) {
  const load = machineLoad()
  const runId = `roll-${count}-${Date.now().toString(36)}`
  const base = path.join(dir, runId)
  const profileDir = path.join(base, 'hub-profile')
  if (options.hubCpuProfile) mkdirSync(profileDir, { recursive: true })
  const hub = await startHub(base, { logLevel: options.logLevel, nodeArgs: options.hubCpuProfile ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [] })
  const log = []
  const sims = []
  const rounds = []
  try {
    const { token } = await hub.api('POST', '/api/v1/tokens', { maxUses: count, ttl: '1h' })
    const joinStarted = monoMs()
    const cpuJoin0 = cpuTimes(hub.handle.pid).self
    let next = 0
    await Promise.all(
      Array.from({ length: Math.min(options.enrollConcurrency, count) }, async () => {
        while (next < count) {
          const i = next++
          const enrollment = await enrollSimNode(hub.apiUrl, token, simNodeName(runId, i), { bench: runId })
          const sim = new SimNode(enrollment, { log })
          sims.push(sim)
          sim.connect()
        }
      }),
    )
    await waitFor(
      async () => {
        if (hub.handle.exited) throw new Error(`the hub exited (${JSON.stringify(hub.handle.exited)}); see ${hub.handle.logFile}`)
        if (sims.some((s) => !s.connected)) return false
        return (await hub.api('GET', '/api/v1/nodes')).items.filter((n) => n.labels.bench === runId && n.online).length === count
      },
      { what: `${count} simulated nodes online`, timeoutMs: options.joinTimeout * 1000, intervalMs: 500 },
    )
    result.join = {
      seconds: round((monoMs() - joinStarted) / 1000, 1),
      hubCpuSeconds: round(cpuTimes(hub.handle.pid).self - cpuJoin0, 2),
      reconnects: sims.reduce((a, s) => a + s.connects - 1, 0),
    }
    note(`${count}: all online after ${result.join.seconds} s`)

    const name = `roll-${runId}`.slice(0, 63)
    const firstFrom = log.length
    const first = await hub.api('POST', '/api/v1/manifests', manifest(name, runId, count, 1), 'application/yaml')
    const r1 = first.results[0].revision
    await allReported(log, firstFrom, count, name, r1, options.rolloutTimeout * 1000, `all ${count} nodes to report the first revision`)
    await waitFor(async () => (await rolloutPhase(hub, name, r1)) === 'complete', {
      what: 'the first revision to be complete',
      timeoutMs: 60_000,
      intervalMs: 250,
    })
    note(`${count}: revision ${r1} on every node; settling ${options.settleSeconds} s`)

    for (let r = 0; r < options.rounds; r++) {
      await sleep(options.settleSeconds * 1000)
      const measured = await measureRollout(hub, sims, log, name, runId, count, r + 2, options.hubCpuProfile)
      rounds.push(measured)
      note(
        `${count}: revision ${measured.revision}: ${measured.waves} waves of ${measured.waveSizes.join('/')}, overhead per wave to first/last document p50 ${measured.overheadMs.toFirst.p50}/${measured.overheadMs.toLast.p50} ms, max ${measured.overheadMs.toFirst.max}/${measured.overheadMs.toLast.max} ms, total ${measured.totalMs.toHubComplete} ms, hub CPU ${measured.hubCpuSeconds.toHubComplete} s`,
      )
    }
    result.rounds = rounds
    result.hubRssMiB = round(memory(hub.handle.pid).rss / MB, 1)
    result.simulatedErrors = { count: sims.reduce((a, s) => a + s.errors, 0), first: [...new Set(sims.flatMap((s) => s.errorMessages))].slice(0, 5) }
  } finally {
    result.machineDuringRun = load()
    await Promise.all(sims.map((s) => s.close()))
    await stopProcess(hub.handle, 30_000)
  }
  if (options.hubCpuProfile) {
    result.hubCpuProfile = rounds.map((m) => {
      const { t0, tReported, tComplete } = m.window
      delete m.window
      return { revision: m.revision, ...profileWindow(profileDir, t0, tComplete), toLastReportMs: round(tReported - t0, 0) }
    })
  }
}

await runBenchmark(async () => {
  const host = await machine({ withDocker: false })
  const load = machineLoad()
  const dir = benchDir('rollout')
  const results = []
  for (const count of options.counts.map(Number)) {
    if (!Number.isInteger(count) || count < 1) throw new Error(`--counts: whole numbers ≥ 1, not ${count}`)
    note(`${count}: starting a hub and ${count} simulated nodes`)
    const result = { nodes: count, agents: 'simulated', note: SIM_NOTE }
    results.push(result)
    try {
      await runCount(count, dir, result)
    } catch (error) {
      result.error = error.message
      note(`${count} failed: ${error.message}`)
    }
  }
  printResult({
    benchmark: 'hub-rollout',
    command: `node scripts/bench/hub-rollout.mjs ${process.argv.slice(2).join(' ')}`.trim(),
    at: new Date().toISOString(),
    machine: { ...host, ...load() },
    deployment: { mode: options.mode, strategy: STRATEGY },
    results,
  })
  if (results.some((r) => r.error)) process.exitCode = 1
})

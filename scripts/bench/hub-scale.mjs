#!/usr/bin/env node
// hub-scale: one hub and N SIMULATED nodes from the fleet simulator (agent/simulator/: the agent's
// own enrollment, MQTT/NATS transports with jittered backoff, signature-verifying intake,
// heartbeats and outbox sender, over an in-memory store and a made-up machine), run in
// --processes worker processes (dist/agent/simulator/fleet-worker.js) on this machine.
//
// Phases, each timed on the wall clock (epoch ms from the workers' and this process' clocks):
//   join      every node enrolls over the hub's API (--enroll-concurrency in flight in all,
//             split among the workers), connects, receives the every-node deployment applied
//             before, and the hub acknowledges its `running` status: time to all enrolled, all
//             online (link up), all acknowledged, and the hub's view (shoal_nodes Ready = N);
//             hub CPU seconds over the phase, per node
//   rollout   a new template (strategy maxUnavailable --max-unavailable, minReadySeconds 0):
//             per node, from the POST to the hub's ack of its status at the new revision
//             (p50/p99/max); hub CPU
//   restart   the hub SIGKILLed and started again on the same data and ports (with the embedded
//             broker, every node's connection drops: a reconnect storm): time from the spawn to
//             the hub answering, every node's link up, and the hub showing all N Ready; the
//             NodeOffline/NodeLost events it wrote and the most nodes it counted Offline
//   churn     --churn-fraction of the nodes close their links (a goodbye, as a stopping agent)
//             and open them again after --churn-down-ms, their stores kept: time to all back,
//             NodeLost events (a node rescheduled) in that time
// plus the hub's RSS (peak of the samples, each hub process) and each phase's simulator CPU, so
// a phase the machine's two cores limited shows as such.
//
//   node scripts/bench/hub-scale.mjs --nodes N --broker embedded|mosquitto|nats [--hubs 1]
//        [--mqtt-url U | --nats-url U] [--processes 2] [--enroll-concurrency 16]
//        [--heartbeat-seconds 30] [--max-unavailable 100%] [--churn-fraction 0.1] [--churn-down-ms 2000]
//        [--mosquitto-lines 'max_inflight_messages 0,max_queued_messages 0'] [--phase-timeout 900] [--log-level warn]
// --mqtt-url / --nats-url: a broker already running that lets the hub and nodes in (anonymous,
// or users the operator made), instead of one this benchmark starts. --mosquitto-lines: more
// lines for the mosquitto.conf this benchmark writes (comma-separated), to compare its limits.
import path from 'node:path'
import { benchArgs } from './lib/args.mjs'
import { BROKERS, startHubOn } from './lib/broker-hubs.mjs'
import { machine, machineLoad } from './lib/machine.mjs'
import { note, printResult, round } from './lib/output.mjs'
import { MB, alive, cpuTimes, memory } from './lib/proc.mjs'
import { runBenchmark, startProcess, stopProcess, waitFor } from './lib/processes.mjs'
import { DIST, benchDir, parseMetrics, startHub } from './lib/services.mjs'
import { summarize } from './lib/stats.mjs'

const options = benchArgs(
  {
    nodes: 1000,
    broker: 'embedded',
    hubs: 1,
    mqttUrl: '',
    natsUrl: '',
    processes: 2,
    enrollConcurrency: 16,
    heartbeatSeconds: 30,
    maxUnavailable: '100%',
    churnFraction: 0.1,
    churnDownMs: 2000,
    mosquittoLines: [],
    phaseTimeout: 900,
    logLevel: 'warn',
  },
  'node scripts/bench/hub-scale.mjs: one hub, N simulated nodes (agent/simulator/) in P processes: join, rollout, hub restart, churn',
)
if (options.hubs !== 1) {
  process.stderr.write('--hubs: more than one hub is not supported yet (issue 14 item 2: hub replicas)\n')
  process.exit(2)
}
if (!BROKERS.includes(options.broker)) {
  process.stderr.write(`--broker: one of ${BROKERS.join(', ')}, not ${JSON.stringify(options.broker)}\n`)
  process.exit(2)
}
if (options.mqttUrl && options.natsUrl) {
  process.stderr.write('--mqtt-url and --nats-url: one broker at a time\n')
  process.exit(2)
}
const WORKER = path.join(DIST, 'agent', 'simulator', 'fleet-worker.js')
const DEPLOYMENT = 'scale'
const timeoutMs = options.phaseTimeout * 1000

function manifest(runId, version) {
  return JSON.stringify({
    apiVersion: 'shoal/v1',
    kind: 'Deployment',
    metadata: { name: DEPLOYMENT },
    spec: {
      mode: 'every-node',
      selector: { matchLabels: { bench: runId } },
      strategy: { maxUnavailable: options.maxUnavailable, minReadySeconds: 0, progressDeadline: '30m' },
      // Nothing runs it: the simulated nodes only report on it.
      template: { image: 'shoal-test/busybox:1', command: ['sleep', '3600'], env: { VERSION: String(version) } },
    },
  })
}

/** What the workers said, kept as counts and per-node times (epoch ms). */
class FleetLog {
  linkUp = new Map()
  upCount = 0
  /** revision → Map(nodeId → ack time) */
  acks = new Map()
  started = 0
  startedNodes = []
  churned = []
  rejected = []
  errors = []
  stats = []

  take(line) {
    let m
    try {
      m = JSON.parse(line)
    } catch {
      return
    }
    switch (m.type) {
      case 'link': {
        const was = this.linkUp.get(m.nodeId) ?? false
        if (m.up && !was) this.upCount++
        if (!m.up && was) this.upCount--
        this.linkUp.set(m.nodeId, m.up)
        if (m.up) this.lastUpAt = m.at
        break
      }
      case 'ack': {
        const revision = m.revisions[DEPLOYMENT]
        if (revision === undefined) break
        let byNode = this.acks.get(revision)
        if (!byNode) this.acks.set(revision, (byNode = new Map()))
        if (!byNode.has(m.nodeId)) byNode.set(m.nodeId, m.at)
        break
      }
      case 'intake':
        if (m.outcome === 'rejected') this.rejected.push(m)
        break
      case 'started':
        this.started++
        this.startedNodes.push(...m.nodes)
        this.lastStartedAt = m.at
        break
      case 'churned':
        this.churned.push(m)
        break
      case 'stats':
        this.stats.push(m)
        break
      case 'error':
        this.errors.push(m.message)
        break
    }
  }

  acked(revision) {
    return this.acks.get(revision) ?? new Map()
  }
}

/** The hub's node counts by condition, from /metrics. */
async function conditions(hub) {
  const metrics = parseMetrics(await hub.api('GET', '/metrics'))
  const count = (condition) => metrics.get(`shoal_nodes{condition="${condition}"}`) ?? 0
  return { ready: count('Ready'), offline: count('Offline'), degraded: count('Degraded') }
}

async function lastEventId(hub) {
  const [{ id = 0 } = {}] = (await hub.api('GET', '/api/v1/events?limit=1')).items
  return id
}

/** Events of the given types the hub wrote after `sinceId`, counted by type. */
async function eventCounts(hub, sinceId, types) {
  const counts = Object.fromEntries(types.map((t) => [t, 0]))
  let since = sinceId
  for (let page = 0; page < 1000; page++) {
    const batch = (await hub.api('GET', `/api/v1/events?since=${since}&limit=1000`)).items
    for (const e of batch) if (e.type in counts) counts[e.type]++
    if (batch.length < 1000) return counts
    since = Math.max(...batch.map((e) => e.id))
  }
  throw new Error('more than 1,000,000 events in one phase')
}

/** The hub's message and outbox-record counters (/metrics), to compare before and after a phase. */
async function counters(hub) {
  const metrics = parseMetrics(await hub.api('GET', '/metrics'))
  return Object.fromEntries([...metrics].filter(([key]) => key.startsWith('shoal_messages_in_total') || key.startsWith('shoal_outbox_records_total')))
}

const countersSince = (before, after) =>
  Object.fromEntries(
    Object.entries(after)
      .map(([key, value]) => [key.replace(/^shoal_/, ''), value - (before[key] ?? 0)])
      .filter(([, delta]) => delta !== 0),
  )

const cpuOf = (pids) => pids.filter(alive).reduce((sum, pid) => sum + cpuTimes(pid).self, 0)

await runBenchmark(async () => {
  const host = await machine({ withDocker: false })
  const load = machineLoad()
  const dir = benchDir('hub-scale')
  const runId = `scale${Date.now().toString(36)}`
  const external = options.mqttUrl || options.natsUrl
  const brokerName = external ? (options.mqttUrl ? 'mqtt-url' : 'nats-url') : options.broker
  const started = external
    ? await (async () => {
        const hubArgs = options.mqttUrl ? ['--mqtt-url', options.mqttUrl] : ['--nats-url', options.natsUrl]
        return { hub: await startHub(dir, { logLevel: options.logLevel, hubArgs }), hubArgs }
      })()
    : await startHubOn(options.broker, dir, { logLevel: options.logLevel, mosquittoLines: options.mosquittoLines })
  let hub = started.hub
  const hubArgs = started.hubArgs
  const rssPeaks = []
  let rssPeak = 0
  const rssTimer = setInterval(() => {
    if (alive(hub.handle.pid)) rssPeak = Math.max(rssPeak, memory(hub.handle.pid).rss)
  }, 1000)

  await hub.api('POST', '/api/v1/manifests', manifest(runId, 1), 'application/yaml')
  const { token } = await hub.api('POST', '/api/v1/tokens', { maxUses: options.nodes })
  const log = new FleetLog()
  const workers = []
  const per = Math.ceil(options.nodes / options.processes)
  const concurrency = Math.max(1, Math.round(options.enrollConcurrency / options.processes))

  // ---- join
  const hubCpu0 = cpuTimes(hub.handle.pid).self
  const t0 = Date.now()
  for (let p = 0, first = 0; p < options.processes && first < options.nodes; p++, first += per) {
    const config = {
      hubUrl: hub.apiUrl,
      token,
      prefix: runId,
      count: Math.min(per, options.nodes - first),
      firstIndex: first,
      labels: { bench: runId },
      enrollConcurrency: concurrency,
      heartbeatIntervalMs: options.heartbeatSeconds * 1000,
      logLevel: options.logLevel,
    }
    const handle = startProcess(`simulator-${p}`, process.execPath, [WORKER, JSON.stringify(config)], {
      logFile: path.join(dir, `simulator-${p}.log`),
      stdin: 'pipe',
    })
    handle.onLine = (line) => log.take(line)
    workers.push(handle)
  }
  const workerPids = () => workers.map((w) => w.pid)
  const send = (command) => {
    for (const w of workers) w.child.stdin.write(`${JSON.stringify(command)}\n`)
  }
  const checkWorkers = () => {
    for (const w of workers) if (w.exited) throw new Error(`${w.name} exited (${JSON.stringify(w.exited)}); see ${w.logFile}`)
    if (log.errors.length > 0) throw new Error(`simulator: ${log.errors[0]}`)
  }
  const progress = setInterval(() => note(`online ${log.upCount}/${options.nodes}, acked r1 ${log.acked(1).size}, r2 ${log.acked(2).size}`), 10_000)
  let allOnlineAt = null
  await waitFor(
    () => {
      checkWorkers()
      if (allOnlineAt === null && log.upCount >= options.nodes) allOnlineAt = Date.now()
      return log.started === workers.length && log.acked(1).size >= options.nodes && allOnlineAt !== null
    },
    { what: `${options.nodes} simulated nodes online with their status acknowledged`, timeoutMs, intervalMs: 50 },
  )
  const joinedAt = Date.now()
  const simCpuJoin = cpuOf(workerPids())
  const hubCpuJoin = cpuTimes(hub.handle.pid).self - hubCpu0
  await waitFor(async () => (await conditions(hub)).ready >= options.nodes, { what: 'the hub to count every node Ready', timeoutMs, intervalMs: 1000 })
  const readyAt = Date.now()
  const join = {
    allEnrolledS: round((log.lastStartedAt - t0) / 1000, 1),
    allOnlineS: round((allOnlineAt - t0) / 1000, 1),
    allAcknowledgedS: round((joinedAt - t0) / 1000, 1),
    allReadyOnHubS: round((readyAt - t0) / 1000, 1),
    hubCpuSeconds: round(hubCpuJoin, 1),
    hubCpuMsPerJoin: round((1000 * hubCpuJoin) / options.nodes, 2),
    simulatorCpuSeconds: round(simCpuJoin, 1),
  }
  note(`join: ${JSON.stringify(join)}`)

  // ---- rollout
  const hubCpuR0 = cpuTimes(hub.handle.pid).self
  const simCpuR0 = cpuOf(workerPids())
  const counters0 = await counters(hub)
  const postAt = Date.now()
  await hub.api('POST', '/api/v1/manifests', manifest(runId, 2), 'application/yaml')
  await waitFor(
    () => {
      checkWorkers()
      return log.acked(2).size >= options.nodes
    },
    { what: 'every node to report revision 2 acknowledged', timeoutMs, intervalMs: 20 },
  )
  const latencies = [...log.acked(2).values()].map((at) => at - postAt)
  const rollout = {
    maxUnavailable: options.maxUnavailable,
    acknowledgedMs: summarize(latencies, 0),
    hubCpuSeconds: round(cpuTimes(hub.handle.pid).self - hubCpuR0, 1),
    simulatorCpuSeconds: round(cpuOf(workerPids()) - simCpuR0, 1),
    // Outbox batches per node above one are resends (an ack that did not come within 10 s).
    hubCounters: countersSince(counters0, await counters(hub)),
  }
  note(`rollout: ${JSON.stringify(rollout)}`)

  // ---- hub restart
  const beforeRestart = await lastEventId(hub)
  rssPeaks.push(Math.max(rssPeak, memory(hub.handle.pid).rss))
  rssPeak = 0
  const simCpuS0 = cpuOf(workerPids())
  process.kill(hub.handle.pid, 'SIGKILL')
  await hub.handle.exitedPromise
  const killedAt = Date.now()
  const spawnAt = Date.now()
  hub = await startHub(dir, { logLevel: options.logLevel, hubArgs, apiPort: hub.apiPort, mqttPort: hub.mqttPort })
  const answeredAt = Date.now()
  let maxOffline = 0
  let linksBackAt = null
  const downAfterKill = () => [...log.linkUp.values()].filter((up) => !up).length
  await waitFor(
    async () => {
      checkWorkers()
      const c = await conditions(hub)
      maxOffline = Math.max(maxOffline, c.offline)
      if (linksBackAt === null && downAfterKill() === 0 && log.upCount >= options.nodes) linksBackAt = Date.now()
      return c.ready >= options.nodes && linksBackAt !== null
    },
    { what: 'every node back and Ready on the restarted hub', timeoutMs, intervalMs: 500 },
  )
  const backAt = Date.now()
  const restartEvents = await eventCounts(hub, beforeRestart, ['NodeOffline', 'NodeLost', 'NodeOnline'])
  const restart = {
    killToSpawnMs: spawnAt - killedAt,
    hubAnswersS: round((answeredAt - spawnAt) / 1000, 1),
    linksBackS: round((linksBackAt - spawnAt) / 1000, 1),
    allReadyS: round((backAt - spawnAt) / 1000, 1),
    maxOfflineSeen: maxOffline,
    events: restartEvents,
    // The restarted process from its start: its own start-up is in it.
    hubCpuSeconds: round(cpuTimes(hub.handle.pid).self, 1),
    simulatorCpuSeconds: round(cpuOf(workerPids()) - simCpuS0, 1),
  }
  note(`restart: ${JSON.stringify(restart)}`)

  // ---- churn
  const beforeChurn = await lastEventId(hub)
  const churnAt = Date.now()
  send({ cmd: 'churn', fraction: options.churnFraction, downMs: options.churnDownMs })
  await waitFor(
    () => {
      checkWorkers()
      return log.churned.length === workers.length && log.upCount >= options.nodes
    },
    { what: 'every churned node back', timeoutMs, intervalMs: 50 },
  )
  const churnLinksAt = Date.now()
  await waitFor(async () => (await conditions(hub)).ready >= options.nodes, {
    what: 'the hub to count every node Ready after churn',
    timeoutMs,
    intervalMs: 500,
  })
  const churnReadyAt = Date.now()
  const churn = {
    fraction: options.churnFraction,
    nodes: log.churned.reduce((n, m) => n + m.nodes.length, 0),
    downMs: options.churnDownMs,
    linksBackS: round((churnLinksAt - churnAt) / 1000, 1),
    allReadyS: round((churnReadyAt - churnAt) / 1000, 1),
    events: await eventCounts(hub, beforeChurn, ['NodeOffline', 'NodeLost', 'NodeOnline']),
  }
  note(`churn: ${JSON.stringify(churn)}`)

  clearInterval(progress)
  clearInterval(rssTimer)
  rssPeaks.push(Math.max(rssPeak, memory(hub.handle.pid).rss))
  send({ cmd: 'stats' })
  await waitFor(() => log.stats.length >= workers.length, { what: 'the simulator stats', timeoutMs: 30_000 })
  const simulator = {
    processes: workers.length,
    rssMB: log.stats.map((s) => round(s.rssBytes / MB, 0)),
    cpuSeconds: round(
      log.stats.reduce((sum, s) => sum + (s.cpu.user + s.cpu.system) / 1e6, 0),
      1,
    ),
    rejectedDocuments: log.rejected.length,
  }
  for (const w of workers) await stopProcess(w, 60_000)
  await stopProcess(hub.handle)
  if (started.broker) await stopProcess(started.broker)
  printResult({
    benchmark: 'hub-scale',
    command: `node scripts/bench/hub-scale.mjs ${process.argv.slice(2).join(' ')}`.trim(),
    at: new Date().toISOString(),
    machine: { ...host, ...load() },
    nodes: options.nodes,
    broker: brokerName,
    hubs: 1,
    options,
    join,
    rollout,
    restart,
    churn,
    hubRssMB: { beforeRestart: round(rssPeaks[0] / MB, 0), afterRestart: round(rssPeaks[1] / MB, 0) },
    simulator,
  })
})

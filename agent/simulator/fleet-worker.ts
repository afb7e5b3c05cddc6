// A process of simulated nodes, for fleet-scale benchmarks (scripts/bench/hub-scale.mjs): the
// SimulatedFleet of agent/simulator/, driven by JSON lines. Not part of the agent's command line.
//
//   node dist/agent/simulator/fleet-worker.js '<json: {hubUrl, token, prefix, count, firstIndex,
//     labels, enrollConcurrency, heartbeatIntervalMs, logLevel}>'
//
// Writes one JSON line per happening on stdout ({type: 'link'|'intake'|'ack'|'started'|'churned'|
// 'stats'|'error', ..., at: epoch ms}); reads commands on stdin ({"cmd":"churn","fraction":F,
// "downMs":D}, {"cmd":"stats"}, {"cmd":"stop"}); stops every node on SIGTERM or "stop".
import { createInterface } from 'node:readline'
import { pino } from 'pino'
import { SimulatedFleet } from './simulated-fleet.js'

interface WorkerConfig {
  readonly hubUrl: string
  readonly token: string
  readonly prefix: string
  readonly count: number
  readonly firstIndex?: number
  readonly labels?: Record<string, string>
  readonly enrollConcurrency?: number
  readonly heartbeatIntervalMs?: number
  readonly logLevel?: string
}

const config = JSON.parse(process.argv[2] ?? '{}') as WorkerConfig
const epochNow = (): number => performance.timeOrigin + performance.now()
const emit = (message: Record<string, unknown>): void => {
  process.stdout.write(`${JSON.stringify({ ...message, at: epochNow() })}\n`)
}
const logger = pino({ level: config.logLevel ?? 'warn', base: { simulator: process.pid } }, pino.destination({ fd: 2, sync: false }))

const fleet = new SimulatedFleet({
  hubUrl: config.hubUrl,
  token: config.token,
  prefix: config.prefix,
  count: config.count,
  firstIndex: config.firstIndex ?? 0,
  labels: config.labels ?? {},
  enrollConcurrency: config.enrollConcurrency ?? 8,
  heartbeatIntervalMs: config.heartbeatIntervalMs ?? 30_000,
  logger,
  observer: {
    link: (nodeId, up) => emit({ type: 'link', nodeId, up }),
    intake: (nodeId, result) => emit({ type: 'intake', nodeId, ...result }),
    acknowledged: (nodeId, status) =>
      emit({
        type: 'ack',
        nodeId,
        generation: status.observedGeneration,
        revisions: Object.fromEntries(status.workloads.map((w) => [w.deployment, w.revision])),
      }),
  },
})

let stopping = false
const stop = (): void => {
  if (stopping) return
  stopping = true
  void fleet.stop().finally(() => {
    logger.flush()
    process.exit(0)
  })
}
process.once('SIGTERM', stop)

createInterface({ input: process.stdin }).on('line', (line) => {
  let command: { cmd?: string; fraction?: number; downMs?: number }
  try {
    command = JSON.parse(line) as typeof command
  } catch {
    emit({ type: 'error', message: `not a JSON command: ${line.slice(0, 200)}` })
    return
  }
  if (command.cmd === 'stop') stop()
  else if (command.cmd === 'stats')
    emit({ type: 'stats', nodes: fleet.nodes.length, connected: fleet.connectedCount(), rssBytes: process.memoryUsage.rss(), cpu: process.cpuUsage() })
  else if (command.cmd === 'churn')
    void fleet.churn(command.fraction ?? 0.1, command.downMs ?? 1_000).then(
      (nodes) => emit({ type: 'churned', nodes }),
      (error: unknown) => emit({ type: 'error', message: String(error) }),
    )
  else emit({ type: 'error', message: `unknown command ${String(command.cmd)}` })
})

const started = performance.now()
fleet.start().then(
  () => emit({ type: 'started', nodes: fleet.nodes.map((node) => node.nodeId), seconds: (performance.now() - started) / 1000 }),
  (error: unknown) => {
    emit({ type: 'error', message: error instanceof Error ? error.message : String(error) })
    stop()
  },
)

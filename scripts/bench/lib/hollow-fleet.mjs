#!/usr/bin/env node
// SIMULATED NODES: a "hollow" fleet for fleet-scale benchmarks only, the way Kubernetes'
// kubemark runs hollow kubelets. Each hollow agent is the real agent (startAgent from
// dist/agent/daemon.js: real SQLite store, real MQTT link, real enrollment, real reconciler)
// over HollowRuntime, an in-memory container runtime that runs nothing. Many agents share
// this one Node process (one event loop), so per-agent CPU and memory here are NOT the cost of
// a real agent: see agent-idle for that.
//
// Speaks JSON lines on stdout to the benchmark that started it:
//   {"type":"ready","nodes":[...],"rssBytes":N,"startSeconds":S}
//   {"type":"start","nodeId":..,"workload":..,"revision":N,"at":<epoch ms, sub-ms>}
// and stops every agent on SIGTERM.
//
//   node scripts/bench/lib/hollow-fleet.mjs '<json: {hubUrl, token, count, prefix, labels, dataRoot, logLevel, concurrency, image}>'
import { mkdirSync } from 'node:fs'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { pino } from 'pino'
import { DIST } from './services.mjs'

const { startAgent } = await import(pathToFileURL(path.join(DIST, 'agent', 'daemon.js')).href)
const { HollowRuntime } = await import(pathToFileURL(path.join(DIST, 'agent', 'runtime', 'hollow-runtime.js')).href)

const config = JSON.parse(process.argv[2] ?? '{}')
const { hubUrl, token, count, prefix, labels = {}, dataRoot, logLevel = 'warn', concurrency = 8, image } = config
const epochNow = () => performance.timeOrigin + performance.now()
const emit = (message) => process.stdout.write(`${JSON.stringify(message)}\n`)

const logger = pino({ level: logLevel, base: { hollow: true } }, pino.destination({ fd: 2, sync: false }))
const agents = []
let stopping = false

async function startOne(index) {
  const name = `${prefix}-${String(index).padStart(4, '0')}`
  const dataDir = path.join(dataRoot, name)
  mkdirSync(dataDir, { recursive: true })
  const runtime = new HollowRuntime({
    images: [image],
    onEvent: (event) => {
      if (event.action === 'start') emit({ type: 'start', nodeId: event.nodeId, workload: event.workload, revision: event.revision, at: epochNow() })
    },
  })
  const agent = await startAgent(
    {
      dataDir,
      hubUrl,
      token,
      hubKey: null,
      name,
      labels,
      staticDir: null,
      profile: null,
      containerLabels: {},
      dockerSocket: null,
      resyncIntervalMs: 30_000,
    },
    { logger: logger.child({ node: name }), runtime },
  )
  agents.push(agent)
  return agent.nodeId
}

process.once('SIGTERM', () => {
  stopping = true
  void Promise.allSettled(agents.map((agent) => agent.stop())).finally(() => {
    logger.flush?.()
    process.exit(0)
  })
})

const started = performance.now()
const nodes = []
let next = 0
await Promise.all(
  Array.from({ length: Math.min(concurrency, count) }, async () => {
    while (next < count && !stopping) nodes.push(await startOne(next++))
  }),
)
emit({ type: 'ready', nodes, rssBytes: process.memoryUsage().rss, startSeconds: (performance.now() - started) / 1000 })

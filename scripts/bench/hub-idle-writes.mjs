#!/usr/bin/env node
// hub-idle-writes: bytes the hub writes to disk per hour while its fleet is idle (issue 14).
//
// A fresh `shoal hub serve` (embedded aedes broker on 127.0.0.1, SQLite) and N SIMULATED nodes
// (lib/sim-nodes.mjs, all in this process: bare MQTT clients that enroll over the real API,
// connect with their own credentials and heartbeat every --heartbeat-seconds, spread over the
// interval). Once all are online and a warm-up has passed (first heartbeats and documents
// stored), nothing changes: over the window the benchmark reads the hub's `write_bytes` from
// /proc/<pid>/io (bytes it caused to be written to storage) and the sizes of hub.db and its
// WAL, and counts the heartbeats the hub received (/metrics). The hub logs at warn, to a file
// whose bytes are counted apart (they would go to journald).
//
//   node scripts/bench/hub-idle-writes.mjs [--nodes 500] [--seconds 120] [--warmup 45]
//        [--heartbeat-seconds 15] [--enroll-concurrency 8] [--join-timeout 300] [--log-level warn]
//
// SHOAL_BENCH_DIST=<dir>/dist measures another build (an older commit, for before/after).
import { statSync } from 'node:fs'
import path from 'node:path'
import { benchArgs } from './lib/args.mjs'
import { machine, machineLoad } from './lib/machine.mjs'
import { note, printResult, round } from './lib/output.mjs'
import { MB, io, memory } from './lib/proc.mjs'
import { runBenchmark, sleep, waitFor } from './lib/processes.mjs'
import { DIST, benchDir, parseMetrics, startHub } from './lib/services.mjs'
import { SimNode, enrollSimNode, simNodeName } from './lib/sim-nodes.mjs'

const options = benchArgs(
  { nodes: 500, seconds: 120, warmup: 45, heartbeatSeconds: 15, enrollConcurrency: 8, joinTimeout: 300, logLevel: 'warn' },
  'node scripts/bench/hub-idle-writes.mjs: bytes the hub writes to disk per idle hour with N simulated nodes',
)

const SIM_NOTE = 'SIMULATED nodes: bare MQTT clients that enroll and heartbeat (lib/sim-nodes.mjs); nothing is deployed'

const size = (file) => {
  try {
    return statSync(file).size
  } catch {
    return null
  }
}

/** The sum of a counter over its label sets in parsed /metrics (0 when absent). */
const counter = (metrics, name) => [...metrics].filter(([key]) => key === name || key.startsWith(`${name}{`)).reduce((sum, [, value]) => sum + value, 0)

await runBenchmark(async () => {
  const host = await machine({ withDocker: false })
  const load = machineLoad()
  const count = Number(options.nodes)
  if (!Number.isInteger(count) || count < 1) throw new Error(`--nodes: a whole number ≥ 1, not ${options.nodes}`)
  const dir = benchDir('idle-writes')
  const runId = `idle${Date.now().toString(36)}`
  note(`starting a hub (${DIST}) and ${count} simulated nodes`)
  const hub = await startHub(path.join(dir, runId), { logLevel: options.logLevel })
  const pid = hub.handle.pid
  const sims = []
  const retried = { count: 0 }
  const result = { nodes: count, agents: 'simulated', note: SIM_NOTE, heartbeatSeconds: Number(options.heartbeatSeconds) }
  try {
    const { token } = await hub.api('POST', '/api/v1/tokens', { maxUses: count, ttl: '1h' })
    const joinStarted = performance.now()
    let next = 0
    await Promise.all(
      Array.from({ length: Math.min(Number(options.enrollConcurrency), count) }, async () => {
        while (next < count) {
          const i = next++
          const enrollment = await enrollSimNode(hub.apiUrl, token, simNodeName(runId, i), { bench: runId }, retried)
          const sim = new SimNode(enrollment, { heartbeatMs: Number(options.heartbeatSeconds) * 1000 })
          sims.push(sim)
          sim.connect()
        }
      }),
    )
    await waitFor(
      async () => {
        if (hub.handle.exited) throw new Error(`the hub exited (${JSON.stringify(hub.handle.exited)}); see ${hub.handle.logFile}`)
        return (await hub.api('GET', '/api/v1/nodes')).items.filter((n) => n.online).length === count
      },
      { what: `${count} simulated nodes online`, timeoutMs: Number(options.joinTimeout) * 1000, intervalMs: 1000 },
    )
    result.join = { seconds: round((performance.now() - joinStarted) / 1000, 1), enrollmentsRetriedAfter429: retried.count }
    note(`all online after ${result.join.seconds} s; warming up ${options.warmup} s`)
    await sleep(Number(options.warmup) * 1000)

    const files = ['hub.db', 'hub.db-wal'].map((f) => path.join(hub.dataDir, f))
    const sizes0 = files.map(size)
    const log0 = size(hub.handle.logFile) ?? 0
    const metrics0 = parseMetrics(await hub.api('GET', '/metrics'))
    const io0 = io(pid)
    const started = performance.now()
    note(`measuring ${options.seconds} s`)
    await sleep(Number(options.seconds) * 1000)
    const io1 = io(pid)
    const elapsed = (performance.now() - started) / 1000
    const metrics1 = parseMetrics(await hub.api('GET', '/metrics'))
    const heartbeats = counter(metrics1, 'shoal_messages_in_total{channel="heartbeat"}') - counter(metrics0, 'shoal_messages_in_total{channel="heartbeat"}')
    const writeBytes = io1.writeBytes - io0.writeBytes
    const perHour = (writeBytes * 3600) / elapsed
    const nodesWritten = metrics1.has('shoal_soft_state_nodes_written_total')
      ? counter(metrics1, 'shoal_soft_state_nodes_written_total') - counter(metrics0, 'shoal_soft_state_nodes_written_total')
      : null
    result.idle = {
      windowSeconds: round(elapsed, 1),
      heartbeatsReceived: heartbeats,
      writeBytes,
      writeBytesPerHour: Math.round(perHour),
      writeBytesPerHeartbeat: heartbeats > 0 ? round(writeBytes / heartbeats, 1) : null,
      writeBytesPerHourPer10000Nodes: Math.round((perHour * 10_000) / count),
      softStateNodesWritten: nodesWritten,
      sqliteBytes: Object.fromEntries(files.map((f, i) => [path.basename(f), { before: sizes0[i], after: size(f) }])),
      hubLogBytes: (size(hub.handle.logFile) ?? 0) - log0,
      hubRssMiB: round(memory(pid).rss / MB, 1),
    }
    note(`${writeBytes} bytes in ${round(elapsed, 1)} s (${heartbeats} heartbeats) → ${Math.round(perHour)} bytes/hour`)
  } catch (error) {
    result.error = error.message
    note(`failed: ${error.message}`)
  } finally {
    await Promise.all(sims.map((s) => s.close()))
  }
  printResult({
    benchmark: 'hub-idle-writes',
    command: `node scripts/bench/hub-idle-writes.mjs ${process.argv.slice(2).join(' ')}`.trim(),
    dist: DIST,
    at: new Date().toISOString(),
    machine: { ...host, ...load() },
    result,
  })
  if (result.error) process.exitCode = 1
})

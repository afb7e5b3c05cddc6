#!/usr/bin/env node
// agent-wire: bytes on the wire per idle node-hour. A real hub (`shoal hub serve`) and a real
// enrolled agent (`shoal agent run`) running 10 every-node workloads (busybox sleepers) on the
// real Docker engine, on each broker: the embedded aedes broker, Mosquitto 2 and nats-server
// (JetStream), the last two with the users and rights the hub generates. Once the node is idle
// (every workload running, the node online and caught up) and after a warm-up, every byte of
// the agent's broker connection is counted over the window, both directions, from the kernel's
// per-socket TCP counters (lib/tcp-counters.mjs): payload bytes as tcp_info counts them
// (keepalives, heartbeats, acks, retransmissions included) plus IPv4+TCP headers for every
// segment (pure ACKs included). Extrapolated to an hour and a 30-day month.
// Target (issue 15): <= 50 KB (50,000 bytes) per idle node-hour on every broker.
//
//   node scripts/bench/agent-wire.mjs [--seconds 600] [--warmup 30] [--brokers embedded,mosquitto,nats] [--workloads 10] [--profile NAME]
import path from 'node:path'
import { mkdirSync } from 'node:fs'
import { benchArgs } from './lib/args.mjs'
import { BROKERS, measurePerBroker, startHubOn } from './lib/broker-hubs.mjs'
import { SLEEP_COMMAND, TEST_IMAGE, benchRun, removeContainersByLabel, runningCount } from './lib/docker.mjs'
import { note, round } from './lib/output.mjs'
import { sampleProcess } from './lib/proc.mjs'
import { runBenchmark, sleep, stopProcess, waitFor } from './lib/processes.mjs'
import { parseMetrics, startAgentProcess } from './lib/services.mjs'
import { tcpMeter } from './lib/tcp-counters.mjs'

const TARGET_BYTES_PER_HOUR = 50_000
/** Published figures quoted in issue 15, for the side-by-side in docs/benchmarks.md. */
const OTHERS = {
  kubeedge: 'about 0.25 kbit/s per node (~112 KB per hour)',
  balena: '1 MB to ~196 MB a month, by feature',
}

const options = benchArgs(
  { seconds: 600, warmup: 30, brokers: BROKERS, workloads: 10, profile: '', sampleSeconds: 5 },
  'node scripts/bench/agent-wire.mjs: bytes per idle node-hour on the agent broker connection (real hub, agent, Docker, brokers)',
)

function deployment(name, selector) {
  return {
    apiVersion: 'shoal/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: { mode: 'every-node', selector: { matchLabels: selector }, template: { image: TEST_IMAGE, command: SLEEP_COMMAND, restartPolicy: 'always' } },
  }
}

/** Messages the hub counted per channel over the window (the hub's own /metrics). */
function messageDelta(before, after) {
  const out = {}
  for (const [key, value] of after) {
    const match = /^shoal_messages_(in|out)_total\{channel="([^"]+)"\}$/.exec(key)
    if (!match) continue
    const delta = value - (before.get(key) ?? 0)
    if (delta > 0) out[`${match[1]}:${match[2]}`] = delta
  }
  return out
}

async function measureBroker(broker, dir) {
  const run = benchRun(`wire-${broker}`)
  const base = path.join(dir, broker)
  mkdirSync(base, { recursive: true })
  note(`${broker}: starting the hub`)
  const { hub, brokerPort, broker: brokerProcess } = await startHubOn(broker, base)
  let agent = null
  try {
    const { token } = await hub.api('POST', '/api/v1/tokens', { maxUses: 1 })
    const manifests = Array.from({ length: options.workloads }, (_, i) => JSON.stringify(deployment(`idle-${i}`, { bench: run.id }))).join('\n---\n')
    if (options.workloads > 0) await hub.api('POST', '/api/v1/manifests', manifests, 'application/yaml')
    const name = run.id
    agent = startAgentProcess({
      dataDir: path.join(base, 'agent'),
      name,
      hub: hub.apiUrl,
      token,
      labels: `bench=${run.id}`,
      containerLabels: run.label,
      ...(options.profile ? { profile: options.profile } : {}),
    })
    let running = false
    agent.onLine = (line) => {
      if (line.includes('"msg":"agent running"')) running = true
    }
    const node = () => hub.api('GET', `/api/v1/nodes`).then((body) => body.items.find((n) => n.id === name))
    await waitFor(
      async () => {
        if (agent.exited) throw new Error(`agent exited (${JSON.stringify(agent.exited)}); see ${agent.logFile}`)
        if (!running || (await runningCount(run.label)) !== options.workloads) return false
        const n = await node()
        return n?.online && n.generation.observed >= n.generation.latest
      },
      { what: `${broker}: ${options.workloads} workloads running and the node caught up`, timeoutMs: 180_000, intervalMs: 500 },
    )
    note(`${broker}: idle; warm-up ${options.warmup} s, then counting ${options.seconds} s`)
    await sleep(options.warmup * 1000)
    const meter = tcpMeter(agent.pid, brokerPort)
    const metrics0 = parseMetrics(await hub.api('GET', '/metrics'))
    const cpu = sampleProcess(agent.pid, { intervalMs: 5000 })
    const started = performance.now()
    while ((performance.now() - started) / 1000 < options.seconds) {
      await sleep(Math.min(options.sampleSeconds * 1000, options.seconds * 1000 - (performance.now() - started)))
      meter.sample()
      if (agent.exited) throw new Error(`agent exited during the window; see ${agent.logFile}`)
    }
    const total = meter.total()
    const windowSeconds = (performance.now() - started) / 1000
    const agentCpu = cpu.stop()
    const messages = messageDelta(metrics0, parseMetrics(await hub.api('GET', '/metrics')))
    const view = await node()
    const perHour = (bytes) => Math.round((bytes * 3600) / windowSeconds)
    const bytesPerHour = perHour(total.wireBytes)
    const result = {
      broker,
      windowSeconds: round(windowSeconds, 1),
      warmupSeconds: options.warmup,
      workloads: options.workloads,
      profile: view?.profile ?? (options.profile || null),
      window: total,
      headerBytesPerSegment: meter.headerBytesPerSegment,
      bytesPerHour,
      payloadBytesPerHour: perHour(total.payloadBytes),
      segmentsPerHour: perHour(total.segsOut + total.segsIn),
      kbitPerSecond: round((total.wireBytes * 8) / 1000 / windowSeconds, 4),
      mbPerMonth: round((bytesPerHour * 24 * 30) / 1e6, 2),
      meetsTarget: bytesPerHour <= TARGET_BYTES_PER_HOUR,
      hubMessages: messages,
      // What `shoal get nodes` shows after the window: heartbeat figures must stay complete.
      hubViewAfter: view ? { usage: view.usage, workloads: view.workloads } : null,
      agentCpuPercentOfOneCore: round(agentCpu.cpuPercentOfOneCore, 3),
    }
    note(`${broker}: ${bytesPerHour} bytes per hour (${result.kbitPerSecond} kbit/s, ${result.mbPerMonth} MB a month), ${JSON.stringify(messages)}`)
    // Each broker's whole result on stderr too: a later broker that fails loses nothing measured.
    note(`${broker}: result ${JSON.stringify(result)}`)
    return result
  } finally {
    if (agent) await stopProcess(agent)
    await stopProcess(hub.handle)
    if (brokerProcess) await stopProcess(brokerProcess)
    await removeContainersByLabel(run.label)
  }
}

await runBenchmark(() =>
  measurePerBroker({
    benchmark: 'agent-wire',
    brokers: options.brokers,
    measure: measureBroker,
    fields: {
      agents: 'real',
      counted:
        "the agent's broker connection only (not enrollment over HTTP), both directions: tcp_info bytes_sent + bytes_received (payload, retransmissions included) + (segs_out + segs_in) x IPv4+TCP header bytes; no link-layer framing",
      target: { bytesPerHour: TARGET_BYTES_PER_HOUR },
      others: OTHERS,
    },
  }),
)

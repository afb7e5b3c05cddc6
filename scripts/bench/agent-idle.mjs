#!/usr/bin/env node
// agent-idle: the agent's resident memory and CPU while idle, as a real process against the real
// Docker engine, over a window (default 60 s) after a warm-up. Scenarios (default all four):
//   standalone:0   `agent run --static-dir` with no workloads, no hub
//   standalone:10  the same with 10 busybox `sleep 3600` workloads running
//   hub:0          enrolled with a real hub over MQTT (embedded aedes broker), nothing to run
//   hub:10         the same, the hub running 10 every-node deployments on it
// RSS is sampled from /proc/<pid>/status (VmRSS) every second; CPU is utime+stime from
// /proc/<pid>/stat over the window. Also prints an RSS breakdown by module layer.
// Targets (issue 3): RSS <= 50 MB idle, CPU < 1% of one core idle.
//
//   node scripts/bench/agent-idle.mjs [--seconds 60] [--warmup 15] [--scenarios standalone:0,standalone:10,hub:0,hub:10]
//        [--node-flags="--lite-mode --max-semi-space-size=1"] [--node /path/to/another/node]
// --node-flags starts the agent the way scripts/systemd/shoal-agent.service does (docs/agent.md,
// "Memory"); --node measures it on another Node release (e.g. the newest LTS).
import { execFileSync } from 'node:child_process'
import { benchArgs } from './lib/args.mjs'
import { ensureTestImage } from './lib/docker.mjs'
import { machine, machineLoad } from './lib/machine.mjs'
import { note, printResult } from './lib/output.mjs'
import { runBenchmark } from './lib/processes.mjs'
import { rssLayers, rssPerPackage } from './lib/rss-layers.mjs'
import { benchDir } from './lib/services.mjs'
import { parseScenario, startScenario } from './lib/agent-scenarios.mjs'

const TARGET_RSS_MB = 50
const TARGET_CPU_PERCENT = 1

const options = benchArgs(
  { seconds: 60, warmup: 15, scenarios: ['standalone:0', 'standalone:10', 'hub:0', 'hub:10'], logLevel: 'info', layers: true, nodeFlags: '', node: '' },
  'node scripts/bench/agent-idle.mjs: idle RSS and CPU of the agent (real process, real Docker)',
)

await runBenchmark(async () => {
  const scenarios = options.scenarios.map(parseScenario)
  const host = await machine()
  const load = machineLoad()
  await ensureTestImage()
  const dir = benchDir('agent-idle')
  const results = []
  for (const scenario of scenarios) {
    note(`${scenario.name}: starting`)
    const running = await startScenario(scenario, dir, {
      logLevel: options.logLevel,
      nodeFlags: options.nodeFlags.split(' ').filter(Boolean),
      nodeBinary: options.node || process.execPath,
    })
    try {
      note(`${scenario.name}: warm-up ${options.warmup} s, then measuring ${options.seconds} s`)
      const result = await running.measure({ seconds: options.seconds, warmupSeconds: options.warmup })
      // 1 MB = 10^6 bytes for the target (the figures quoted for other agents are in MB).
      const rssMB = (result.rssMiB.mean * 1024 * 1024) / 1e6
      results.push({ ...result, meetsRssTarget: rssMB <= TARGET_RSS_MB, meetsCpuTarget: result.cpuPercentOfOneCore < TARGET_CPU_PERCENT })
      note(`${scenario.name}: cpu ${result.cpuPercentOfOneCore}% of a core, rss mean ${result.rssMiB.mean} MiB`)
    } finally {
      await running.stop()
    }
  }
  const layers = options.layers ? rssLayers() : null
  printResult({
    benchmark: 'agent-idle',
    command: `node scripts/bench/agent-idle.mjs ${process.argv.slice(2).join(' ')}`.trim(),
    at: new Date().toISOString(),
    machine: { ...host, ...load() },
    agents: 'real',
    targets: { rssMB: TARGET_RSS_MB, cpuPercentOfOneCore: TARGET_CPU_PERCENT },
    logLevel: options.logLevel,
    nodeFlags: options.nodeFlags,
    nodeVersion: options.node ? execFileSync(options.node, ['--version'], { encoding: 'utf8' }).trim() : process.version,
    scenarios: results,
    rssLayers: layers,
    rssAddedPerPackageMiB: options.layers ? rssPerPackage() : null,
  })
})

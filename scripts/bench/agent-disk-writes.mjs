#!/usr/bin/env node
// agent-disk-writes: bytes the idle agent writes to disk per hour (SD cards wear out),
// extrapolated from a measured window (default 600 s after a 30 s warm-up), for a real agent
// process with 10 running workloads, standalone and connected to a real hub over MQTT.
// Source: /proc/<pid>/io write_bytes (storage writes the process caused, counted when the page
// is dirtied), beside the sizes of agent.db, agent.db-wal and agent.db-shm before and after.
// As a control, the bytes it wrote from its start until the window (creating its store, first
// statuses) are reported too. The agent's log is piped through the benchmark, so its bytes are
// reported apart ("logBytes": on a device they go to journald or a file, at the operator's
// choice of level).
// The scenarios run at the same time (`--parallel true`): disk writes do not depend on CPU.
//
//   node scripts/bench/agent-disk-writes.mjs [--seconds 600] [--warmup 30] [--scenarios standalone:10,hub:10] [--parallel true]
import { benchArgs } from './lib/args.mjs'
import { ensureTestImage } from './lib/docker.mjs'
import { machine, machineLoad } from './lib/machine.mjs'
import { note, printResult } from './lib/output.mjs'
import { runBenchmark } from './lib/processes.mjs'
import { benchDir } from './lib/services.mjs'
import { parseScenario, startScenario } from './lib/agent-scenarios.mjs'

const options = benchArgs(
  { seconds: 600, warmup: 30, scenarios: ['standalone:10', 'hub:10'], parallel: true, logLevel: 'info' },
  'node scripts/bench/agent-disk-writes.mjs: disk bytes written by the idle agent per hour',
)

await runBenchmark(async () => {
  const scenarios = options.scenarios.map(parseScenario)
  const host = await machine()
  const load = machineLoad()
  await ensureTestImage()
  const dir = benchDir('agent-disk')
  const measureOne = async (scenario) => {
    const running = await startScenario(scenario, dir, { logLevel: options.logLevel })
    try {
      note(`${scenario.name}: warm-up ${options.warmup} s, then measuring ${options.seconds} s`)
      const result = await running.measure({ seconds: options.seconds, warmupSeconds: options.warmup, sampleMs: 5000 })
      note(`${scenario.name}: ${result.disk.writeBytes} bytes written in ${result.windowSeconds} s → ${result.disk.writeBytesPerHour} bytes/hour`)
      return {
        scenario: result.scenario,
        mode: result.mode,
        workloads: result.workloads,
        windowSeconds: result.windowSeconds,
        warmupSeconds: result.warmupSeconds,
        writeBytesFromStartToWindow: result.disk.writeBytesBeforeWindow,
        writeBytes: result.disk.writeBytes,
        cancelledWriteBytes: result.disk.cancelledWriteBytes,
        writeBytesPerHour: result.disk.writeBytesPerHour,
        writeBytesPerDay: result.disk.writeBytesPerHour * 24,
        writeCalls: result.disk.writeCalls,
        wcharBytes: result.disk.wcharBytes,
        logBytes: result.disk.logBytes,
        logBytesPerHour: result.disk.logBytesPerHour,
        sqliteBytesBefore: result.disk.sqliteBytesBefore,
        sqliteBytesAfter: result.disk.sqliteBytesAfter,
        hubWriteBytesPerHour: result.hub?.writeBytesPerHour ?? null,
        cpuPercentOfOneCore: result.cpuPercentOfOneCore,
        rssMiBMean: result.rssMiB.mean,
      }
    } finally {
      await running.stop()
    }
  }
  const results = []
  if (options.parallel) results.push(...(await Promise.all(scenarios.map(measureOne))))
  else for (const scenario of scenarios) results.push(await measureOne(scenario))
  printResult({
    benchmark: 'agent-disk-writes',
    command: `node scripts/bench/agent-disk-writes.mjs ${process.argv.slice(2).join(' ')}`.trim(),
    at: new Date().toISOString(),
    machine: { ...host, ...load() },
    agents: 'real',
    logLevel: options.logLevel,
    parallel: options.parallel,
    scenarios: results,
  })
})

// One real agent process in a known idle state, for the idle and disk-write benchmarks:
//   standalone:K  `agent run --static-dir` with K busybox workloads, no hub at all
//   hub:K         enrolled with a real hub (embedded MQTT broker) that runs K every-node
//                 deployments on it
// The agent is the built CLI (`node dist/cli/main.js agent run`) against the real Docker
// engine; its containers carry io.shoal.bench=<run id> and are removed at the end.
import { mkdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { SLEEP_COMMAND, TEST_IMAGE, benchRun, removeContainersByLabel, runningCount } from './docker.mjs'
import { note, round } from './output.mjs'
import { MB, fileSizes, io, memory, sampleProcess } from './proc.mjs'
import { sleep, stopProcess, waitFor } from './processes.mjs'
import { startAgentProcess, startHub } from './services.mjs'

/** "standalone:10" → { mode: 'standalone', workloads: 10 } */
export function parseScenario(text) {
  const match = /^(standalone|hub):(\d+)$/.exec(text)
  if (!match) throw new Error(`scenario ${JSON.stringify(text)}: expected standalone:K or hub:K`)
  return { name: text, mode: match[1], workloads: Number(match[2]) }
}

function deployment(name, selector) {
  return {
    apiVersion: 'shoal/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: {
      ...(selector ? { mode: 'every-node', selector: { matchLabels: selector } } : {}),
      template: { image: TEST_IMAGE, command: SLEEP_COMMAND, restartPolicy: 'always' },
    },
  }
}

/**
 * Starts the agent for a scenario and waits until it is idle: every workload running, and (with
 * a hub) the node online with its observed generation caught up. Returns a handle to measure
 * and stop it.
 */
export async function startScenario(scenario, dir, { logLevel = 'info', nodeFlags = [], nodeBinary } = {}) {
  if (!['trace', 'debug', 'info'].includes(logLevel))
    throw new Error(`--log-level ${logLevel}: these scenarios detect start-up from the agent's "agent running" log line; use info, debug or trace`)
  const run = benchRun(`idle-${scenario.mode}${scenario.workloads}`)
  const base = path.join(dir, run.id)
  mkdirSync(base, { recursive: true })
  const dataDir = path.join(base, 'agent')
  const name = run.id
  let hub = null
  let agent
  const started = performance.now()
  if (scenario.mode === 'standalone') {
    const staticDir = path.join(base, 'static')
    mkdirSync(staticDir)
    for (let i = 0; i < scenario.workloads; i++) writeFileSync(path.join(staticDir, `idle-${i}.json`), JSON.stringify(deployment(`idle-${i}`)))
    agent = startAgentProcess({ dataDir, name, staticDir, containerLabels: run.label, logLevel, nodeFlags, nodeBinary })
  } else {
    hub = await startHub(base)
    const { token } = await hub.api('POST', '/api/v1/tokens', { maxUses: 1 })
    if (scenario.workloads > 0) {
      const manifests = Array.from({ length: scenario.workloads }, (_, i) => JSON.stringify(deployment(`idle-${i}`, { bench: run.id }))).join('\n---\n')
      await hub.api('POST', '/api/v1/manifests', manifests, 'application/yaml')
    }
    agent = startAgentProcess({ dataDir, name, hub: hub.apiUrl, token, labels: `bench=${run.id}`, containerLabels: run.label, logLevel, nodeFlags, nodeBinary })
  }
  let running = false
  agent.onLine = (line) => {
    if (line.includes('"msg":"agent running"')) running = true
  }
  await waitFor(
    async () => {
      if (agent.exited) throw new Error(`agent exited (${JSON.stringify(agent.exited)}); see ${agent.logFile}`)
      if (!running) return false
      if ((await runningCount(run.label)) !== scenario.workloads) return false
      if (!hub) return true
      const node = (await hub.api('GET', '/api/v1/nodes')).items.find((n) => n.id === name)
      return node?.online && node.generation.observed >= node.generation.latest
    },
    {
      what: `${scenario.name}: ${scenario.workloads} workload(s) running${hub ? ' and the node caught up with the hub' : ''}`,
      timeoutMs: 120_000,
      intervalMs: 250,
    },
  )
  const readySeconds = (performance.now() - started) / 1000
  note(`${scenario.name}: agent pid ${agent.pid} ready after ${readySeconds.toFixed(1)} s (rss ${(memory(agent.pid).rss / MB).toFixed(1)} MiB)`)
  const dbFiles = ['agent.db', 'agent.db-wal', 'agent.db-shm'].map((f) => path.join(dataDir, f))

  return {
    scenario,
    run,
    agent,
    hub,
    dataDir,
    readySeconds,
    /** Measures the agent (and the hub, if any) over `seconds` after `warmupSeconds` of settling. */
    async measure({ seconds, warmupSeconds, sampleMs = 1000 }) {
      if (warmupSeconds > 0) await sleep(warmupSeconds * 1000)
      const files0 = fileSizes(dbFiles)
      const log0 = agent.outputBytes
      // A control: what the agent wrote from its start until the window (store creation,
      // migrations, first statuses) shows that write_bytes does count this process's writes.
      const beforeWindow = io(agent.pid).writeBytes
      const agentSampler = sampleProcess(agent.pid, { intervalMs: sampleMs })
      const hubSampler = hub ? sampleProcess(hub.handle.pid, { intervalMs: sampleMs }) : null
      await sleep(seconds * 1000)
      if (agent.exited) throw new Error(`agent exited during the window; see ${agent.logFile}`)
      const a = agentSampler.stop()
      const h = hubSampler?.stop() ?? null
      const files1 = fileSizes(dbFiles)
      const perHour = (bytes) => Math.round((bytes * 3600) / a.windowSeconds)
      return {
        scenario: scenario.name,
        mode: scenario.mode,
        workloads: scenario.workloads,
        windowSeconds: round(a.windowSeconds, 1),
        warmupSeconds,
        readySeconds: round(readySeconds, 1),
        agentPid: agent.pid,
        cpuPercentOfOneCore: round(a.cpuPercentOfOneCore, 3),
        cpuSeconds: round(a.cpuSeconds, 2),
        childCpuSeconds: round(a.childCpuSeconds, 2),
        rssMiB: { min: round(a.rssBytes.min / MB, 1), mean: round(a.rssBytes.mean / MB, 1), max: round(a.rssBytes.max / MB, 1), samples: a.rssBytes.samples },
        rssAnonMiB: round(a.rssAnonBytes / MB, 1),
        rssFileMiB: round(a.rssFileBytes / MB, 1),
        pssMiB: a.pssBytes === null ? null : round(a.pssBytes / MB, 1),
        peakRssMiBSinceStart: round(a.peakRssBytes / MB, 1),
        disk: {
          writeBytesBeforeWindow: beforeWindow,
          writeBytes: a.io.writeBytes,
          cancelledWriteBytes: a.io.cancelledWriteBytes,
          writeBytesPerHour: perHour(a.io.writeBytes),
          writeCalls: a.io.writeCalls,
          wcharBytes: a.io.wchar,
          logBytes: agent.outputBytes - log0,
          logBytesPerHour: perHour(agent.outputBytes - log0),
          sqliteBytesBefore: Object.fromEntries(Object.entries(files0).map(([k, v]) => [path.basename(k), v])),
          sqliteBytesAfter: Object.fromEntries(Object.entries(files1).map(([k, v]) => [path.basename(k), v])),
        },
        hub: h
          ? {
              pid: hub.handle.pid,
              cpuPercentOfOneCore: round(h.cpuPercentOfOneCore, 3),
              rssMiB: { mean: round(h.rssBytes.mean / MB, 1), max: round(h.rssBytes.max / MB, 1) },
              writeBytesPerHour: Math.round((h.io.writeBytes * 3600) / h.windowSeconds),
            }
          : null,
      }
    },
    async stop() {
      await stopProcess(agent)
      if (hub) await stopProcess(hub.handle)
      await removeContainersByLabel(run.label)
    },
  }
}

#!/usr/bin/env node
// apply-hops: where the time of `shoal apply` goes, hop by hop, from the CLI's spawn:
//   request    the first byte of the CLI's request reaches the hub (through a loopback TCP relay
//              in this process, which notes when bytes pass)
//   answered   the first byte of the hub's answer passes the relay back
//   cliExit    the CLI process has exited
//   created    the engine's `create` event of the first container (the agent has the document)
//   started    the engine's `start` event of the last container
// A real hub with its embedded broker, a real agent enrolled with a join token, the real Docker
// engine; `--containers N` deployments in one apply. Each run deletes its deployments (untimed)
// and waits for their containers to be gone before the next.
//
//   node scripts/bench/apply-hops.mjs [--runs 20] [--warmup 2] [--containers 1]
import { spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { benchArgs } from './lib/args.mjs'
import { benchRun, ensureTestImage, removeContainersByLabel, watchContainerEvents } from './lib/docker.mjs'
import { machine, machineLoad } from './lib/machine.mjs'
import { sleepDeployments } from './lib/manifests.mjs'
import { note, printResult } from './lib/output.mjs'
import { runBenchmark, sleep, stopProcess, waitFor } from './lib/processes.mjs'
import { CLI, DIST, benchDir, startAgentProcess, startHub } from './lib/services.mjs'
import { summarize } from './lib/stats.mjs'

const options = benchArgs(
  { runs: 20, warmup: 2, containers: 1 },
  'node scripts/bench/apply-hops.mjs: shoal apply, hop by hop, from the spawn to the last start',
)

/** A loopback TCP relay to `port` that notes when the first bytes of a request and of its answer pass. */
async function startRelay(port) {
  const marks = { request: null, answered: null }
  const server = net.createServer((client) => {
    const upstream = net.connect(port, '127.0.0.1')
    client.on('data', (chunk) => {
      marks.request ??= performance.now()
      upstream.write(chunk)
    })
    upstream.on('data', (chunk) => {
      marks.answered ??= performance.now()
      client.write(chunk)
    })
    client.on('end', () => upstream.end())
    upstream.on('end', () => client.end())
    client.on('error', () => upstream.destroy())
    upstream.on('error', () => client.destroy())
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    marks,
    reset() {
      marks.request = null
      marks.answered = null
    },
    close: () => new Promise((resolve) => server.close(resolve)),
  }
}

await runBenchmark(async () => {
  const host = await machine()
  const load = machineLoad()
  await ensureTestImage()
  const dir = benchDir('apply-hops')
  const bench = benchRun('hops')
  const hub = await startHub(dir)
  const { token } = await hub.api('POST', '/api/v1/tokens', { maxUses: 1 })
  const agent = startAgentProcess({
    dataDir: path.join(dir, 'agent'),
    name: bench.id,
    hub: hub.apiUrl,
    token,
    labels: `bench=${bench.id}`,
    containerLabels: bench.label,
  })
  await waitFor(async () => (await hub.api('GET', '/api/v1/nodes')).items?.some((n) => n.id === bench.id && n.condition?.type === 'Ready'), {
    what: 'the agent to enroll and be Ready',
    timeoutMs: 60_000,
  })
  const relay = await startRelay(Number(new URL(hub.apiUrl).port))
  const events = []
  const stopEvents = await watchContainerEvents(bench.label, (event) => events.push(event))
  const ours = (names) => (event) => names.includes(event.labels['io.shoal.deployment'])

  const samples = []
  for (let i = 0; i < options.warmup + options.runs; i++) {
    const names = Array.from({ length: options.containers }, (_, k) => `hop-${i}-${k}`)
    const file = path.join(dir, `run-${i}.yaml`)
    writeFileSync(file, sleepDeployments(names, bench.id))
    const from = events.length
    relay.reset()
    const t0 = performance.now()
    const cliExit = await new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [CLI, 'apply', '-f', file, '--hub', relay.url, '--token', hub.adminToken], {
        stdio: 'ignore',
        env: { ...process.env, SHOAL_CONFIG: path.join(dir, 'no-config.yaml') },
      })
      child.on('error', reject)
      child.on('close', (code) => (code === 0 ? resolve(performance.now() - t0) : reject(new Error(`shoal apply exited ${code}`))))
    })
    const mine = ours(names)
    const starts = await waitFor(
      () => {
        const found = events.slice(from).filter((e) => e.action === 'start' && mine(e))
        return found.length >= names.length ? found : undefined
      },
      { what: `${names.length} starts`, timeoutMs: 120_000, intervalMs: 5 },
    )
    const created = events.slice(from).find((e) => e.action === 'create' && mine(e))
    if (i >= options.warmup) {
      samples.push({
        request: relay.marks.request - t0,
        answered: relay.marks.answered - t0,
        cliExit,
        created: created.at - t0,
        started: Math.max(...starts.map((e) => e.at)) - t0,
      })
      note(`${samples.length}/${options.runs} runs`)
    }
    const before = events.length
    for (const name of names) await hub.api('DELETE', `/api/v1/deployments/${name}`)
    await waitFor(() => events.slice(before).filter((e) => e.action === 'destroy' && mine(e)).length >= names.length, {
      what: 'removal',
      timeoutMs: 120_000,
      intervalMs: 20,
    })
    await sleep(200)
  }
  stopEvents()
  await relay.close()
  await stopProcess(agent)
  await stopProcess(hub.handle)
  await removeContainersByLabel(bench.label)

  const hop = (key) => summarize(samples.map((s) => s[key]))
  const gap = (a, b) => summarize(samples.map((s) => s[b] - s[a]))
  printResult({
    benchmark: 'apply-hops',
    command: `node scripts/bench/apply-hops.mjs ${process.argv.slice(2).join(' ')}`.trim(),
    at: new Date().toISOString(),
    dist: DIST,
    machine: { ...host, ...load() },
    containers: options.containers,
    runs: options.runs,
    warmupRuns: options.warmup,
    unit: 'ms',
    fromSpawn: { request: hop('request'), answered: hop('answered'), cliExit: hop('cliExit'), created: hop('created'), started: hop('started') },
    between: {
      spawnToRequest: hop('request'),
      hubAnswer: gap('request', 'answered'),
      requestToFirstCreate: gap('request', 'created'),
      firstCreateToLastStart: gap('created', 'started'),
    },
    raw: samples,
  })
})

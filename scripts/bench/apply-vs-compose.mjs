#!/usr/bin/env node
// apply-vs-compose: what an operator waits for, side by side on one machine.
//   one   `shoal apply -f one.yaml` (a real hub on 127.0.0.1 with its embedded broker, a real
//         agent enrolled with a join token, the real Docker engine) from the CLI's spawn to the
//         engine's `start` event of the container, against `docker-compose up -d` of the same
//         service (same image, command, host network) from its spawn to its `start` event, and
//         the floor: dockerode create+start from this process.
//   ten   ten deployments in one `shoal apply`, to the tenth `start` event, against the same ten
//         containers created and started in parallel through dockerode (the parallel floor: no
//         process starts), ten `docker run -d` commands spawned at once (the same floor from
//         commands, as an operator would start them), and `docker-compose up -d` of ten services.
// Each run removes what it started (untimed) before the next; the modes alternate run by run so
// the machine's load falls on all alike. Every container carries io.shoal.bench=<run id> and is
// removed by that label at the end. The done-when: shoal's `one` at most half compose's.
//
// docker-compose (v1, Python) is not part of Shoal: `apt-get install docker-compose` (Debian
// 1.29.2) or `pip install docker-compose`; without it the compose columns are null and say why.
//
//   node scripts/bench/apply-vs-compose.mjs [--runs 20] [--warmup 2] [--compose docker-compose]
import { spawn, spawnSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { benchArgs } from './lib/args.mjs'
import { BENCH_LABEL, SLEEP_COMMAND, TEST_IMAGE, benchRun, docker, ensureTestImage, removeContainersByLabel, watchContainerEvents } from './lib/docker.mjs'
import { machine, machineLoad } from './lib/machine.mjs'
import { sleepDeployments } from './lib/manifests.mjs'
import { note, printResult, round } from './lib/output.mjs'
import { runBenchmark, sleep, stopProcess, waitFor } from './lib/processes.mjs'
import { CLI, DIST, benchDir, startAgentProcess, startHub } from './lib/services.mjs'
import { summarize } from './lib/stats.mjs'

const options = benchArgs(
  { runs: 20, warmup: 2, compose: 'docker-compose', logLevel: 'info' },
  'node scripts/bench/apply-vs-compose.mjs: shoal apply → running, beside docker-compose up -d and parallel docker create+start',
)
const TEN = 10

/** The compose binary's version, or why there is none. */
function composeVersion() {
  const probe = spawnSync(options.compose, ['version', '--short'], { encoding: 'utf8' })
  if (probe.error || probe.status !== 0) {
    return {
      missing: `${options.compose} not found (${probe.error?.code ?? probe.stderr.trim()}); install it with: apt-get install docker-compose (Debian, 1.29.2) or pip install docker-compose`,
    }
  }
  return { version: probe.stdout.trim() }
}

/** Spawns a process; resolves with its wall milliseconds when it exits 0, rejects otherwise. */
function run(command, args, env = {}) {
  const started = performance.now()
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let err = ''
    child.stdout.resume()
    child.stderr.on('data', (chunk) => {
      err += chunk
    })
    child.on('error', reject)
    child.on('close', (code) =>
      code === 0 ? resolve(performance.now() - started) : reject(new Error(`${command} ${args.join(' ')} exited ${code}: ${err.slice(0, 800)}`)),
    )
  })
}

function composeFile(names, runId) {
  const services = names.map((name) =>
    [
      `  ${name}:`,
      `    image: ${TEST_IMAGE}`,
      `    command: ${JSON.stringify(SLEEP_COMMAND)}`,
      '    network_mode: host',
      '    restart: unless-stopped',
      `    labels: { ${BENCH_LABEL}: ${runId} }`,
    ].join('\n'),
  )
  return `version: "2.4"\nservices:\n${services.join('\n')}\n`
}

await runBenchmark(async () => {
  const host = await machine()
  const load = machineLoad()
  await ensureTestImage()
  const compose = composeVersion()
  if (compose.missing) note(compose.missing)
  const dir = benchDir('apply-compose')
  const bench = benchRun('applycmp')
  const hub = await startHub(dir)
  const { token } = await hub.api('POST', '/api/v1/tokens', { maxUses: 1 })
  const agentData = path.join(dir, 'agent')
  const agent = startAgentProcess({
    dataDir: agentData,
    name: bench.id,
    hub: hub.apiUrl,
    token,
    labels: `bench=${bench.id}`,
    containerLabels: bench.label,
    logLevel: options.logLevel,
  })
  await waitFor(async () => (await hub.api('GET', '/api/v1/nodes')).items?.some((n) => n.id === bench.id && n.condition?.type === 'Ready'), {
    what: 'the agent to enroll and be Ready',
    timeoutMs: 60_000,
  })
  const profile = /"profile":"([^"]+)","reasons"/.exec(readFileSync(`${agentData}.log`, 'utf8'))?.[1] ?? null
  note(`agent ${agent.pid} Ready (profile ${profile})`)

  const events = []
  const waiters = new Set()
  const stopEvents = await watchContainerEvents(bench.label, (event) => {
    events.push(event)
    for (const waiter of waiters) waiter()
  })
  /** When `count` `action` events matching `labelled` have arrived since index `from`: the last one's time. */
  const eventsAfter = (from, action, labelled, count, what) =>
    waitFor(
      () => {
        const found = events.slice(from).filter((e) => e.action === action && labelled(e.labels, e))
        return found.length >= count ? found[count - 1] : undefined
      },
      { what, timeoutMs: 120_000, intervalMs: 5 },
    )

  const shoalEnv = { SHOAL_CONFIG: path.join(dir, 'no-config.yaml') }
  const apply = async (names, tag) => {
    const file = path.join(dir, `${tag}.yaml`)
    writeFileSync(file, sleepDeployments(names, bench.id))
    const from = events.length
    const t0 = performance.now()
    const cliMs = await run(process.execPath, [CLI, 'apply', '-f', file, '--hub', hub.apiUrl, '--token', hub.adminToken], shoalEnv)
    const last = await eventsAfter(from, 'start', (labels) => names.includes(labels['io.shoal.deployment']), names.length, `${tag}: ${names.length} starts`)
    const result = { cliExitMs: cliMs, toRunningMs: last.at - t0 }
    // Untimed: delete, and wait for every container to be gone.
    const before = events.length
    for (const name of names) await hub.api('DELETE', `/api/v1/deployments/${name}`)
    await eventsAfter(before, 'destroy', (labels) => names.includes(labels['io.shoal.deployment']), names.length, `${tag}: removal`)
    return result
  }
  const composeUp = async (names, tag) => {
    if (compose.missing) return null
    const file = path.join(dir, `${tag}.compose.yaml`)
    writeFileSync(file, composeFile(names, bench.id))
    const project = tag.replace(/[^a-z0-9]/g, '')
    const from = events.length
    const t0 = performance.now()
    const cliMs = await run(options.compose, ['-p', project, '-f', file, 'up', '-d'])
    const last = await eventsAfter(from, 'start', (labels) => labels['com.docker.compose.project'] === project, names.length, `${tag}: compose starts`)
    const result = { cliExitMs: cliMs, toRunningMs: last.at - t0 }
    await run(options.compose, ['-p', project, '-f', file, 'down', '-t', '1'])
    return result
  }
  const dockerode = async (names, tag) => {
    const from = events.length
    const t0 = performance.now()
    const ids = await Promise.all(
      names.map(async (name) => {
        const container = await docker().createContainer({
          name: `${bench.id}-${tag}-${name}`,
          Image: TEST_IMAGE,
          Cmd: SLEEP_COMMAND,
          Labels: { [BENCH_LABEL]: bench.id, 'bench.floor': tag },
          HostConfig: { NetworkMode: 'host', RestartPolicy: { Name: 'unless-stopped' } },
        })
        await container.start()
        return container.id
      }),
    )
    const returnedMs = performance.now() - t0
    const last = await eventsAfter(from, 'start', (labels) => labels['bench.floor'] === tag, names.length, `${tag}: floor starts`)
    const result = { returnedMs, toRunningMs: last.at - t0 }
    await Promise.all(ids.map((id) => docker().getContainer(id).remove({ force: true, v: true })))
    return result
  }

  /** Ten `docker run -d` spawned at once, from the first spawn to the tenth `start` event. */
  const dockerRunParallel = async (names, tag) => {
    const from = events.length
    const t0 = performance.now()
    await Promise.all(
      names.map((name) =>
        run('docker', [
          'run',
          '-d',
          '--name',
          `${bench.id}-${tag}-${name}`,
          '--network',
          'host',
          '--restart',
          'unless-stopped',
          '--label',
          `${BENCH_LABEL}=${bench.id}`,
          '--label',
          `bench.floor=${tag}`,
          '--entrypoint',
          SLEEP_COMMAND[0],
          TEST_IMAGE,
          ...SLEEP_COMMAND.slice(1),
        ]),
      ),
    )
    const last = await eventsAfter(from, 'start', (labels) => labels['bench.floor'] === tag, names.length, `${tag}: docker run starts`)
    const result = { toRunningMs: last.at - t0 }
    await removeContainersByLabel(`bench.floor=${tag}`)
    return result
  }

  const samples = { one: { shoal: [], compose: [], dockerode: [] }, ten: { shoal: [], compose: [], dockerodeParallel: [], dockerRunParallel: [] } }
  for (let i = 0; i < options.warmup + options.runs; i++) {
    const counted = i >= options.warmup
    const keep = (list, value) => counted && value !== null && list.push(value)
    keep(samples.one.shoal, await apply([`one-${i}`], `one-${i}`))
    keep(samples.one.compose, await composeUp([`one${i}`], `cone${i}`))
    keep(samples.one.dockerode, await dockerode(['one'], `fone${i}`))
    const tenNames = Array.from({ length: TEN }, (_, k) => `ten-${i}-${k}`)
    keep(samples.ten.shoal, await apply(tenNames, `ten-${i}`))
    keep(
      samples.ten.compose,
      await composeUp(
        tenNames.map((_, k) => `s${k}`),
        `cten${i}`,
      ),
    )
    keep(
      samples.ten.dockerodeParallel,
      await dockerode(
        tenNames.map((_, k) => `s${k}`),
        `ften${i}`,
      ),
    )
    keep(
      samples.ten.dockerRunParallel,
      await dockerRunParallel(
        tenNames.map((_, k) => `s${k}`),
        `rten${i}`,
      ),
    )
    await sleep(200)
    if (counted) note(`${i - options.warmup + 1}/${options.runs} runs`)
  }
  stopEvents()
  await stopProcess(agent)
  await stopProcess(hub.handle)
  await removeContainersByLabel(bench.label)

  const pick = (list, key) => summarize(list.map((r) => r[key]))
  const one = {
    shoalApply: { toRunning: pick(samples.one.shoal, 'toRunningMs'), cliExit: pick(samples.one.shoal, 'cliExitMs') },
    composeUp: compose.missing ? null : { toRunning: pick(samples.one.compose, 'toRunningMs'), cliExit: pick(samples.one.compose, 'cliExitMs') },
    dockerodeCreateStart: { toRunning: pick(samples.one.dockerode, 'toRunningMs') },
  }
  const ten = {
    shoalApply: { toLastRunning: pick(samples.ten.shoal, 'toRunningMs'), cliExit: pick(samples.ten.shoal, 'cliExitMs') },
    composeUp: compose.missing ? null : { toLastRunning: pick(samples.ten.compose, 'toRunningMs'), cliExit: pick(samples.ten.compose, 'cliExitMs') },
    dockerodeParallel: { toLastRunning: pick(samples.ten.dockerodeParallel, 'toRunningMs') },
    dockerRunParallel: { toLastRunning: pick(samples.ten.dockerRunParallel, 'toRunningMs') },
  }
  printResult({
    benchmark: 'apply-vs-compose',
    command: `node scripts/bench/apply-vs-compose.mjs ${process.argv.slice(2).join(' ')}`.trim(),
    at: new Date().toISOString(),
    dist: DIST,
    machine: { ...host, ...load() },
    agents: 'real',
    agentProfile: profile,
    compose: compose.missing ? { missing: compose.missing } : { command: options.compose, version: compose.version },
    runs: options.runs,
    warmupRuns: options.warmup,
    unit: 'ms',
    one,
    ten,
    ratios: {
      oneShoalOverCompose: compose.missing ? null : round(one.shoalApply.toRunning.p50 / one.composeUp.toRunning.p50, 2),
      tenShoalOverParallelFloor: round(ten.shoalApply.toLastRunning.p50 / ten.dockerodeParallel.toLastRunning.p50, 2),
      tenShoalOverDockerRunParallel: round(ten.shoalApply.toLastRunning.p50 / ten.dockerRunParallel.toLastRunning.p50, 2),
    },
    raw: samples,
  })
})

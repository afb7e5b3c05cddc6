#!/usr/bin/env node
// cli-start: how long the `shoal` CLI takes from exec to exit, beside bare Node, for what an
// operator types most: `--version`, `--help`, and `get nodes` against a hub on 127.0.0.1 (one
// enrolled-looking node is not needed: an empty listing still makes the request and prints).
// Each command is a fresh `node dist/cli/main.js ...` process, timed from spawn to exit; the
// commands are interleaved run by run so that the machine's load falls on all of them alike.
// `get nodes` runs twice: with --hub/--token flags, and with a saved context (`shoal login`'s
// config file, which costs reading YAML). Also counts the modules each one loads (ES modules
// seen by a load hook; a CommonJS package counts as its entry file). --baseline DIST adds the
// same commands from another build (scripts/bench/snapshot.sh of an older commit), interleaved
// with these, so a before/after comparison meets the same load.
//
//   node scripts/bench/cli-start.mjs [--runs 30] [--warmup 3] [--baseline /tmp/old/dist]
import { spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { benchArgs } from './lib/args.mjs'
import { machine, machineLoad } from './lib/machine.mjs'
import { note, printResult } from './lib/output.mjs'
import { runBenchmark, stopProcess } from './lib/processes.mjs'
import { CLI, DIST, benchDir, startHub } from './lib/services.mjs'
import { summarize } from './lib/stats.mjs'

// A module hook that names every module file as it loads (on stderr).
const LOAD_HOOK = `import { register } from 'node:module'
register('data:text/javascript,' + encodeURIComponent(\`
import { writeSync } from 'node:fs'
export async function load(url, context, next) {
  writeSync(2, 'LOAD ' + url + '\\\\n')
  return next(url, context)
}\`))
`

const options = benchArgs(
  { runs: 30, warmup: 3, baseline: '' },
  'node scripts/bench/cli-start.mjs: shoal --version, --help and get nodes, exec to exit, beside node -e 0',
)

/** Runs one process to its exit; resolves with wall milliseconds and its output, rejects on a non-zero exit. */
function timed(args, env = {}) {
  return new Promise((resolve, reject) => {
    const started = performance.now()
    const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.on('data', (chunk) => {
      out += chunk
    })
    child.stderr.on('data', (chunk) => {
      err += chunk
    })
    child.on('error', reject)
    child.on('close', (code) => {
      const ms = performance.now() - started
      if (code !== 0) reject(new Error(`node ${args.join(' ')} exited ${code}: ${err.slice(0, 500)}`))
      else resolve({ ms, out, err })
    })
  })
}

await runBenchmark(async () => {
  const host = await machine({ withDocker: false })
  const load = machineLoad()
  const dir = benchDir('cli-start')
  const hub = await startHub(dir)
  note(`hub on ${hub.apiUrl}`)
  // A saved context, as `shoal login` writes it.
  const config = path.join(dir, 'cli-config.yaml')
  await timed([CLI, 'login', hub.apiUrl, '--token', hub.adminToken, '--name', 'bench'], { SHOAL_CONFIG: config })
  const noConfig = path.join(dir, 'no-config.yaml')
  writeFileSync(path.join(dir, 'loads-hook.mjs'), LOAD_HOOK)

  const cases = {
    nodeBare: { args: ['-e', '0'] },
    version: { args: [CLI, '--version'], env: { SHOAL_CONFIG: noConfig } },
    help: { args: [CLI, '--help'], env: { SHOAL_CONFIG: noConfig } },
    getNodesFlags: { args: [CLI, 'get', 'nodes', '--hub', hub.apiUrl, '--token', hub.adminToken], env: { SHOAL_CONFIG: noConfig } },
    getNodesContext: { args: [CLI, 'get', 'nodes'], env: { SHOAL_CONFIG: config } },
  }
  if (options.baseline) {
    const baseCli = path.join(path.resolve(options.baseline), 'cli', 'main.js')
    for (const name of ['version', 'help', 'getNodesFlags', 'getNodesContext']) {
      const { args, env } = cases[name]
      cases[`baseline.${name}`] = { args: [baseCli, ...args.slice(1)], env }
    }
  }
  const samples = Object.fromEntries(Object.keys(cases).map((name) => [name, []]))
  for (let i = 0; i < options.warmup + options.runs; i++) {
    for (const [name, { args, env }] of Object.entries(cases)) {
      const { ms } = await timed(args, env)
      if (i >= options.warmup) samples[name].push(ms)
    }
    if (i >= options.warmup && (i - options.warmup + 1) % 10 === 0) note(`${i - options.warmup + 1}/${options.runs} runs`)
  }
  const modules = {}
  for (const [name, { args, env }] of Object.entries(cases)) {
    if (name === 'nodeBare') continue
    const { err } = await timed(['--import', path.join(dir, 'loads-hook.mjs'), ...args], env)
    modules[name] = err.split('\n').filter((line) => line.startsWith('LOAD file:')).length
  }
  await stopProcess(hub.handle)

  const summaries = Object.fromEntries(Object.entries(samples).map(([name, values]) => [name, summarize(values)]))
  const bare = summaries.nodeBare.p50
  printResult({
    benchmark: 'cli-start',
    command: `node scripts/bench/cli-start.mjs ${process.argv.slice(2).join(' ')}`.trim(),
    at: new Date().toISOString(),
    dist: DIST,
    baseline: options.baseline ? path.resolve(options.baseline) : null,
    machine: { ...host, ...load() },
    runs: options.runs,
    warmupRuns: options.warmup,
    unit: 'ms',
    execToExit: summaries,
    overBareNodeP50: Object.fromEntries(Object.entries(summaries).map(([name, s]) => [name, Math.round((s.p50 / bare) * 100) / 100])),
    modulesLoaded: modules,
  })
})

// What the agent's resident memory is made of: a fresh Node process per layer, each loading
// one more slice of the agent, RSS read after a full GC: Node itself, the agent's own module
// graph, the CLI around it, the MQTT transport, the Docker runtime. Plus what each dependency
// adds on its own to an empty process (these overlap: shared Node internals count in each).
import { execFileSync } from 'node:child_process'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { DIST, ROOT } from './services.mjs'
import { MB } from './proc.mjs'
import { round } from './output.mjs'

const url = (file) => pathToFileURL(path.join(DIST, file)).href

const quietLogger = `const quiet = { child: () => quiet, trace() {}, debug() {}, info() {}, warn() {}, error() {}, fatal() {} };`

/** Each layer adds to the one before it: the agent as `shoal agent run --hub mqtt://...` loads it. */
const LAYERS = [
  { layer: 'node (empty process)', code: '' },
  { layer: '+ the agent daemon module graph (dist/agent/daemon.js)', code: `await import(${JSON.stringify(url('agent/daemon.js'))});` },
  { layer: '+ the shoal CLI (dist/cli/program.js)', code: `await import(${JSON.stringify(url('cli/program.js'))});` },
  {
    layer: '+ the MQTT transport (dist/agent/transport/mqtt-transport.js)',
    code: `await import(${JSON.stringify(url('agent/transport/mqtt-transport.js'))});`,
  },
  {
    layer: '+ one fetch() call (enrollment with --token loads undici, which stays loaded)',
    code: `await fetch('http://127.0.0.1:9/').catch(() => undefined);`,
  },
  {
    layer: '+ the Docker runtime, created (createDockerRuntime)',
    code: `${quietLogger} await (await import(${JSON.stringify(url('agent/runtime/docker-runtime.js'))})).createDockerRuntime({ logger: quiet });`,
  },
]

export function rssLayers() {
  let code = ''
  return LAYERS.map(({ layer, code: more }) => {
    code += more
    const script = `${code}
      await new Promise((r) => setTimeout(r, 300)); globalThis.gc(); await new Promise((r) => setTimeout(r, 100));
      const m = process.memoryUsage(); process.stdout.write(JSON.stringify({ rss: m.rss, heapUsed: m.heapUsed }))`
    const out = execFileSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8' })
    const { rss, heapUsed } = JSON.parse(out)
    return { layer, rssMiB: round(rss / MB, 1), heapUsedMiB: round(heapUsed / MB, 1) }
  })
}

const PACKAGES = ['better-sqlite3', 'mqtt', 'nats', 'pino', 'systeminformation', 'zod', 'yaml', 'commander', 'aedes', 'dockerode']

/** RSS each dependency adds on its own to an empty Node process (the figures overlap: shared deps count in each). */
export function rssPerPackage() {
  const measure = (specifier) => {
    const script = `${specifier ? `await import(${JSON.stringify(specifier)});` : ''}
      await new Promise((r) => setTimeout(r, 300)); globalThis.gc(); await new Promise((r) => setTimeout(r, 100));
      process.stdout.write(String(process.memoryUsage().rss))`
    return Number(execFileSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8' }))
  }
  const base = measure(null)
  return Object.fromEntries(PACKAGES.map((name) => [name, round((measure(name) - base) / MB, 1)]))
}

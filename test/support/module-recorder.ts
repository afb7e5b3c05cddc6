import { execFileSync } from 'node:child_process'

/** A module that records the URL of every module loaded after it (a loader hook on its own thread). */
const RECORDER = `data:text/javascript,${encodeURIComponent(`
  import { register } from 'node:module'
  import { MessageChannel } from 'node:worker_threads'
  const { port1, port2 } = new MessageChannel()
  globalThis.loadedModules = []
  port1.on('message', (url) => globalThis.loadedModules.push(url))
  port1.unref()
  register('data:text/javascript,' + encodeURIComponent(\`
    let port
    export function initialize(data) { port = data.port }
    export async function load(url, context, next) { port.postMessage(url); return next(url, context) }
  \`), { data: { port: port2 }, transferList: [port2] })
`)}`

/**
 * Runs `script` (an ES module body) in a fresh Node process and returns what it wrote to stdout,
 * parsed as JSON; the script may read `globalThis.loadedModules`, the URL of every module loaded
 * so far. Wait a moment before reading it: the hook thread reports asynchronously.
 */
export function runRecordingModules<T>(script: string): T {
  return JSON.parse(execFileSync(process.execPath, ['--import', RECORDER, '--input-type=module', '-e', script], { encoding: 'utf8' })) as T
}

/** The loaded module URLs of one npm package. */
export function packageModules(modules: readonly string[], name: string): string[] {
  return modules.filter((url) => url.includes(`/node_modules/${name}/`))
}

// Every process a benchmark starts is recorded here and stopped by its PID: SIGTERM, then
// SIGKILL after a grace period. Nothing is ever stopped by name. If the benchmark itself is
// interrupted or crashes, what it started is stopped on the way out.
import { spawn } from 'node:child_process'
import { createWriteStream } from 'node:fs'
import { note } from './output.mjs'

const started = new Map()
const cleanups = []
let hooked = false
let failed = false

/** True once the benchmark has failed or been interrupted (temp dirs are then kept). */
export function benchFailed() {
  return failed
}

/**
 * Starts `command args`, stdout and stderr into `logFile` through this process (so a child's
 * log writes are not counted as the child's disk writes), counting the bytes it printed.
 */
export function startProcess(name, command, args, { logFile, env, cwd, stdin = 'ignore' } = {}) {
  hookExit()
  const child = spawn(command, args, { stdio: [stdin, 'pipe', 'pipe'], env: { ...process.env, ...env }, cwd, detached: false })
  const log = logFile ? createWriteStream(logFile, { flags: 'a' }) : null
  const handle = {
    name,
    child,
    pid: child.pid,
    logFile,
    outputBytes: 0,
    exited: null,
    exitedPromise: new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal }))),
    /** Calls `fn(line)` for every stdout line (JSON-lines protocols between processes). */
    onLine: null,
  }
  let pending = ''
  child.stdout.on('data', (chunk) => {
    handle.outputBytes += chunk.length
    log?.write(chunk)
    if (!handle.onLine) return
    pending += chunk.toString('utf8')
    let newline
    while ((newline = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, newline)
      pending = pending.slice(newline + 1)
      if (line.trim() !== '') handle.onLine(line)
    }
  })
  child.stderr.on('data', (chunk) => {
    handle.outputBytes += chunk.length
    log?.write(chunk)
  })
  child.once('exit', (code, signal) => {
    handle.exited = { code, signal }
    started.delete(child.pid)
    log?.end()
  })
  if (child.pid === undefined) throw new Error(`could not start ${name} (${command})`)
  started.set(child.pid, handle)
  return handle
}

/** SIGTERM, wait up to `graceMs`, then SIGKILL; by PID. Resolves when it has exited. */
export async function stopProcess(handle, graceMs = 10_000) {
  if (handle.exited) return handle.exited
  try {
    process.kill(handle.pid, 'SIGTERM')
  } catch {
    return handle.exitedPromise
  }
  const timer = setTimeout(() => {
    note(`${handle.name} (pid ${handle.pid}) still running after ${graceMs} ms: SIGKILL`)
    try {
      process.kill(handle.pid, 'SIGKILL')
    } catch {
      // already gone
    }
  }, graceMs)
  const result = await handle.exitedPromise
  clearTimeout(timer)
  return result
}

/** Stops everything still running, newest first. */
export async function stopAll() {
  for (const handle of [...started.values()].reverse()) await stopProcess(handle)
}

/** Runs `fn` at the end (after the processes are stopped): container removal, temp dirs. */
export function atCleanup(fn) {
  hookExit()
  cleanups.push(fn)
}

/** Stops processes and runs cleanups; call at the end of every benchmark (also on failure). */
export async function cleanup() {
  await stopAll()
  while (cleanups.length > 0) {
    const fn = cleanups.pop()
    try {
      await fn()
    } catch (error) {
      note(`cleanup step failed: ${error.message}`)
    }
  }
}

function hookExit() {
  if (hooked) return
  hooked = true
  // Last resort: a benchmark that dies leaves nothing running.
  process.once('exit', () => {
    for (const pid of started.keys()) {
      try {
        process.kill(pid, 'SIGKILL')
      } catch {
        // already gone
      }
    }
  })
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.once(signal, () => {
      note(`${signal}: stopping what this benchmark started`)
      failed = true
      void cleanup().finally(() => process.exit(130))
    })
  }
}

/** Runs a benchmark's main function, always cleaning up, and exits non-zero on failure. */
export async function runBenchmark(main) {
  try {
    await main()
    await cleanup()
  } catch (error) {
    process.stderr.write(`benchmark failed: ${error.stack ?? error}\n`)
    failed = true
    await cleanup()
    process.exit(1)
  }
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/** Polls `fn` until it returns something truthy; throws after `timeoutMs` naming `what`. */
export async function waitFor(fn, { what, timeoutMs = 30_000, intervalMs = 100 } = {}) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await fn()
    if (value) return value
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(intervalMs)
  }
}

import { spawn, type ChildProcess } from 'node:child_process'
import { accessSync, closeSync, constants, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { portAccepts } from './ports.js'
import type { TestLike } from './types.js'
import { waitFor } from './wait.js'

/** A real server process on a fixed loopback port that a test can stop and start again. */
export interface ServiceHandle {
  readonly url: string
  readonly port: number
  /** PID of the running process; undefined while stopped. */
  readonly pid: number | undefined
  /** Private directory for config, data and the log. */
  readonly dir: string
  readonly logFile: string
  /** Start again on the same port; resolves once the port accepts TCP. */
  start(): Promise<void>
  /** SIGTERM, then SIGKILL if it lingers; resolves once it has exited. */
  stop(): Promise<void>
  /** Send a terminating signal (default SIGKILL, a crash) and wait for the exit. */
  kill(signal?: NodeJS.Signals): Promise<void>
  /** Send a signal without waiting (e.g. SIGHUP to reload). */
  signal(signal: NodeJS.Signals): void
  /** The process's output so far, for failure messages. */
  log(): string
}

export interface ServiceSpec {
  name: string
  url: string
  port: number
  dir: string
  command: string
  args: string[]
  startTimeoutMs?: number
}

// Children still running when a test process exits abruptly are killed here,
// so a crashed test file does not leave brokers behind.
const live = new Set<ChildProcess>()
let exitHookInstalled = false
function trackForExit(child: ChildProcess): void {
  live.add(child)
  child.once('exit', () => live.delete(child))
  if (exitHookInstalled) return
  exitHookInstalled = true
  process.once('exit', () => {
    for (const c of live) c.kill('SIGKILL')
  })
}

/** A private directory for one service; removed by the caller's teardown. */
export function serviceDir(prefix: string): string {
  return mkdtempSync(path.join(process.env.SHOAL_TMP || os.tmpdir(), `${prefix}-`))
}

const EXIT_WAIT_MS = 5_000

/**
 * Debian installs mosquitto and nats-server in /usr/sbin, which a non-root
 * PATH often lacks; look there too so the error is never "ENOENT".
 */
export function findBinary(name: string): string {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter), '/usr/local/sbin', '/usr/sbin', '/sbin']
  for (const dir of dirs) {
    if (!dir) continue
    const candidate = path.join(dir, name)
    try {
      accessSync(candidate, constants.X_OK)
      return candidate
    } catch {
      // not in this directory
    }
  }
  throw new Error(`${name} not found: run the suite via ./scripts/test, which installs it`)
}

function exited(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true)
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms)
    child.once('exit', () => {
      clearTimeout(timer)
      resolve(true)
    })
  })
}

/**
 * Start the service now and stop it (and remove its directory) when the test
 * ends, whether it passed or not.
 */
export async function startService(t: TestLike, spec: ServiceSpec): Promise<ServiceHandle> {
  const logFile = path.join(spec.dir, `${spec.name}.log`)
  let child: ChildProcess | undefined

  const tail = (): string => {
    try {
      return readFileSync(logFile, 'utf8').split('\n').slice(-30).join('\n')
    } catch {
      return '(no log)'
    }
  }

  const start = async (): Promise<void> => {
    if (child) throw new Error(`${spec.name} is already running (pid ${child.pid})`)
    const fd = openSync(logFile, 'a')
    let proc: ChildProcess
    try {
      proc = spawn(findBinary(spec.command), spec.args, { cwd: spec.dir, stdio: ['ignore', fd, fd] })
    } finally {
      closeSync(fd) // the child has its own copy
    }
    proc.on('error', () => undefined) // reported through `died` below; never crash the test
    child = proc
    trackForExit(proc)
    proc.once('exit', () => {
      if (child === proc) child = undefined
    })
    // Fail at once, with the log, if it dies or cannot spawn while we wait.
    let onDeath: (() => void) | undefined
    const died = new Promise<never>((_, reject) => {
      onDeath = () => reject(new Error(`${spec.name} exited during start-up`))
      proc.once('exit', onDeath)
      proc.once('error', onDeath)
    })
    died.catch(() => undefined) // only observed through the race below
    const stopPolling = new AbortController()
    const listening = waitFor(() => portAccepts(spec.port), {
      signal: stopPolling.signal,
      what: `${spec.name} to accept TCP on 127.0.0.1:${spec.port}`,
      timeoutMs: spec.startTimeoutMs ?? 15_000,
      intervalMs: 50,
    })
    try {
      await Promise.race([listening, died])
    } catch (err) {
      proc.kill('SIGKILL')
      const msg = err instanceof Error ? err.message : String(err)
      throw new Error(`${msg}\n--- ${spec.name} log ---\n${tail()}`)
    } finally {
      if (onDeath) {
        proc.off('exit', onDeath)
        proc.off('error', onDeath)
      }
      stopPolling.abort()
      listening.catch(() => undefined)
    }
  }

  const kill = async (sig: NodeJS.Signals = 'SIGKILL'): Promise<void> => {
    const proc = child
    if (!proc) return
    proc.kill(sig)
    if (await exited(proc, EXIT_WAIT_MS)) return
    if (sig === 'SIGKILL') throw new Error(`${spec.name} (pid ${proc.pid}) survived SIGKILL`)
    proc.kill('SIGKILL')
    if (!(await exited(proc, EXIT_WAIT_MS))) throw new Error(`${spec.name} (pid ${proc.pid}) survived SIGKILL`)
  }

  const handle: ServiceHandle = {
    url: spec.url,
    port: spec.port,
    get pid() {
      return child?.pid
    },
    dir: spec.dir,
    logFile,
    start,
    stop: () => kill('SIGTERM'),
    kill,
    signal: (sig) => {
      child?.kill(sig)
    },
    log: () => {
      try {
        return readFileSync(logFile, 'utf8')
      } catch {
        return ''
      }
    },
  }

  // Registered before the first start, so a failed start still cleans up.
  t.teardown(async () => {
    await kill('SIGTERM')
    rmSync(spec.dir, { recursive: true, force: true })
  })
  await start()
  return handle
}

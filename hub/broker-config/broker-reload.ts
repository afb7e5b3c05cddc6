import { readFileSync } from 'node:fs'

export interface ReloadOutcome {
  /** The PIDs that were sent SIGHUP. */
  readonly signalled: readonly number[]
  /** Targets that could not be signalled, and why (stale pid file, no permission...). */
  readonly failed: readonly { readonly target: string; readonly reason: string }[]
}

/** `--broker-reload-pid` takes a PID or a pid file; a file is read anew each time, so a restarted broker is found. */
export function resolveReloadTarget(target: string, readFile: (path: string) => string = (path) => readFileSync(path, 'utf8')): number {
  const text = /^\d+$/.test(target) ? target : readFile(target).trim()
  const pid = Number(text)
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(pid) || pid <= 1)
    throw new Error(`${target}: expected a process id, found ${JSON.stringify(text.slice(0, 20))}`)
  return pid
}

/**
 * Asks each broker to reload by SIGHUP: Mosquitto then rereads its password and ACL files and
 * drops clients whose user is gone; nats-server rereads its configuration (includes too) and
 * drops clients that no longer authenticate.
 */
export function signalReload(
  targets: readonly string[],
  kill: (pid: number, signal: NodeJS.Signals) => void = (pid, signal) => process.kill(pid, signal),
): ReloadOutcome {
  const signalled: number[] = []
  const failed: { target: string; reason: string }[] = []
  for (const target of targets) {
    try {
      const pid = resolveReloadTarget(target)
      kill(pid, 'SIGHUP')
      signalled.push(pid)
    } catch (error) {
      failed.push({ target, reason: (error as Error).message })
    }
  }
  return { signalled, failed }
}

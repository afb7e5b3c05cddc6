// Spawning the built `shoal` CLI as a real process, for agent and hub helpers alike.
import { spawn, type ChildProcess } from 'node:child_process'
import { closeSync, existsSync, openSync, writeSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
export const CLI = path.join(ROOT, 'dist', 'cli', 'main.js')

// Processes still running when a test process dies are killed with it, by PID.
const live = new Set<ChildProcess>()
let exitHook = false
function track(child: ChildProcess): void {
  live.add(child)
  child.once('exit', () => live.delete(child))
  if (exitHook) return
  exitHook = true
  process.once('exit', () => {
    for (const c of live) {
      try {
        if (c.pid) process.kill(c.pid, 'SIGKILL')
      } catch {
        // already gone
      }
    }
  })
}

/**
 * Starts `node dist/cli/main.js ARGS`, appending its output to logFile under a header line.
 * `netns` runs it inside that network namespace (`ip netns exec` execs in place: the PID is node's).
 */
export function spawnCli(
  logFile: string,
  args: readonly string[],
  startNumber: number,
  env: Readonly<Record<string, string>> = {},
  netns?: string,
): ChildProcess {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` (scripts/test does) before the integration tests`)
  const fd = openSync(logFile, 'a')
  writeSync(fd, `--- start #${startNumber}: ${netns ? `ip netns exec ${netns} ` : ''}node ${args.join(' ')}\n`)
  const [command, commandArgs] = netns ? ['ip', ['netns', 'exec', netns, process.execPath, ...args]] : [process.execPath, [...args]]
  let child: ChildProcess
  try {
    child = spawn(command, commandArgs, { cwd: ROOT, stdio: ['ignore', fd, fd], env: { ...process.env, ...env } })
  } finally {
    closeSync(fd)
  }
  track(child)
  return child
}

// Shared by the cli-*.test.ts files: the CLI run in-process with captured output (fast), or
// spawned as `node dist/cli/main.js` (real exit codes and signals), and table checks.
import { spawn, type ChildProcess } from 'node:child_process'
import type { Test } from 'tap'
import { CLI } from '../support/agent-process.js'
import { waitFor } from '../support/index.js'
import type { TestLike } from '../support/types.js'
import { runCli } from '../../cli/program.js'
import type { CliIo } from '../../cli/io.js'

export interface CliRun {
  readonly code: number
  readonly out: string
  readonly err: string
}

/** Runs `shoal ARGV` in this process with its output captured. */
export async function cli(argv: readonly string[], options: { isTTY?: boolean } = {}): Promise<CliRun> {
  let out = ''
  let err = ''
  const io: CliIo & { isTTY?: boolean } = { out: (text) => (out += text), err: (text) => (err += text), ...(options.isTTY ? { isTTY: true } : {}) }
  const code = await runCli(argv, io)
  return { code, out, err }
}

/** Runs the CLI and expects success; the failure message carries its stderr. */
export async function cliOk(t: Test, argv: readonly string[]): Promise<CliRun> {
  const run = await cli(argv)
  t.equal(run.code, 0, `shoal ${argv.join(' ')} exits 0${run.code === 0 ? '' : ` (stderr: ${run.err.trim()})`}`)
  return run
}

/** A spawned `shoal` process: its output so far, and how it ended. */
export interface SpawnedCli {
  readonly child: ChildProcess
  out(): string
  err(): string
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

/** Spawns `node dist/cli/main.js ARGV`; killed by PID at teardown if it still runs. */
export function spawnCli(t: TestLike, argv: readonly string[], env: NodeJS.ProcessEnv = {}, input?: string): SpawnedCli {
  const child = spawn(process.execPath, [CLI, ...argv], { env: { ...process.env, ...env }, stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] })
  if (input !== undefined) child.stdin?.end(input)
  let out = ''
  let err = ''
  child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')))
  child.stderr?.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  )
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null && child.pid) process.kill(child.pid, 'SIGKILL')
  })
  return { child, out: () => out, err: () => err, exited }
}

/** Runs a spawned CLI to its end (bounded), like a shell would. */
export async function runSpawned(
  t: TestLike,
  argv: readonly string[],
  options: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {},
): Promise<CliRun> {
  const timeoutMs = options.timeoutMs ?? 30_000
  const run = spawnCli(t, argv, options.env, options.input)
  const ended = await Promise.race([run.exited, new Promise<null>((resolve) => setTimeout(() => resolve(null), timeoutMs).unref())])
  if (ended === null) {
    if (run.child.pid) process.kill(run.child.pid, 'SIGKILL')
    throw new Error(`shoal ${argv.join(' ')} did not end within ${timeoutMs} ms; output: ${run.out()} ${run.err()}`)
  }
  return { code: ended.code ?? -1, out: run.out(), err: run.err() }
}

/** Waits until the spawned CLI has printed something matching. */
export function waitForOutput(run: SpawnedCli, pattern: RegExp, what: string, timeoutMs = 30_000): Promise<boolean> {
  return waitFor(() => pattern.test(run.out()), { what: `${what} (stdout so far: ${JSON.stringify(run.out().slice(-600))})`, timeoutMs, intervalMs: 100 })
}

/**
 * Checks that a table is aligned (every column of every row starts where its header does),
 * then returns its cells joined with " | ", each normalised by `normalise`: the golden form.
 */
export function tableCells(table: string, normalise: (cell: string) => string = (c) => c): { aligned: boolean; problems: string[]; golden: string } {
  const lines = table.replace(/\n$/, '').split('\n')
  const header = lines[0] ?? ''
  const starts: number[] = []
  const headerCells = [...header.matchAll(/\S+(?: \S+)*/g)]
  for (const match of headerCells) starts.push(match.index ?? 0)
  const problems: string[] = []
  const rows = lines.map((line, index) => {
    const cells = starts.map((start, i) => {
      const end = i + 1 < starts.length ? (starts[i + 1] as number) : line.length
      if (index > 0 && start > 0 && line.length > start && line[start - 1] !== ' ')
        problems.push(`line ${index + 1}: column ${i + 1} does not start at ${start}: ${JSON.stringify(line)}`)
      return line.slice(start, end).trim()
    })
    return cells.map(normalise).join(' | ')
  })
  return { aligned: problems.length === 0, problems, golden: rows.join('\n') }
}

/** A cell's ages ("5s", "3m", "2h", "4d") as <age>, also inside "Offline (5m)". */
export function normaliseAges(cell: string): string {
  return cell.replace(/\b\d+[smhd]\b/g, '<age>')
}

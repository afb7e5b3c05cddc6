import { Command } from 'commander'
import { Name, NodeId } from '../../protocol/primitives.js'
import type { SessionRequest } from '../../protocol/api/sessions.js'
import { addConnectionOptions, resolveConnection, type ConnectionOptions } from '../contexts.js'
import { CliError, ExitCode, type CliIo } from '../io.js'
import { CliSession, exitCodeOfEnd } from '../session-client.js'

type ExecSessionRequest = Extract<SessionRequest, { kind: 'exec' }>

interface ExecOptions extends ConnectionOptions {
  stdin?: boolean
  tty?: boolean
  container?: string
  node?: string
  replica?: string
}

/** The copy options `exec`, `port-forward` and `cp` share, checked: usage mistakes end with exit code 2. */
export function copyOptionsOf(options: { node?: string; replica?: string; container?: string }): { node?: string; replica?: number; container?: string } {
  const out: { node?: string; replica?: number; container?: string } = {}
  if (options.node !== undefined) {
    if (!NodeId.safeParse(options.node).success) throw new CliError(`--node must be a node's name, got ${JSON.stringify(options.node)}`, ExitCode.usage)
    out.node = options.node
  }
  if (options.replica !== undefined) {
    const replica = Number(options.replica)
    if (!/^\d+$/.test(options.replica) || replica < 1 || replica > 1000)
      throw new CliError(`--replica must be a whole number from 1 to 1000, got ${JSON.stringify(options.replica)}`, ExitCode.usage)
    out.replica = replica
  }
  if (options.container !== undefined) {
    if (!Name.safeParse(options.container).success)
      throw new CliError(
        `--container must be a container's name (lower-case letters, digits and "-"), got ${JSON.stringify(options.container)}`,
        ExitCode.usage,
      )
    out.container = options.container
  }
  return out
}

export function deploymentNameOf(text: string): string {
  const name = text.startsWith('deployment/') ? text.slice('deployment/'.length) : text
  if (!Name.safeParse(name).success) throw new CliError(`expected a deployment name, got ${JSON.stringify(text)}`, ExitCode.usage)
  return name
}

/** `shoal exec [-i] [-t] DEPLOYMENT -- CMD...`: a command in a workload's container, through the hub and the node's broker link. */
export function execCommand(io: CliIo): Command {
  return addConnectionOptions(
    new Command('exec')
      .description("run a command in a deployment's container on its node, through the hub (no inbound port on the node)")
      .argument('<deployment>', 'a deployment name')
      .argument('<command...>', 'the command and its arguments, after --')
      .option('-i, --stdin', 'pass stdin to the command')
      .option('-t, --tty', 'allocate a terminal (with -i: an interactive shell that follows this terminal’s size)')
      .option('-c, --container <name>', 'a container of a several-container copy (default: its first)')
      .option('--node <name>', 'the copy on this node (needed when the deployment runs on several)')
      .option('--replica <n>', 'which of the node’s copies (1-based), when it holds several'),
  )
    .addHelpText(
      'after',
      `
The command's stdout and stderr come back as they are written; shoal exits with the
command's exit code. A refusal (no such deployment, several copies and no --node, the node
offline, remote sessions turned off on it) is printed on stderr with exit code 1. Every
session is recorded on the hub: see shoal get sessions.

Examples:
  $ shoal exec web -- ls -l /data
  $ shoal exec -it web --node pi-17 -- sh
  $ echo 'select 1;' | shoal exec -i db -- psql -U app`,
    )
    .action(async (deploymentText: string, command: string[], options: ExecOptions) => {
      const request: ExecSessionRequest = {
        kind: 'exec',
        deployment: deploymentNameOf(deploymentText),
        ...copyOptionsOf(options),
        command,
        tty: options.tty === true,
        stdin: options.stdin === true,
      }
      process.exitCode = await runExec(io, resolveConnection(options), request)
    })
}

/** Runs one exec session with this process's stdin, stdout and terminal; the exit code to leave with. */
async function runExec(io: CliIo, connection: ReturnType<typeof resolveConnection>, request: ExecSessionRequest): Promise<number> {
  const stdin = process.stdin
  const tty = request.tty && stdin.isTTY === true && process.stdout.isTTY === true
  const size = tty ? { cols: Math.max(1, process.stdout.columns), rows: Math.max(1, process.stdout.rows) } : undefined
  let session: CliSession | null = null
  const session$ = CliSession.open(
    connection,
    { ...request, ...(size ? { size } : {}) },
    {
      data: (stream, bytes) => {
        const out = stream === 'stdout' ? process.stdout : process.stderr
        const more = out.write(bytes)
        if (!more) out.once('drain', () => session?.resume())
        return more
      },
    },
  )
  session = await session$
  const open = session
  const cleanups: (() => void)[] = []
  if (tty) {
    stdin.setRawMode(true)
    cleanups.push(() => stdin.setRawMode(false))
    const onResize = (): void => open.resize({ cols: Math.max(1, process.stdout.columns), rows: Math.max(1, process.stdout.rows) })
    process.stdout.on('resize', onResize)
    cleanups.push(() => process.stdout.off('resize', onResize))
  }
  // Ctrl-C without a terminal ends the session (with one, it is a byte for the remote side).
  const interrupt = (): void => open.close()
  process.on('SIGINT', interrupt)
  process.on('SIGTERM', interrupt)
  cleanups.push(() => {
    process.off('SIGINT', interrupt)
    process.off('SIGTERM', interrupt)
  })
  if (request.stdin) pump(stdin, open, cleanups)
  const end = await open.ended
  for (const cleanup of cleanups.reverse()) cleanup()
  stdin.pause()
  if (end.error) io.err(`shoal exec: ${end.error.message} (${end.error.code})\n`)
  return exitCodeOfEnd(end)
}

/** Copies stdin into the session (as fast as the session takes it), then end-of-input; stops reading at cleanup. */
function pump(stdin: NodeJS.ReadStream, session: CliSession, cleanups: (() => void)[]): void {
  let stopped = false
  const onData = (chunk: Buffer | string): void => {
    stdin.pause()
    void session.write(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk)).then(() => {
      if (!stopped) stdin.resume()
    })
  }
  const onEnd = (): void => session.eof()
  stdin.on('data', onData)
  stdin.once('end', onEnd)
  stdin.resume()
  cleanups.push(() => {
    stopped = true
    stdin.off('data', onData)
    stdin.off('end', onEnd)
    stdin.pause()
  })
}

import { Command, CommanderError, Help } from 'commander'
import { CliError, ExitCode, processIo, type CliIo } from './io.js'
import { COMMANDS, type CommandEntry, commandNamed } from './command-index.js'
import { readPackageVersion } from '../common/version.js'

/**
 * Builds the `shoal` command tree with the commands in `loaded` in full and every other one as
 * its light description (command-index.ts): enough for `shoal --help` and for commander to
 * suggest a name, never run. Tests call this with their own io.
 */
export function buildProgram(io: CliIo, loaded: ReadonlyMap<string, Command> = new Map()): Command {
  const terms = new Map(COMMANDS.map((entry) => [entry.name, entry.term]))
  const program = new Command('shoal')
    .description('Shoal: a lightweight orchestrator for edge and data-center fleets')
    .version(readPackageVersion(), '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .configureHelp({ subcommandTerm: (command) => terms.get(command.name()) ?? Help.prototype.subcommandTerm.call(new Help(), command) })
    .exitOverride()
  for (const entry of COMMANDS) program.addCommand(loaded.get(entry.name) ?? placeholder(entry))
  for (const command of program.commands) applyCommonBehaviour(command, io)
  return program
}

/** The whole tree, every command loaded: for completion scripts and tests that walk it. */
export async function buildFullProgram(io: CliIo): Promise<Command> {
  return buildProgram(io, await loadCommands(COMMANDS, io))
}

async function loadCommands(entries: readonly CommandEntry[], io: CliIo): Promise<Map<string, Command>> {
  const commands = await Promise.all(entries.map(async (entry) => [entry.name, await entry.load(io)] as const))
  return new Map(commands)
}

function placeholder(entry: CommandEntry): Command {
  return new Command(entry.name).description(entry.description).action(() => {
    throw new Error(`shoal ${entry.name} ran without its module loaded`)
  })
}

function applyCommonBehaviour(command: Command, io: CliIo): void {
  command.configureOutput({ writeOut: io.out, writeErr: io.err }).exitOverride().showHelpAfterError('(run with --help for usage)')
  for (const sub of command.commands) applyCommonBehaviour(sub, io)
}

/**
 * Runs the CLI and returns the exit code instead of exiting, so it can be tested in-process.
 * Commands end a failed run by throwing a CliError (message and exit code). One that sets
 * `process.exitCode` instead is honoured, but the global is put back afterwards, so one run
 * never leaks its exit code into the next (or into the test process).
 */
export async function runCli(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  const entry = commandNamed(argv)
  // Only the command that runs is loaded; a completion script needs the whole tree.
  const needed = entry === undefined ? [] : entry.name === 'completion' ? COMMANDS : [entry]
  const outerExitCode = process.exitCode
  process.exitCode = undefined
  try {
    const program = buildProgram(io, await loadCommands(needed, io))
    await program.parseAsync([...argv], { from: 'user' })
    return exitCodeOf(process.exitCode)
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version are "errors" to commander with exit code 0; help shown because no
      // command was given has 1. Usage mistakes exit 2 like other CLIs.
      const informational = error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help'
      return informational && error.exitCode === 0 ? ExitCode.ok : ExitCode.usage
    }
    if (error instanceof CliError) {
      io.err(`error: ${error.message}\n`)
      return error.exitCode
    }
    io.err(`error: ${(error as Error).message}\n`)
    return ExitCode.failed
  } finally {
    process.exitCode = outerExitCode
  }
}

function exitCodeOf(code: number | string | null | undefined): number {
  const value = Number(code ?? ExitCode.ok)
  return Number.isInteger(value) ? value : ExitCode.failed
}

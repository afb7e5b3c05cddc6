import { Command, CommanderError } from 'commander'
import { CliError, ExitCode, processIo, type CliIo } from './io.js'
import { agentCommand } from './commands/agent.js'
import { alertsCommand } from './commands/alerts.js'
import { hubCommand } from './commands/hub.js'
import { logsCommand } from './commands/logs.js'
import { profilesCommand } from './commands/profiles.js'
import { schemaCommand } from './commands/schema.js'
import { validateCommand } from './commands/validate.js'
import { applyCommand } from './commands/apply.js'
import { completionCommand } from './commands/completion.js'
import { convertCommand } from './commands/convert.js'
import { contextCommand } from './commands/context.js'
import { createCommand } from './commands/create.js'
import { cordonCommand, drainCommand, uncordonCommand } from './commands/cordon.js'
import { deleteCommand } from './commands/delete.js'
import { describeCommand } from './commands/describe.js'
import { diffCommand } from './commands/diff.js'
import { getCommand } from './commands/get.js'
import { labelCommand } from './commands/label.js'
import { loginCommand } from './commands/login.js'
import { rolloutCommand } from './commands/rollout.js'
import { tokenCommand } from './commands/token.js'
import { topCommand } from './commands/top.js'
import { readPackageVersion } from '../common/version.js'

/** Builds the whole `shoal` command tree; tests call this with their own io. */
export function buildProgram(io: CliIo): Command {
  const program = new Command('shoal')
    .description('Shoal: a lightweight orchestrator for edge and data-center fleets')
    .version(readPackageVersion(), '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .exitOverride()
  program.addCommand(validateCommand(io))
  program.addCommand(schemaCommand(io))
  program.addCommand(convertCommand(io))
  program.addCommand(profilesCommand(io))
  program.addCommand(agentCommand(io))
  program.addCommand(hubCommand(io))
  program.addCommand(logsCommand(io))
  program.addCommand(loginCommand(io))
  program.addCommand(contextCommand(io))
  program.addCommand(applyCommand(io))
  program.addCommand(diffCommand(io))
  program.addCommand(createCommand(io))
  program.addCommand(deleteCommand(io))
  program.addCommand(getCommand(io))
  program.addCommand(describeCommand(io))
  program.addCommand(rolloutCommand(io))
  program.addCommand(labelCommand(io))
  program.addCommand(cordonCommand(io))
  program.addCommand(uncordonCommand(io))
  program.addCommand(drainCommand(io))
  program.addCommand(alertsCommand(io))
  program.addCommand(tokenCommand(io))
  program.addCommand(topCommand(io))
  program.addCommand(completionCommand(io))
  for (const command of program.commands) applyCommonBehaviour(command, io)
  return program
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
  const program = buildProgram(io)
  const outerExitCode = process.exitCode
  process.exitCode = undefined
  try {
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

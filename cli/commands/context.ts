import { Command } from 'commander'
import { configPath, readConfig, writeConfig } from '../contexts.js'
import { CliError, ExitCode, type CliIo } from '../io.js'
import { outputOption, renderCells, renderData, terminalOf, type OutputFormat } from '../output.js'

/** `shoal context list|use`: the saved hubs, and which one verbs talk to. */
export function contextCommand(io: CliIo, env: NodeJS.ProcessEnv = process.env): Command {
  const context = new Command('context').description('list the saved hub contexts, or switch the current one')
  context
    .command('list')
    .alias('ls')
    .description('list saved contexts (tokens are never printed)')
    .addOption(outputOption(['table', 'json', 'yaml', 'name']))
    .addHelpText('after', '\nExamples:\n  $ shoal context list\n  $ shoal context list -o json\n')
    .action((options: { output: OutputFormat }) => {
      const path = configPath(env)
      const config = readConfig(path)
      const items = config.contexts.map((c) => ({ name: c.name, hub: c.hub, current: c.name === config.currentContext }))
      if (options.output === 'json' || options.output === 'yaml') {
        io.out(renderData(options.output, { currentContext: config.currentContext, contexts: items }))
        return
      }
      if (options.output === 'name') {
        io.out(items.map((c) => `${c.name}\n`).join(''))
        return
      }
      if (items.length === 0) {
        io.err(`no contexts in ${path}; add one with shoal login URL --token TOKEN\n`)
        return
      }
      io.out(
        renderCells(
          terminalOf(io, env),
          ['CURRENT', 'NAME', 'HUB'],
          items.map((c) => [c.current ? '*' : '', c.name, c.hub]),
        ),
      )
    })
  context
    .command('use')
    .description('make a saved context the current one')
    .argument('<name>', 'context name (see shoal context list)')
    .addHelpText('after', '\nExample:\n  $ shoal context use prod\n')
    .action((name: string) => {
      const path = configPath(env)
      const config = readConfig(path)
      if (!config.contexts.some((c) => c.name === name)) {
        const known = config.contexts.map((c) => c.name).join(', ')
        throw new CliError(
          `no context named ${JSON.stringify(name)}${known ? ` (known: ${known})` : ''}; add it with shoal login URL --token TOKEN --name ${name}`,
          ExitCode.failed,
        )
      }
      writeConfig(path, { ...config, currentContext: name })
      io.out(`switched to context "${name}"\n`)
    })
  return context
}

import { Command } from 'commander'
import { LabelKey, LabelValue } from '../../protocol/index.js'
import { HubRequestError } from '../api-client.js'
import { addConnectionOptions, connect, type ConnectionOptions } from '../contexts.js'
import { CliError, ExitCode, type CliIo } from '../io.js'
import { formatLabels, outputOption, renderData, type OutputFormat } from '../output.js'

/** `k=v` sets, `k-` removes; anything else, or an invalid key or value, is a usage error. Pure. */
export function parseLabelChanges(args: readonly string[]): Record<string, string | null> {
  const changes: Record<string, string | null> = {}
  for (const arg of args) {
    let key: string
    let value: string | null
    if (arg.endsWith('-') && !arg.includes('=')) {
      key = arg.slice(0, -1)
      value = null
    } else {
      const eq = arg.indexOf('=')
      if (eq <= 0) throw new CliError(`cannot read ${JSON.stringify(arg)}: use key=value to set a label, key- to remove one`, ExitCode.usage)
      key = arg.slice(0, eq)
      value = arg.slice(eq + 1)
    }
    const checkedKey = LabelKey.safeParse(key)
    if (!checkedKey.success) throw new CliError(`label key ${JSON.stringify(key)} ${checkedKey.error.issues[0]?.message ?? 'is invalid'}`, ExitCode.usage)
    if (value !== null) {
      const checkedValue = LabelValue.safeParse(value)
      if (!checkedValue.success)
        throw new CliError(`label value ${JSON.stringify(value)} of ${key} ${checkedValue.error.issues[0]?.message ?? 'is invalid'}`, ExitCode.usage)
    }
    if (Object.hasOwn(changes, key)) throw new CliError(`label ${key} is given twice; give each key once`, ExitCode.usage)
    changes[key] = value
  }
  return changes
}

/** `shoal label node NAME k=v k-`: set and remove node labels (what selectors match). */
export function labelCommand(io: CliIo, env: NodeJS.ProcessEnv = process.env): Command {
  return addConnectionOptions(
    new Command('label')
      .description('set (key=value) or remove (key-) labels on a node')
      .argument('<kind>', 'node')
      .argument('<name>', 'the node name')
      .argument('<changes...>', 'key=value to set, key- to remove')
      .addOption(outputOption(['table', 'json', 'yaml'])),
  )
    .addHelpText(
      'after',
      `
Changing labels can move workloads: deployments whose selectors no longer match leave the
node, and ones that now match are placed on it.

Examples:
  $ shoal label node pi-17 site=factory-7 tier=edge
  $ shoal label node pi-17 tier-`,
    )
    .action(async (kind: string, name: string, args: string[], options: ConnectionOptions & { output: OutputFormat }) => {
      if (!['node', 'nodes', 'no'].includes(kind.toLowerCase()))
        throw new CliError(`cannot label ${JSON.stringify(kind)}; only nodes have labels you can change here (shoal label node NAME k=v)`, ExitCode.usage)
      const changes = parseLabelChanges(args)
      const client = connect(options, env)
      let node
      try {
        node = await client.patchNode(name, { labels: changes })
      } catch (error) {
        if (error instanceof HubRequestError && error.status === 404)
          throw new CliError(`node ${JSON.stringify(name)} not found; list nodes with shoal get nodes`, ExitCode.failed)
        throw error
      }
      if (options.output === 'json' || options.output === 'yaml') io.out(renderData(options.output, node))
      else io.out(`node/${name} labeled: ${formatLabels(node.labels)}\n`)
    })
}

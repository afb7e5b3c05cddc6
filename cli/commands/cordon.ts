import { Command } from 'commander'
import { HubRequestError, type BulkNodeResult, type DrainResponse, type HubClient, type NodeView } from '../api-client.js'
import { addConnectionOptions, connect, type ConnectionOptions } from '../contexts.js'
import { CliError, ExitCode, type CliIo } from '../io.js'
import { outputOption, renderData, type OutputFormat } from '../output.js'

type Options = ConnectionOptions & { output: OutputFormat; dryRun?: boolean }

function notFoundAsCliError(error: unknown, name: string): never {
  if (error instanceof HubRequestError && error.status === 404 && !error.hubMessage.startsWith('no such endpoint')) {
    throw new CliError(`node ${JSON.stringify(name)} not found; list nodes with shoal get nodes`, ExitCode.failed)
  }
  throw error
}

async function setCordoned(client: HubClient, name: string, cordoned: boolean): Promise<NodeView> {
  try {
    return await client.patchNode(name, { cordoned })
  } catch (error) {
    notFoundAsCliError(error, name)
  }
}

function cordonVerb(io: CliIo, env: NodeJS.ProcessEnv, cordoned: boolean): Command {
  const verb = cordoned ? 'cordon' : 'uncordon'
  return addConnectionOptions(
    new Command(verb)
      .description(cordoned ? 'mark a node unschedulable: it keeps what it runs but takes nothing new' : 'let a cordoned node take new workloads again')
      .argument('<node>', 'the node name')
      .addOption(outputOption(['table', 'json', 'yaml'])),
  )
    .addHelpText('after', `\nExample:\n  $ shoal ${verb} pi-17\n`)
    .action(async (name: string, options: Options) => {
      const node = await setCordoned(connect(options, env), name, cordoned)
      if (options.output === 'json' || options.output === 'yaml') io.out(renderData(options.output, node))
      else io.out(`node/${name} ${cordoned ? 'cordoned' : 'uncordoned'}\n`)
    })
}

export function cordonCommand(io: CliIo, env: NodeJS.ProcessEnv = process.env): Command {
  return cordonVerb(io, env, true)
}

export function uncordonCommand(io: CliIo, env: NodeJS.ProcessEnv = process.env): Command {
  return cordonVerb(io, env, false)
}

/** `shoal drain NAME`: cordon, and move its replicated workloads to other nodes. */
export function drainCommand(io: CliIo, env: NodeJS.ProcessEnv = process.env): Command {
  return addConnectionOptions(
    new Command('drain')
      .description('cordon a node and move its replicated workloads to other nodes (every-node workloads stay)')
      .argument('<node>', 'the node name')
      .option('--dry-run', 'change nothing: say which copies would move where (the hub runs its scheduler on the drained node)')
      .addOption(outputOption(['table', 'json', 'yaml'])),
  )
    .addHelpText(
      'after',
      `
A replica that no other node can take is left pending (shoal describe deployment NAME says
why); it is placed as soon as a node qualifies. Undo with shoal uncordon NAME: the node then
takes new work again, but what moved away does not move back.

With --dry-run the hub answers from the same scheduler without storing anything; a rollout's
surge copies are left out of that answer, so during a rollout the real moves may differ.

Examples:
  $ shoal drain pi-17 --dry-run
  $ shoal drain pi-17`,
    )
    .action(async (name: string, options: Options) => {
      const client = connect(options, env)
      if (options.dryRun) {
        io.out(renderDrainPreview(name, await previewDrain(client, name), options.output))
        return
      }
      let result: DrainResponse
      try {
        result = await client.drainNode(name)
      } catch (error) {
        if (error instanceof HubRequestError && error.status === 404 && error.hubMessage.startsWith('no such endpoint')) {
          throw new CliError(
            `the hub at ${client.hub} has no drain endpoint (it is older than this CLI); nothing was changed: cordon the node with shoal cordon ${name} and upgrade the hub`,
            ExitCode.failed,
          )
        }
        notFoundAsCliError(error, name)
      }
      if (options.output === 'json' || options.output === 'yaml') {
        io.out(renderData(options.output, result))
        return
      }
      const lines = [`node/${name} cordoned`]
      for (const e of result.evicted)
        lines.push(`moved ${e.deployment} (replica ${e.replica}) ${e.movedTo ? `to ${e.movedTo}` : 'off the node; pending: no other node can take it now'}`)
      for (const k of result.kept) lines.push(`kept ${k.deployment}: ${k.reason}`)
      lines.push(`node/${name} drained`)
      io.out(`${lines.join('\n')}\n`)
    })
}

async function previewDrain(client: HubClient, name: string): Promise<BulkNodeResult> {
  let result: BulkNodeResult
  try {
    result = await client.bulkNodes({ nodes: [name], action: 'drain', dryRun: true })
  } catch (error) {
    if (error instanceof HubRequestError && error.status === 404 && error.hubMessage.startsWith('no such endpoint'))
      throw new CliError(`the hub at ${client.hub} cannot preview a drain (it is older than this CLI); nothing was changed`, ExitCode.failed)
    throw error
  }
  if (result.nodes.some((n) => n.outcome === 'not-found'))
    throw new CliError(`node ${JSON.stringify(name)} not found; list nodes with shoal get nodes`, ExitCode.failed)
  return result
}

/** What `drain --dry-run` prints: the moves the hub's scheduler would make. Pure. */
export function renderDrainPreview(name: string, result: BulkNodeResult, format: OutputFormat): string {
  if (format === 'json' || format === 'yaml') return renderData(format, result)
  const lines = [`node/${name} would be cordoned (dry run: nothing changed)`]
  for (const m of result.moves) {
    if (m.from === name)
      lines.push(`would move ${m.deployment} (replica ${m.replica}) ${m.to ? `to ${m.to}` : 'off the node; pending: no other node can take it now'}`)
    else if (m.from === null) lines.push(`would start ${m.deployment} (replica ${m.replica}) on ${m.to}`)
    else lines.push(`would move ${m.deployment} (replica ${m.replica}) from ${m.from} ${m.to ? `to ${m.to}` : 'off its node'}`)
  }
  for (const k of result.kept) lines.push(`would keep ${k.deployment}: ${k.reason}`)
  if (result.moves.length === 0) lines.push('no copy would move')
  return `${lines.join('\n')}\n`
}

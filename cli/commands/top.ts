import { Command, Option } from 'commander'
import type { TrafficUsage } from '../../protocol/bandwidth.js'
import type { NodeView } from '../api-client.js'
import { addConnectionOptions, connect, type ConnectionOptions } from '../contexts.js'
import { CliError, ExitCode, type CliIo } from '../io.js'
import {
  ageOf,
  formatBytes,
  formatPercent,
  nodeStatusCell,
  outputOption,
  renderCells,
  renderData,
  terminalOf,
  type Cell,
  type Colour,
  type OutputFormat,
  type Terminal,
} from '../output.js'
import { parseSelectorOption } from './get.js'

type SortKey = 'name' | 'cpu' | 'memory' | 'disk'

interface TopOptions extends ConnectionOptions {
  selector?: string
  sortBy: SortKey
  output: OutputFormat
}

export interface TopDeps {
  readonly env: NodeJS.ProcessEnv
  readonly now: () => number
}

const defaultDeps: TopDeps = { env: process.env, now: () => Date.now() }

/** `shoal top nodes`: CPU, memory, disk and this month's bytes from each node's latest heartbeat. */
export function topCommand(io: CliIo, deps: TopDeps = defaultDeps): Command {
  return addConnectionOptions(
    new Command('top')
      .description("show CPU, memory and disk use of nodes and this month's bytes against their budgets, from their latest heartbeats")
      .argument('<resource>', 'nodes')
      .option('-l, --selector <selector>', 'only nodes whose labels match, e.g. site=a')
      .addOption(new Option('--sort-by <key>', 'order of the rows (highest use first)').choices(['name', 'cpu', 'memory', 'disk']).default('name'))
      .addOption(outputOption(['table', 'json', 'yaml'])),
  )
    .addHelpText(
      'after',
      `
A node that has sent no heartbeat yet shows <unknown>; an offline node shows its last one.
TRAFFIC is the bytes the node counted this calendar month (its local time: hub link and image
pulls), against its monthly budget when it has one (docs/agent.md, bandwidth budgets); - from
agents that do not count.

Examples:
  $ shoal top nodes
  $ shoal top nodes -l site=factory-7 --sort-by memory`,
    )
    .action(async (resource: string, options: TopOptions) => {
      if (!['nodes', 'node', 'no'].includes(resource.toLowerCase()))
        throw new CliError(`cannot top ${JSON.stringify(resource)}; use shoal top nodes`, ExitCode.usage)
      await parseSelectorOption(options.selector)
      const nodes = sortNodes(await connect(options, deps.env).listNodes(options.selector), options.sortBy)
      if (options.output === 'json' || options.output === 'yaml') {
        io.out(renderData(options.output, { items: nodes.map((n) => ({ id: n.id, condition: n.condition.type, usage: n.usage })) }))
        return
      }
      if (nodes.length === 0) {
        io.err(options.selector ? `no nodes match ${options.selector}\n` : 'no nodes found\n')
        return
      }
      io.out(renderTop(nodes, terminalOf(io, deps.env), deps.now()))
    })
}

const usageOf = (node: NodeView, key: SortKey): number => {
  const usage = node.usage
  if (!usage) return -1
  if (key === 'cpu') return usage.cpuPercent ?? -1
  if (key === 'memory') return usage.memory.totalBytes > 0 ? usage.memory.usedBytes / usage.memory.totalBytes : -1
  if (key === 'disk') return usage.disk && usage.disk.totalBytes > 0 ? usage.disk.usedBytes / usage.disk.totalBytes : -1
  return 0
}

function sortNodes(nodes: readonly NodeView[], key: SortKey): NodeView[] {
  return [...nodes].sort((a, b) => (key === 'name' ? 0 : usageOf(b, key) - usageOf(a, key)) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
}

/** Red from 90%, yellow from 75%: where an operator should look first. */
function level(fraction: number | null): Colour | null {
  if (fraction === null) return null
  return fraction >= 0.9 ? 'red' : fraction >= 0.75 ? 'yellow' : null
}

export function renderTop(nodes: readonly NodeView[], terminal: Terminal, now: number): string {
  const unknown = '<unknown>'
  const rows = nodes.map((n): Cell[] => {
    const u = n.usage
    if (!u) return [n.id, nodeStatusCell(n.condition, n.cordoned, now), unknown, unknown, unknown, unknown, unknown, '-', '-', '-']
    const memory = u.memory.totalBytes > 0 ? u.memory.usedBytes / u.memory.totalBytes : null
    const disk = u.disk && u.disk.totalBytes > 0 ? u.disk.usedBytes / u.disk.totalBytes : null
    return [
      n.id,
      nodeStatusCell(n.condition, n.cordoned, now),
      { text: u.cpuPercent === null ? unknown : `${Math.round(u.cpuPercent)}%`, colour: level(u.cpuPercent === null ? null : u.cpuPercent / 100) },
      `${formatBytes(u.memory.usedBytes)}/${formatBytes(u.memory.totalBytes)}`,
      { text: formatPercent(u.memory.usedBytes, u.memory.totalBytes), colour: level(memory) },
      u.disk ? `${formatBytes(u.disk.usedBytes)}/${formatBytes(u.disk.totalBytes)}` : unknown,
      { text: u.disk ? formatPercent(u.disk.usedBytes, u.disk.totalBytes) : unknown, colour: level(disk) },
      String(u.outboxDepth),
      trafficCell(u.traffic),
      ageOf(u.receivedAt, now), // when the hub received it: a node's wrong clock does not age it
    ]
  })
  return renderCells(terminal, ['NAME', 'STATUS', 'CPU', 'MEMORY', 'MEMORY%', 'DISK', 'DISK%', 'OUTBOX', 'TRAFFIC', 'HEARTBEAT'], rows)
}

/** "12Mi/2Gi" this month against the budget (coloured as it fills), "12Mi" without one. */
function trafficCell(traffic: TrafficUsage | undefined): Cell {
  if (!traffic) return '-'
  const used = Object.values(traffic.bytes).reduce((sum, bytes) => sum + bytes, 0)
  if (traffic.budgetBytes === undefined) return formatBytes(used)
  return { text: `${formatBytes(used)}/${formatBytes(traffic.budgetBytes)}`, colour: level(traffic.budgetBytes > 0 ? used / traffic.budgetBytes : 1) }
}

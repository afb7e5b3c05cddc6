import { Command } from 'commander'
import type { NodePolicyView } from '../../protocol/api/index.js'
import { type ContainerStatus, copyDevices, describeExpression, isPodTemplate, requiredDevices, templateImages } from '../../protocol/index.js'
import {
  HubRequestError,
  type ConfigObjectDetail,
  type ConfigObjectKind,
  type DeploymentDetailView,
  type EventView,
  type HubClient,
  type JobDetail,
  type NodeDetailView,
} from '../api-client.js'
import { describeConfigObject, objectVersionsText } from '../config-object-view.js'
import { addConnectionOptions, connect, type ConnectionOptions } from '../contexts.js'
import { CliError, ExitCode, type CliIo } from '../io.js'
import { formatAge } from '../table.js'
import {
  ageOf,
  formatBytes,
  formatLabels,
  formatPercent,
  indent,
  outputOption,
  paint,
  renderCells,
  renderData,
  renderFields,
  sortedBy,
  terminalOf,
  type Cell,
  type OutputFormat,
  type Terminal,
} from '../output.js'
import { describeOffset } from '../../hub/ingest/clock-offset.js'
import { EVENT_HEADERS, eventRow } from './get.js'

type Kind = 'node' | 'deployment' | 'job' | 'cronjob' | ConfigObjectKind
const KINDS: Readonly<Record<string, Kind>> = {
  job: 'job',
  jobs: 'job',
  node: 'node',
  nodes: 'node',
  no: 'node',
  deployment: 'deployment',
  deployments: 'deployment',
  deploy: 'deployment',
  cronjob: 'cronjob',
  cronjobs: 'cronjob',
  cj: 'cronjob',
  config: 'Config',
  configs: 'Config',
  secret: 'Secret',
  secrets: 'Secret',
}

interface DescribeOptions extends ConnectionOptions {
  output: OutputFormat
  events: string
}

export interface DescribeDeps {
  readonly env: NodeJS.ProcessEnv
  readonly now: () => number
}

const defaultDeps: DescribeDeps = { env: process.env, now: () => Date.now() }

/** `shoal describe node|deployment|job|cronjob|config|secret NAME`: everything an operator asks first, in one screen. */
export function describeCommand(io: CliIo, deps: DescribeDeps = defaultDeps): Command {
  return addConnectionOptions(
    new Command('describe')
      .description(
        "show a node, deployment, job, cron job, config or secret in detail: condition, labels, inventory, workloads, events, why anything is pending; which version each copy runs; a job's copies with their exit codes, times and reasons; per node, when a cron job fires next and how its runs ended",
      )
      .argument('<kind>', 'node, deployment, job, cronjob, config or secret')
      .argument('<name>', 'its name')
      .addOption(outputOption(['table', 'json', 'yaml']))
      .option('--events <n>', 'how many recent events to show', '10'),
  )
    .addHelpText(
      'after',
      `
-o json|yaml prints the hub's detailed object as it is (for scripts). A secret shows its keys,
their sizes, the deployments using it and the version each copy runs; never its values.

Examples:
  $ shoal describe node pi-17
  $ shoal describe deployment ticker-ingest
  $ shoal describe job nightly-export     (every copy: node, attempt, exit code, start, end, reason)
  $ shoal describe cronjob nightly-export      # per node: next firing, last runs, skips, misses
  $ shoal describe config line-settings
  $ shoal describe secret broker-password
  $ shoal describe node pi-17 -o json | jq .inventory`,
    )
    .action(async (kindText: string, name: string, options: DescribeOptions) => {
      const kind = KINDS[kindText.toLowerCase()]
      if (!kind) throw new CliError(`cannot describe ${JSON.stringify(kindText)}; use node, deployment, job, cronjob, config or secret`, ExitCode.usage)
      const eventCount = Number(options.events)
      if (!Number.isInteger(eventCount) || eventCount < 0 || eventCount > 1000)
        throw new CliError('--events must be a whole number from 0 to 1000', ExitCode.usage)
      const client = connect(options, deps.env)
      if (kind === 'cronjob') {
        const job = await getCronJob(client, name)
        const { describeCronJob } = await import('../cron-job-view.js')
        io.out(
          options.output === 'json' || options.output === 'yaml'
            ? renderData(options.output, job)
            : describeCronJob(job, { terminal: terminalOf(io, deps.env), now: deps.now() }),
        )
        return
      }
      if (kind === 'Config' || kind === 'Secret') {
        const object = await getConfigObject(client, kind, name)
        io.out(
          options.output === 'json' || options.output === 'yaml'
            ? renderData(options.output, object)
            : describeConfigObject(object, { terminal: terminalOf(io, deps.env), now: deps.now() }),
        )
        return
      }
      if (kind === 'job') {
        const job = await getJob(client, name)
        if (options.output === 'json' || options.output === 'yaml') {
          io.out(renderData(options.output, job))
          return
        }
        const events = eventCount === 0 ? [] : (await client.events({ limit: 1000 })).filter((e) => e.data?.job === name)
        const { describeJob } = await import('../job-view.js')
        io.out(describeJob(job, events.slice(-eventCount), { terminal: terminalOf(io, deps.env), now: deps.now() }))
        return
      }
      const detail = kind === 'node' ? await getNode(client, name) : await getDeployment(client, name)
      if (options.output === 'json' || options.output === 'yaml') {
        io.out(renderData(options.output, detail))
        return
      }
      const terminal = terminalOf(io, deps.env)
      const now = deps.now()
      if (kind === 'node') io.out(describeNode(detail as NodeDetailView, { terminal, now, events: eventCount }))
      else {
        const events = eventCount === 0 ? [] : (await client.events({ limit: 1000 })).filter((e) => e.workload === name || e.data?.deployment === name)
        io.out(describeDeployment(detail as DeploymentDetailView, events.slice(-eventCount), { terminal, now }))
      }
    })
}

/** The cron job, or an error that says how to list them. */
export async function getCronJob(client: HubClient, name: string) {
  try {
    return await client.getCronJob(name)
  } catch (error) {
    if (error instanceof HubRequestError && error.status === 404)
      throw new CliError(`cron job ${JSON.stringify(name)} not found; list cron jobs with shoal get cronjobs`, ExitCode.failed)
    throw error
  }
}

/** The job, or an error that says how to list them. */
async function getJob(client: HubClient, name: string): Promise<JobDetail> {
  try {
    return await client.getJob(name)
  } catch (error) {
    if (error instanceof HubRequestError && error.status === 404)
      throw new CliError(`job ${JSON.stringify(name)} not found; list jobs with shoal get jobs`, ExitCode.failed)
    throw error
  }
}

/** The node, or an error that says how to find the right name. */
export async function getNode(client: HubClient, name: string): Promise<NodeDetailView> {
  try {
    return await client.getNode(name)
  } catch (error) {
    if (error instanceof HubRequestError && error.status === 404)
      throw new CliError(`node ${JSON.stringify(name)} not found; list nodes with shoal get nodes`, ExitCode.failed)
    throw error
  }
}

async function getConfigObject(client: HubClient, kind: ConfigObjectKind, name: string): Promise<ConfigObjectDetail> {
  try {
    return await client.getConfigObject(kind, name)
  } catch (error) {
    if (error instanceof HubRequestError && error.status === 404)
      throw new CliError(
        `${kind.toLowerCase()} ${JSON.stringify(name)} not found; list ${kind.toLowerCase()}s with shoal get ${kind.toLowerCase()}s`,
        ExitCode.failed,
      )
    throw error
  }
}

async function getDeployment(client: HubClient, name: string): Promise<DeploymentDetailView> {
  try {
    return await client.getDeployment(name)
  } catch (error) {
    if (error instanceof HubRequestError && error.status === 404)
      throw new CliError(`deployment ${JSON.stringify(name)} not found; list deployments with shoal get deployments`, ExitCode.failed)
    throw error
  }
}

interface Context {
  readonly terminal: Terminal
  readonly now: number
}

function section(title: string, body: string): string {
  return `\n${title}:\n${body.endsWith('\n') ? body : `${body}\n`}`
}

export function describeNode(node: NodeDetailView, context: Context & { events: number }): string {
  const { terminal, now } = context
  const condition = node.condition
  const since = condition.since ? ` since ${condition.since} (${formatAge(condition.since, now)} ago)` : ''
  const inventory = node.inventory
  const disks = inventory.disks.map((d) => `${d.mount} ${formatBytes(d.sizeBytes)}${d.type ? ` ${d.type}` : ''}`).join(', ') || 'none reported'
  const usage = node.usage
  const fields: [string, string][] = [
    ['Name', node.id],
    [
      'Condition',
      `${paint(terminal, condition.type === 'Ready' ? 'green' : condition.type === 'Offline' ? 'red' : 'yellow', condition.type)}${since}${condition.reasons.length > 0 ? `\n${condition.reasons.map((r) => `- ${r}`).join('\n')}` : ''}`,
    ],
    ['Cordoned', node.cordoned ? 'yes (takes no new workloads)' : 'no'],
    ['Profile', node.profile],
    ['Arch', node.arch],
    ['Labels', Object.keys(node.labels).length === 0 ? '<none>' : formatLabels(node.labels).split(',').join('\n')],
    ['Capabilities', node.capabilities.length === 0 ? '<none>' : node.capabilities.join(', ')],
    ['Devices', node.devices === null ? 'not reported (an agent from before devices)' : node.devices.length === 0 ? '<none>' : node.devices.join(', ')],
    ['Policy', policyText(node.policy)],
    ['Last seen', node.lastSeenAt ? `${node.lastSeenAt} (${formatAge(node.lastSeenAt, now)} ago)` : 'never'],
    ['Clock', clockText(node, terminal, now)],
    [
      'Generation',
      `${node.generation.observed} applied of ${node.generation.latest}${node.generation.observed < node.generation.latest ? ' (catching up)' : ''}`,
    ],
    ['Enrolled', `${node.createdAt} (${formatAge(node.createdAt, now)} ago)`],
  ]
  const inventoryFields: [string, string][] = [
    ['Hostname', inventory.hostname],
    ['CPU', `${inventory.cpu.model}, ${inventory.cpu.cores} ${inventory.cpu.cores === 1 ? 'core' : 'cores'}`],
    ['Memory', formatBytes(inventory.memoryBytes)],
    ['Disks', disks],
    ['OS', `${inventory.os.distro} ${inventory.os.release} (${inventory.os.platform}, kernel ${inventory.os.kernel})`],
    [
      'Capacity',
      `cpu ${node.capacity.cpuMillis}m, memory ${formatBytes(node.capacity.memoryBytes)}${node.capacity.gpus ? `, ${node.capacity.gpus} gpu` : ''}; reserved cpu ${node.reserved.cpuMillis}m, memory ${formatBytes(node.reserved.memoryBytes)}`,
    ],
  ]
  const usageText = usage
    ? `cpu ${usage.cpuPercent === null ? '-' : `${Math.round(usage.cpuPercent)}%`}, memory ${formatBytes(usage.memory.usedBytes)}/${formatBytes(usage.memory.totalBytes)} (${formatPercent(usage.memory.usedBytes, usage.memory.totalBytes)})${usage.disk ? `, disk ${formatBytes(usage.disk.usedBytes)}/${formatBytes(usage.disk.totalBytes)} (${formatPercent(usage.disk.usedBytes, usage.disk.totalBytes)})` : ''}, outbox ${usage.outboxDepth} (heartbeat ${formatAge(usage.receivedAt, now)} ago)`
    : 'no heartbeat yet'
  const statusByWorkload = new Map(node.workloadStatus.map((w) => [w.name, w]))
  const workloadNames = [...new Set([...node.placements.map((p) => p.workload), ...node.workloadStatus.map((w) => w.name)])].sort()
  const leaving = workloadNames.some((name) => !node.placements.some((p) => p.workload === name))
  const versioned = node.workloadStatus.some((w) => objectVersionsText(w) !== '')
  const messaged = node.workloadStatus.some((w) => copyMessage(w) !== '')
  const workloadRows = workloadNames.map((name): Cell[] => {
    const placement = node.placements.find((p) => p.workload === name)
    const status = statusByWorkload.get(name)
    const state = status?.state ?? 'pending'
    return [
      name,
      placement?.deployment ?? status?.deployment ?? '-',
      stateCell(state),
      status?.health ?? '-',
      readyText(status),
      String(status?.restarts ?? 0),
      status ? String(status.revision) : '-',
      // When the state began on the hub's clock: a node's wrong clock does not age its workloads.
      ageOf(status?.hubSince ?? placement?.since, now),
      ...(versioned ? [objectVersionsText(status) || '-'] : []),
      ...(leaving ? [placement ? '' : 'no longer placed here; being removed'] : []),
      ...(messaged ? [copyMessage(status) || '-'] : []),
    ]
  })
  const workloadHeaders = [
    'NAME',
    'DEPLOYMENT',
    ...COPY_HEADERS,
    ...(versioned ? ['CONFIG'] : []),
    ...(leaving ? ['NOTE'] : []),
    ...(messaged ? ['MESSAGE'] : []),
  ]
  const events = node.events.slice(-context.events)
  const containerRows = workloadNames.flatMap((name) => (statusByWorkload.get(name)?.containers ?? []).map((c): Cell[] => [name, ...containerCells(c)]))
  return [
    renderFields(fields),
    section('Inventory', indent(renderFields(inventoryFields))),
    section('Usage', `  ${usageText}`),
    section('Workloads', workloadRows.length === 0 ? '  <none>' : indent(renderCells(terminal, workloadHeaders, workloadRows))),
    ...(containerRows.length > 0 ? [section('Containers', indent(renderCells(terminal, ['WORKLOAD', ...CONTAINER_HEADERS], containerRows)))] : []),
    section(
      'Events',
      events.length === 0
        ? '  <none>'
        : indent(
            renderCells(
              terminal,
              [...EVENT_HEADERS],
              events.map((e) => eventRow(e, now)),
            ),
          ),
    ),
  ].join('')
}

/**
 * "privileged no, capabilities NET_ADMIN, host paths /etc/localtime (ro), devices /dev/ttyUSB*", and
 * whether the node said so or the default stands in for an agent that never reported one.
 */
export function policyText(policy: NodePolicyView): string {
  const list = (items: readonly string[]): string => (items.length === 0 ? '-' : items.join(', '))
  const hostPaths = policy.hostPaths.map((rule) => `${rule.path} (${rule.readOnly ? 'ro' : 'rw'})`)
  const text = `privileged ${policy.privileged ? 'yes' : 'no'}, capabilities ${list(policy.capabilities)}, host paths ${list(hostPaths)}, devices ${list(policy.devices)}`
  return policy.reported ? text : `${text}\n(the default: the node never reported a policy)`
}

/** What the agent says of a copy that is not simply running ("waiting for device /dev/ttyUSB0"), or its exit code. */
function copyMessage(status: { readonly message?: string | undefined; readonly exitCode?: number | undefined } | null | undefined): string {
  if (status === null || status === undefined) return ''
  return status.message ?? (status.exitCode !== undefined ? `exit code ${status.exitCode}` : '')
}

/**
 * The node's clock against the hub's, from its heartbeats: in step, or ClockSkew with the offset
 * and what the node's clock read. Every other time on the page is the hub's.
 */
function clockText(node: NodeDetailView, terminal: Terminal, now: number): string {
  const clock = node.clock
  if (clock.offsetSeconds === null) return 'unknown (no heartbeat yet)'
  const offset = `${clock.offsetSeconds > 0 ? '+' : ''}${clock.offsetSeconds}s`
  if (!clock.skewed) return `in step with the hub's (offset ${offset})`
  const since = clock.skewedSince ? `, since ${clock.skewedSince} (${formatAge(clock.skewedSince, now)} ago)` : ''
  const reads = clock.nodeTime ? `; its last heartbeat said ${clock.nodeTime}` : ''
  return `${paint(terminal, 'yellow', `ClockSkew: ${describeOffset(clock.offsetSeconds * 1000)} the hub's`)} (offset ${offset}${since}${reads})\nshown times are the hub's; set the node's time (NTP, fake-hwclock or a real-time clock)`
}

export function describeDeployment(deployment: DeploymentDetailView, events: readonly EventView[], context: Context): string {
  const { terminal, now } = context
  const spec = deployment.manifest.spec
  const template = spec.template
  const selector = spec.selector
  const selectorTerms = [
    ...Object.entries(selector?.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`),
    ...(selector?.matchExpressions ?? []).map(describeExpression),
  ]
  const requires = spec.requires
  // The template's own devices are needed on the node as much as requires.devices.
  const devices = requiredDevices(requires?.devices, copyDevices(template))
  const requirements = [
    requires?.arch ? `arch in (${requires.arch.join(', ')})` : null,
    requires?.capabilities?.length ? `capabilities ${requires.capabilities.join(', ')}` : null,
    requires?.profiles?.length ? `profiles ${requires.profiles.join(', ')}` : null,
    devices.length > 0 ? `${devices.length === 1 ? 'device' : 'devices'} ${devices.join(', ')}` : null,
  ].filter((x): x is string => x !== null)
  const fields: [string, string][] = [
    ['Name', deployment.name],
    ['Labels', formatLabels(deployment.manifest.metadata.labels ?? {})],
    ['Revision', String(deployment.revision)],
    ['Mode', deployment.mode === 'every-node' ? 'every-node (one copy on each matching node)' : `replicated (${spec.replicas ?? 1} wanted)`],
    ['Replicas', `${deployment.desired} desired, ${deployment.placed} placed, ${deployment.ready} ready, ${deployment.pending} pending`],
    [isPodTemplate(template) ? 'Images' : 'Image', templateImages(template)],
    ['Selector', selectorTerms.length === 0 ? '<all nodes>' : selectorTerms.join(', ')],
    ['Requires', requirements.length === 0 ? '<nothing>' : requirements.join('; ')],
    ['Created', `${deployment.createdAt} (${formatAge(deployment.createdAt, now)} ago)`],
    ['Updated', `${deployment.updatedAt} (${formatAge(deployment.updatedAt, now)} ago)`],
  ]
  const pending = deployment.pending > 0
  const why = deployment.why ?? 'not scheduled yet'
  const placements = sortedBy(deployment.placements, (p) => `${String(p.replica).padStart(6, '0')}/${p.nodeId}`)
  const versioned = placements.some((p) => objectVersionsText(p.status) !== '')
  const messaged = placements.some((p) => copyMessage(p.status) !== '')
  const rows = placements.map((p): Cell[] => {
    const state = p.status?.state ?? 'pending'
    const current = p.status ? p.status.revision === deployment.revision : false
    return [
      p.nodeId,
      String(p.replica),
      stateCell(state),
      p.status?.health ?? '-',
      readyText(p.status),
      String(p.status?.restarts ?? 0),
      p.status ? `${p.status.revision}${current ? '' : ' (old)'}` : '-',
      ageOf(p.since, now),
      ...(versioned ? [objectVersionsText(p.status) || '-'] : []),
      ...(messaged ? [copyMessage(p.status) || '-'] : []),
    ]
  })
  // Each container of a several-container copy, init containers (marked) first.
  const containerRows = placements.flatMap((p) => (p.status?.containers ?? []).map((c): Cell[] => [p.nodeId, String(p.replica), ...containerCells(c)]))
  return [
    renderFields(fields),
    section(pending ? 'Pending' : 'Scheduling', `  ${pending ? paint(terminal, 'yellow', why) : why}`),
    section(
      'Placements',
      rows.length === 0
        ? '  <none>'
        : indent(renderCells(terminal, ['NODE', 'REPLICA', ...COPY_HEADERS, ...(versioned ? ['CONFIG'] : []), ...(messaged ? ['MESSAGE'] : [])], rows)),
    ),
    ...(containerRows.length > 0 ? [section('Containers', indent(renderCells(terminal, ['NODE', 'REPLICA', ...CONTAINER_HEADERS], containerRows)))] : []),
    section(
      'Events',
      events.length === 0
        ? '  <none>'
        : indent(
            renderCells(
              terminal,
              [...EVENT_HEADERS],
              events.map((e) => eventRow(e, now)),
            ),
          ),
    ),
  ].join('')
}

/** The columns of one container of a several-container copy, init containers marked. */
const CONTAINER_HEADERS = ['CONTAINER', 'STATE', 'HEALTH', 'READY', 'RESTARTS', 'EXIT', 'MESSAGE'] as const

function containerCells(c: ContainerStatus): Cell[] {
  return [
    c.init ? `${c.name} (init)` : c.name,
    stateCell(c.state),
    c.health,
    c.init ? '-' : c.ready ? 'yes' : 'no',
    String(c.restarts),
    c.exitCode === undefined ? '-' : String(c.exitCode),
    c.message ?? '-',
  ]
}

/** The columns a copy has in both tables: a node's workloads and a deployment's placements. */
const COPY_HEADERS = ['STATE', 'HEALTH', 'READY', 'RESTARTS', 'REVISION', 'AGE'] as const

/** A copy's state, green when running, red when crash-looping or failed, yellow otherwise. */
function stateCell(state: string): Cell {
  return { text: state, colour: state === 'running' ? 'green' : state === 'crash-loop' || state === 'failed' ? 'red' : 'yellow' }
}

/** yes or no as the agent judged it; - when it did not say (an older agent, or no status yet). */
function readyText(status: { readonly ready?: boolean | undefined } | null | undefined): string {
  return status?.ready === undefined ? '-' : status.ready ? 'yes' : 'no'
}

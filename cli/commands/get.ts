import { Command } from 'commander'
import type { LabelSelector } from '../../protocol/selector.js'
import {
  HubRequestError,
  type ConfigObjectKind,
  type ConfigObjectView,
  type DeploymentView,
  type EventView,
  type HubClient,
  type JobSummaryView,
  type NodeView,
} from '../api-client.js'
import { renderAlerts } from './alerts.js'
import { renderSessions } from '../session-view.js'
import { addConnectionOptions, connect, type ConnectionOptions } from '../contexts.js'
import { CliError, ExitCode, type CliIo } from '../io.js'
import {
  ageOf,
  formatLabels,
  nodeStatusCell,
  outputOption,
  renderCells,
  renderData,
  sortedBy,
  StreamingTable,
  terminalOf,
  type Cell,
  type OutputFormat,
  type Terminal,
} from '../output.js'
import { interruptSignal, watchHub } from '../watch.js'

export type Resource = 'nodes' | 'deployments' | 'jobs' | 'cronjobs' | 'events' | 'configs' | 'secrets' | 'alerts' | 'sessions'
const RESOURCE_NAMES: Readonly<Record<string, Resource>> = {
  node: 'nodes',
  nodes: 'nodes',
  no: 'nodes',
  deployment: 'deployments',
  deployments: 'deployments',
  deploy: 'deployments',
  job: 'jobs',
  jobs: 'jobs',
  cronjob: 'cronjobs',
  cronjobs: 'cronjobs',
  cj: 'cronjobs',
  event: 'events',
  events: 'events',
  ev: 'events',
  config: 'configs',
  configs: 'configs',
  secret: 'secrets',
  secrets: 'secrets',
  alert: 'alerts',
  alerts: 'alerts',
  session: 'sessions',
  sessions: 'sessions',
}
const OBJECT_KIND = { configs: 'Config', secrets: 'Secret' } as const satisfies Record<'configs' | 'secrets', ConfigObjectKind>

interface GetOptions extends ConnectionOptions {
  selector?: string
  output: OutputFormat
  watch?: boolean
  node?: string
  limit: string
  all?: boolean
}

export interface GetDeps {
  readonly env: NodeJS.ProcessEnv
  readonly now: () => number
  /** Ends a watch; default: Ctrl-C. */
  readonly watchSignal?: AbortSignal
}

const defaultDeps: GetDeps = { env: process.env, now: () => Date.now() }

export function resourceOf(text: string): Resource {
  const resource = RESOURCE_NAMES[text.toLowerCase()]
  if (!resource)
    throw new CliError(
      `unknown resource ${JSON.stringify(text)}; use nodes, deployments, jobs, cronjobs, events, configs, secrets, alerts or sessions`,
      ExitCode.usage,
    )
  return resource
}

/**
 * Parses `-l` locally so a typo is a usage error (exit 2), not a hub error. The selector's
 * schemas load only when there is a selector to read.
 */
export async function parseSelectorOption(text: string | undefined): Promise<LabelSelector | undefined> {
  if (text === undefined) return undefined
  const { parseSelectorString, SelectorSyntaxError } = await import('../../protocol/selector.js')
  try {
    return parseSelectorString(text)
  } catch (error) {
    if (error instanceof SelectorSyntaxError) throw new CliError(`-l: ${error.message}`, ExitCode.usage)
    throw new CliError(`-l: ${(error as Error).message}`, ExitCode.usage)
  }
}

/** `shoal get nodes|deployments|jobs|cronjobs|events|configs|secrets|alerts|sessions [NAME]`: tables for people, json/yaml/name for scripts, -w to follow. */
export function getCommand(io: CliIo, deps: GetDeps = defaultDeps): Command {
  return addConnectionOptions(
    new Command('get')
      .description('list nodes, deployments, jobs, cron jobs, events, configs, secrets, alerts or remote sessions')
      .argument('<resource>', 'nodes (no), deployments (deploy), jobs, cronjobs (cj), events (ev), configs, secrets, alerts or sessions')
      .argument('[name]', 'only this one (not for events)')
      .option(
        '-l, --selector <selector>',
        'only nodes whose labels match (events: of those nodes; deployments, jobs, cron jobs, configs, secrets: by their labels), e.g. site=a,tier in (edge)',
      )
      .addOption(outputOption())
      .option('-w, --watch', 'keep printing changes until Ctrl-C')
      .option('--node <name>', 'events, sessions: only those of this node')
      .option('--limit <n>', 'events, sessions: how many of the latest to show first (1-1000)', '100')
      .option('--all', 'alerts: also the latest ones that were resolved and acknowledged'),
  )
    .addHelpText(
      'after',
      `
Machine output (-o json|yaml) is the hub's own objects as {"items": [...]}, sorted by name
(but get deployment NAME -o yaml prints its manifest as last applied, fields in the order written);
-o name prints one name per line. With -w, tables are redrawn on a terminal and reprinted on
change otherwise; -o json -w prints one compact JSON document per change (events: per event).

Examples:
  $ shoal get nodes
  $ shoal get nodes -l site=factory-7 -o wide
  $ shoal get deployments -o json | jq '.items[] | select(.pending > 0) | .name'
  $ shoal get events --node pi-17 -w
  $ shoal get secrets                     # keys, sizes, versions and users; never values
  $ shoal get cronjobs                    # schedule, zone, nodes and the latest run (shoal describe cronjob NAME: per node)
  $ shoal get config line-settings -o yaml
  $ shoal get deployment web -o yaml > web.yaml    # as applied: edit it, shoal apply -f web.yaml
  $ shoal get alerts                      # firing, and resolved but not acknowledged
  $ shoal get jobs                        # completions, running copies, failures, condition
  $ shoal get sessions --node pi-17       # exec, port-forward and cp sessions: who, when, exit, bytes`,
    )
    .action(async (resourceText: string, name: string | undefined, options: GetOptions) => {
      const resource = resourceOf(resourceText)
      if (name !== undefined && resource === 'events') throw new CliError('events have no names; filter them with --node or -l', ExitCode.usage)
      if (resource === 'sessions' && (name !== undefined || options.selector || options.watch))
        throw new CliError('shoal get sessions takes no name, -l or -w; filter with --node and --limit', ExitCode.usage)
      const selector = await parseSelectorOption(options.selector)
      const limit = Number(options.limit)
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new CliError('--limit must be a whole number from 1 to 1000', ExitCode.usage)
      if (resource === 'alerts' && options.selector) throw new CliError('alerts have no labels; shoal get alerts lists them all', ExitCode.usage)
      if (options.all && resource !== 'alerts') throw new CliError('--all is for alerts only', ExitCode.usage)
      if (options.node && resource !== 'events' && resource !== 'sessions')
        throw new CliError('--node filters events only; for nodes use shoal get nodes -l or shoal describe node NAME', ExitCode.usage)
      const client = connect(options, deps.env)
      const terminal = terminalOf(io, deps.env)
      const view = { client, io, terminal, format: options.output, now: deps.now, selector, selectorText: options.selector }
      if (resource === 'events') {
        await getEvents(view, { limit, ...(options.node ? { node: options.node } : {}) }, options.watch === true, deps)
        return
      }
      if (resource === 'sessions') {
        const sessions = await client.listSessions({ limit, ...(options.node ? { node: options.node } : {}) })
        if (sessions.length === 0 && !isStructured(options.output)) io.err('no sessions found\n')
        else io.out(renderSessions(sessions, view))
        return
      }
      const load =
        resource === 'nodes'
          ? () => loadNodes(view, name)
          : resource === 'deployments'
            ? () => loadDeployments(view, name)
            : resource === 'jobs'
              ? () => loadJobs(view, name)
              : resource === 'cronjobs'
                ? () => loadCronJobs(view, name)
                : resource === 'alerts'
                  ? () => loadAlerts(view, name, options.all === true)
                  : () => loadConfigObjects(view, OBJECT_KIND[resource], name)
      if (!options.watch) {
        const listing = await load()
        if (listing.count === 0 && !isStructured(options.output)) io.err(emptyMessage(resource, options.selector))
        else io.out(listing.text)
        return
      }
      await watchListing(view, load, deps)
    })
}

interface View {
  readonly client: HubClient
  readonly io: CliIo
  readonly terminal: Terminal
  readonly format: OutputFormat
  readonly now: () => number
  readonly selector: LabelSelector | undefined
  readonly selectorText: string | undefined
}

interface Listing {
  readonly text: string
  /** What must change for a watch to print again when it cannot redraw (ages excluded). */
  readonly signature: string
  readonly count: number
}

/** Renders every age as "?": what a listing looks like apart from the passing of time. */
const timeless = (): number => Number.NaN

const isStructured = (format: OutputFormat): boolean => format === 'json' || format === 'yaml' || format === 'name'

function emptyMessage(resource: Resource, selector: string | undefined): string {
  return selector ? `no ${resource} match ${selector}\n` : `no ${resource} found\n`
}

/** With a NAME, the one item, or an error that says how to list them. */
function only<T>(items: readonly T[], name: string | undefined, nameOf: (item: T) => string, resource: Resource): T[] {
  if (name === undefined) return [...items]
  const found = items.filter((item) => nameOf(item) === name)
  if (found.length === 0)
    throw new CliError(`${resource.replace(/s$/, '')} ${JSON.stringify(name)} not found; list ${resource} with shoal get ${resource}`, ExitCode.failed)
  return found
}

async function loadNodes(view: View, name?: string): Promise<Listing> {
  const nodes = only(
    sortedBy(await view.client.listNodes(view.selectorText), (n) => n.id),
    name,
    (n) => n.id,
    'nodes',
  )
  return { text: renderNodes(nodes, view), signature: renderNodes(nodes, { ...view, now: timeless }), count: nodes.length }
}

/**
 * Deployments; with a NAME, -o yaml prints its manifest as it was last applied (the fields in the
 * order written), ready to edit and apply again, as kubectl does.
 */
async function loadDeployments(view: View, name?: string): Promise<Listing> {
  if (name !== undefined && view.format === 'yaml') {
    try {
      const text = (await view.client.getDeployment(name)).manifestYaml
      return { text, signature: text, count: 1 }
    } catch (error) {
      if (error instanceof HubRequestError && error.status === 404)
        throw new CliError(`deployment ${JSON.stringify(name)} not found; list deployments with shoal get deployments`, ExitCode.failed)
      throw error
    }
  }
  const deployments = only(
    sortedBy(await view.client.listDeployments(view.selectorText), (d) => d.name),
    name,
    (d) => d.name,
    'deployments',
  )
  return { text: renderDeployments(deployments, view), signature: renderDeployments(deployments, { ...view, now: timeless }), count: deployments.length }
}

/** Cron jobs, by name (their renderer is loaded for them alone). */
async function loadCronJobs(view: View, name?: string): Promise<Listing> {
  const { renderCronJobs } = await import('../cron-job-view.js')
  const jobs = only(
    sortedBy(await view.client.listCronJobs(view.selectorText), (j) => j.name),
    name,
    (j) => j.name,
    'cronjobs',
  )
  return { text: renderCronJobs(jobs, view), signature: renderCronJobs(jobs, { ...view, now: timeless }), count: jobs.length }
}

/** Jobs by name; with a selector, those whose labels match. */
async function loadJobs(view: View, name?: string): Promise<Listing> {
  let jobs = only(
    sortedBy(await view.client.listJobs(), (j) => j.name),
    name,
    (j) => j.name,
    'jobs',
  )
  if (view.selector) {
    const { selectorMatches } = await import('../../protocol/selector.js')
    jobs = jobs.filter((j) => selectorMatches(view.selector, j.labels))
  }
  return { text: renderJobs(jobs, view), signature: renderJobs(jobs, { ...view, now: timeless }), count: jobs.length }
}

export function renderJobs(jobs: readonly JobSummaryView[], view: Pick<View, 'terminal' | 'format' | 'now'>): string {
  if (view.format === 'json' || view.format === 'yaml') return renderData(view.format, { items: jobs })
  if (view.format === 'name') return jobs.map((j) => `${j.name}\n`).join('')
  const now = view.now()
  const wide = view.format === 'wide'
  const headers = ['NAME', 'COMPLETIONS', 'ACTIVE', 'FAILED', 'STATUS', 'MODE', 'AGE', ...(wide ? ['MESSAGE'] : [])]
  const rows = jobs.map((j): Cell[] => [
    j.name,
    { text: `${j.succeeded}/${j.desired}`, colour: j.condition.type === 'Complete' ? 'green' : null },
    String(j.active),
    { text: String(j.failed), colour: j.failed > 0 ? 'yellow' : null },
    {
      text: j.condition.type === 'Active' ? j.condition.reason : `${j.condition.type}${j.condition.type === 'Failed' ? ` (${j.condition.reason})` : ''}`,
      colour: j.condition.type === 'Failed' ? 'red' : j.condition.type === 'Complete' ? 'green' : null,
    },
    j.mode,
    ageOf(j.createdAt, now),
    ...(wide ? [j.condition.message] : []),
  ])
  return renderCells(view.terminal, headers, rows)
}

/** Alerts, newest first, as the hub lists them; with an id, that one. */
async function loadAlerts(view: View, id: string | undefined, all: boolean): Promise<Listing> {
  const alerts = only((await view.client.listAlerts(all)).items, id, (a) => String(a.id), 'alerts')
  return { text: renderAlerts(alerts, view), signature: renderAlerts(alerts, { ...view, now: timeless }), count: alerts.length }
}

/**
 * Configs or Secrets. With a NAME, -o json|yaml prints that one object as the hub describes it
 * (a Config's data; a Secret's keys and sizes only).
 */
async function loadConfigObjects(view: View, kind: ConfigObjectKind, name?: string): Promise<Listing> {
  let objects: ConfigObjectView[]
  if (name !== undefined) {
    let detail
    try {
      detail = await view.client.getConfigObject(kind, name)
    } catch (error) {
      if (error instanceof HubRequestError && error.status === 404)
        throw new CliError(
          `${kind.toLowerCase()} ${JSON.stringify(name)} not found; list ${OBJECT_PLURAL[kind]} with shoal get ${OBJECT_PLURAL[kind]}`,
          ExitCode.failed,
        )
      throw error
    }
    if (view.format === 'json' || view.format === 'yaml') {
      const text = renderData(view.format, detail)
      return { text, signature: text, count: 1 }
    }
    objects = [detail]
  } else {
    objects = sortedBy(await view.client.listConfigObjects(kind), (o) => o.name)
  }
  // Configs and secrets are the only listing filtered here (and rendered by config-object-view): loaded for them alone.
  const [{ selectorMatches }, { renderConfigObjects }] = await Promise.all([import('../../protocol/selector.js'), import('../config-object-view.js')])
  if (view.selector) objects = objects.filter((o) => selectorMatches(view.selector, o.labels))
  return { text: renderConfigObjects(objects, view), signature: renderConfigObjects(objects, { ...view, now: timeless }), count: objects.length }
}

const OBJECT_PLURAL: Readonly<Record<ConfigObjectKind, string>> = { Config: 'configs', Secret: 'secrets' }

export function renderNodes(nodes: readonly NodeView[], view: Pick<View, 'terminal' | 'format' | 'now'>): string {
  if (view.format === 'json' || view.format === 'yaml') return renderData(view.format, { items: nodes })
  if (view.format === 'name') return nodes.map((n) => `${n.id}\n`).join('')
  const now = view.now()
  const wide = view.format === 'wide'
  const headers = ['NAME', 'STATUS', 'PROFILE', 'ARCH', 'WORKLOADS', 'LAST SEEN', 'AGE', ...(wide ? ['GENERATION', 'LABELS', 'REASONS'] : [])]
  const rows = nodes.map((n): Cell[] => [
    n.id,
    nodeStatusCell(n.condition, n.cordoned, now),
    n.profile,
    n.arch,
    `${n.workloads.running}/${n.workloads.total}`,
    ageOf(n.lastSeenAt, now),
    ageOf(n.createdAt, now),
    ...(wide ? [`${n.generation.observed}/${n.generation.latest}`, formatLabels(n.labels), n.condition.reasons.join('; ') || '-'] : []),
  ])
  return renderCells(view.terminal, headers, rows)
}

export function renderDeployments(deployments: readonly DeploymentView[], view: Pick<View, 'terminal' | 'format' | 'now'>): string {
  if (view.format === 'json' || view.format === 'yaml') return renderData(view.format, { items: deployments })
  if (view.format === 'name') return deployments.map((d) => `${d.name}\n`).join('')
  const now = view.now()
  const wide = view.format === 'wide'
  const headers = ['NAME', 'READY', 'PLACED', 'PENDING', 'MODE', 'REVISION', 'AGE', ...(wide ? ['WHY'] : [])]
  const rows = deployments.map((d): Cell[] => [
    d.name,
    { text: `${d.ready}/${d.desired}`, colour: d.ready >= d.desired ? 'green' : 'yellow' },
    String(d.placed),
    { text: String(d.pending), colour: d.pending > 0 ? 'red' : null },
    d.mode,
    String(d.revision),
    ageOf(d.createdAt, now),
    ...(wide ? [d.why ?? '-'] : []),
  ])
  return renderCells(view.terminal, headers, rows)
}

export const EVENT_HEADERS = ['AGE', 'SEVERITY', 'TYPE', 'NODE', 'WORKLOAD', 'MESSAGE'] as const
export const WIDE_EVENT_HEADERS = ['ID', 'TIME', 'NODE TIME', 'SEVERITY', 'TYPE', 'NODE', 'WORKLOAD', 'MESSAGE'] as const

/**
 * One event. AGE and TIME are when the hub received it (its own clock, the order events are
 * listed in); NODE TIME is the node's own timestamp, which a node with a wrong clock gets wrong.
 */
export function eventRow(event: EventView, now: number, wide = false): Cell[] {
  const severity: Cell = { text: event.severity, colour: event.severity === 'error' ? 'red' : event.severity === 'warning' ? 'yellow' : null }
  const rest = [severity, event.type, event.nodeId ?? '-', event.workload ?? '-', event.message]
  return wide ? [String(event.id), event.receivedAt, event.at, ...rest] : [ageOf(event.receivedAt, now), ...rest]
}

async function watchListing(view: View, load: () => Promise<Listing>, deps: GetDeps): Promise<void> {
  const interrupt = deps.watchSignal ? null : interruptSignal()
  const signal = deps.watchSignal ?? (interrupt as { signal: AbortSignal }).signal
  let lastText: string | null = null
  let lastSignature: string | null = null
  const redraw = view.terminal.colour && !isStructured(view.format)
  try {
    await watchHub(
      view.client,
      view.io,
      async () => {
        const listing = await load()
        if (redraw) {
          if (listing.text === lastText) return
          view.io.out(`\u001b[H\u001b[2J${listing.text}`)
        } else {
          if (listing.signature === lastSignature) return
          if (view.format === 'json') view.io.out(`${JSON.stringify(JSON.parse(listing.text))}\n`)
          else if (view.format === 'yaml') view.io.out(`${lastSignature === null ? '' : '---\n'}${listing.text}`)
          else view.io.out(`${lastSignature === null ? '' : '\n'}${listing.text}`)
        }
        lastText = listing.text
        lastSignature = listing.signature
      },
      { signal },
    )
  } finally {
    interrupt?.dispose()
  }
}

async function getEvents(view: View, filter: { limit: number; node?: string }, watch: boolean, deps: GetDeps): Promise<void> {
  const nodeFilter = async (): Promise<((event: EventView) => boolean) | null> => {
    if (!view.selectorText) return null
    const ids = new Set((await view.client.listNodes(view.selectorText)).map((n) => n.id))
    return (event) => event.nodeId !== null && ids.has(event.nodeId)
  }
  let keep = await nodeFilter()
  // Without `since` the hub answers the latest events; with it, the oldest after that id.
  const fetchEvents = async (since: number | undefined, limit: number): Promise<EventView[]> => {
    const items = await view.client.events({ ...(since !== undefined ? { since } : {}), limit, ...(filter.node ? { node: filter.node } : {}) })
    return [...items].sort((a, b) => a.id - b.id)
  }
  const initial = await fetchEvents(undefined, filter.limit)
  const visible = (events: readonly EventView[]): EventView[] => (keep ? events.filter(keep) : [...events])
  const wide = view.format === 'wide'
  const headers = wide ? WIDE_EVENT_HEADERS : EVENT_HEADERS
  if (!watch) {
    const events = visible(initial)
    if (view.format === 'json' || view.format === 'yaml') view.io.out(renderData(view.format, { items: events }))
    else if (view.format === 'name') view.io.out(events.map((e) => `${e.id}\n`).join(''))
    else if (events.length === 0) view.io.err('no events found\n')
    else
      view.io.out(
        renderCells(
          view.terminal,
          headers,
          events.map((e) => eventRow(e, view.now(), wide)),
        ),
      )
    return
  }
  const table = new StreamingTable(view.terminal, headers)
  const print = (events: readonly EventView[], first: boolean): void => {
    if (view.format === 'json') view.io.out(events.map((e) => `${JSON.stringify(e)}\n`).join(''))
    else if (view.format === 'yaml') view.io.out(events.map((e) => `---\n${renderData('yaml', e)}`).join(''))
    else if (view.format === 'name') view.io.out(events.map((e) => `${e.id}\n`).join(''))
    else {
      const rows = events.map((e) => eventRow(e, view.now(), wide))
      view.io.out(first ? table.start(rows) : table.more(rows))
    }
  }
  let lastId = initial.reduce((max, e) => Math.max(max, e.id), 0)
  let started = false
  const interrupt = deps.watchSignal ? null : interruptSignal()
  const signal = deps.watchSignal ?? (interrupt as { signal: AbortSignal }).signal
  try {
    await watchHub(
      view.client,
      view.io,
      async () => {
        if (!started) {
          started = true
          print(visible(initial), true)
          return
        }
        if (view.selectorText) keep = await nodeFilter() // nodes come and go, labels change
        const fresh = await fetchEvents(lastId, 1000)
        if (fresh.length === 0) return
        lastId = fresh.reduce((max, e) => Math.max(max, e.id), lastId)
        const shown = visible(fresh)
        if (shown.length > 0) print(shown, false)
      },
      { signal },
    )
  } finally {
    interrupt?.dispose()
  }
}

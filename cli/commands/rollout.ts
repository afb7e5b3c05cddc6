import { Command } from 'commander'
import { stringify as stringifyYaml } from 'yaml'
import { HubRequestError, HubUnreachableError, type HubClient, type RevisionHistory, type RolloutAction, type RolloutStatus } from '../api-client.js'
import { addConnectionOptions, connect, type ConnectionOptions } from '../contexts.js'
import { CliError, ExitCode, type CliIo } from '../io.js'
import {
  ageOf,
  indent,
  outputOption,
  paint,
  renderCells,
  renderData,
  renderFields,
  terminalOf,
  type Cell,
  type Colour,
  type OutputFormat,
  type Terminal,
} from '../output.js'
import { formatAge } from '../table.js'
import { interruptSignal, watchHub } from '../watch.js'

interface RolloutOptions extends ConnectionOptions {
  output: OutputFormat
}

export interface RolloutDeps {
  readonly env: NodeJS.ProcessEnv
  readonly now: () => number
  /** Ends `status -w`; default: Ctrl-C. */
  readonly watchSignal?: AbortSignal
}

const defaultDeps: RolloutDeps = { env: process.env, now: () => Date.now() }

/** Turns the hub's 404 and 409 into messages that say what to do next. */
export async function rolloutCall<T>(name: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call()
  } catch (error) {
    if (error instanceof HubRequestError && error.status === 404) {
      if (error.hubMessage.startsWith('no such endpoint'))
        throw new CliError('this hub has no rollout API (it predates progressive delivery); upgrade the hub', ExitCode.failed)
      throw new CliError(`deployment ${JSON.stringify(name)} not found; list deployments with shoal get deployments`, ExitCode.failed)
    }
    if (error instanceof HubRequestError && error.code === 'rollout-conflict')
      throw new CliError(`${error.hubMessage} (see shoal rollout status ${name})`, ExitCode.failed)
    throw error
  }
}

/** `shoal rollout status|history|undo|pause|resume|promote|restart DEPLOYMENT`. */
export function rolloutCommand(io: CliIo, deps: RolloutDeps = defaultDeps): Command {
  const rollout = new Command('rollout')
    .description('follow and steer the rollout of a deployment: status, history, pause, resume, promote, undo, restart')
    .addHelpText(
      'after',
      `
A template change makes a new revision, which the hub rolls out to the copies as the
deployment's spec.strategy says (rolling or canary). These verbs read and steer it.

Examples:
  $ shoal rollout status web -w
  $ shoal rollout promote web
  $ shoal rollout undo web --to-revision 3`,
    )
  const verb = (name: string, description: string): Command =>
    addConnectionOptions(rollout.command(name).description(description).argument('<deployment>', 'the deployment name'))

  verb('status', 'show a rollout: phase, revisions, conditions, counts and where each copy stands')
    .addOption(outputOption(['table', 'json', 'yaml']))
    .option('-w, --watch', 'print again on every change until the rollout completes (exit 0) or fails (exit 1)')
    .addHelpText('after', '\nExamples:\n  $ shoal rollout status web\n  $ shoal rollout status web -w\n  $ shoal rollout status web -o json | jq .counts\n')
    .action(async (name: string, options: RolloutOptions & { watch?: boolean }) => {
      const client = connect(options, deps.env)
      const terminal = terminalOf(io, deps.env)
      const render = (status: RolloutStatus, now: () => number): string =>
        options.output === 'json' || options.output === 'yaml' ? renderData(options.output, status) : renderRolloutStatus(status, { terminal, now: now() })
      if (!options.watch) {
        io.out(render(await rolloutCall(name, () => client.rolloutStatus(name)), deps.now))
        return
      }
      await watchStatus(client, io, name, render, terminal, deps)
    })

  verb('history', 'list the kept revisions of a deployment, newest first; --revision N shows one template')
    .addOption(outputOption(['table', 'json', 'yaml']))
    .option('--revision <n>', 'show this revision in full (its container template)')
    .addHelpText('after', '\nExamples:\n  $ shoal rollout history web\n  $ shoal rollout history web --revision 2\n')
    .action(async (name: string, options: RolloutOptions & { revision?: string }) => {
      const revision = options.revision === undefined ? undefined : positiveInteger(options.revision, '--revision')
      const history = await rolloutCall(name, () => connect(options, deps.env).rolloutHistory(name))
      if (revision !== undefined) {
        const item = history.items.find((i) => i.revision === revision)
        if (!item)
          throw new CliError(
            `deployment ${name} keeps no revision ${revision} (kept: ${history.items.map((i) => i.revision).join(', ') || 'none'}); see shoal rollout history ${name}`,
            ExitCode.failed,
          )
        io.out(options.output === 'json' || options.output === 'yaml' ? renderData(options.output, item) : renderRevision(item))
        return
      }
      if (options.output === 'json' || options.output === 'yaml') io.out(renderData(options.output, history))
      else io.out(renderHistory(history, { terminal: terminalOf(io, deps.env), now: deps.now() }))
    })

  const actions: Record<RolloutAction, [string, string]> = {
    pause: ['stop moving copies to the new revision (copies already moved stay)', 'paused'],
    resume: ['continue a paused rollout', 'resumed'],
    promote: ['let a canary step holding at its pause go on to the next step', 'promoted'],
  }
  for (const [action, [description, done]] of Object.entries(actions) as [RolloutAction, [string, string]][]) {
    verb(action, description)
      .addOption(outputOption(['table', 'json', 'yaml']))
      .addHelpText('after', `\nExample:\n  $ shoal rollout ${action} web\n`)
      .action(async (name: string, options: RolloutOptions) => {
        const status = await rolloutCall(name, () => connect(options, deps.env).rolloutAction(name, action))
        if (options.output === 'json' || options.output === 'yaml') io.out(renderData(options.output, status))
        else io.out(`deployment/${name} ${done}: ${summaryLine(status)}\n`)
      })
  }

  verb('undo', "roll back: a new revision with an earlier revision's template (default: the last fully rolled-out one)")
    .option('--to-revision <n>', 'the revision whose template to go back to (see shoal rollout history)')
    .addOption(outputOption(['table', 'json', 'yaml']))
    .addHelpText(
      'after',
      `
Undo rolls forward to old content, as kubectl does: revision 5 may carry revision 2's
template. It is rolled out with the deployment's strategy like any other revision.

Examples:
  $ shoal rollout undo web
  $ shoal rollout undo web --to-revision 2`,
    )
    .action(async (name: string, options: RolloutOptions & { toRevision?: string }) => {
      const to = options.toRevision === undefined ? undefined : positiveInteger(options.toRevision, '--to-revision')
      const change = await rolloutCall(name, () => connect(options, deps.env).rolloutUndo(name, to))
      if (options.output === 'json' || options.output === 'yaml') io.out(renderData(options.output, change))
      else
        io.out(
          `deployment/${name} rolled back: revision ${change.revision} has the template of revision ${change.from}; follow it with shoal rollout status ${name} -w\n`,
        )
    })

  verb('restart', 'replace every copy (a new revision that only changes an annotation), within the strategy')
    .addOption(outputOption(['table', 'json', 'yaml']))
    .addHelpText('after', '\nExample:\n  $ shoal rollout restart web\n')
    .action(async (name: string, options: RolloutOptions) => {
      const change = await rolloutCall(name, () => connect(options, deps.env).rolloutRestart(name))
      if (options.output === 'json' || options.output === 'yaml') io.out(renderData(options.output, change))
      else io.out(`deployment/${name} restarted: revision ${change.revision}; follow it with shoal rollout status ${name} -w\n`)
    })
  return rollout
}

export function positiveInteger(text: string, flag: string): number {
  const value = Number(text)
  if (!Number.isInteger(value) || value < 1) throw new CliError(`${flag} must be a whole number from 1 (a revision; see shoal rollout history)`, ExitCode.usage)
  return value
}

/** `--timeout 10m`: a duration such as 90s, 10m or 1h30m. */
/** Seen by the hub: the rollout it reports is about the deployment's current revision. */
export function observed(status: RolloutStatus): boolean {
  return status.conditions.some((c) => c.observedRevision === status.revision)
}

const PHASE_COLOUR: Readonly<Record<RolloutStatus['phase'], Colour>> = { progressing: 'yellow', complete: 'green', failed: 'red' }
const GATE_COLOUR: Readonly<Record<RolloutStatus['copies'][number]['gate'], Colour | null>> = {
  old: null,
  progressing: 'yellow',
  updated: 'green',
  failed: 'red',
  offline: 'red',
}

/** "2/3 copies updated, 1 failing; canary step 1 of 2 holds until shoal rollout promote" */
export function summaryLine(status: RolloutStatus): string {
  const { counts } = status
  const parts = [`revision ${status.revision} ${status.phase}`, `${counts.updated}/${counts.total} copies updated`]
  if (counts.failed > 0) parts.push(`${counts.failed} failing`)
  const hold = status.conditions.find((c) => c.type === 'RolloutPaused' && c.status === 'True')
  return `${parts.join(', ')}${hold && status.phase === 'progressing' ? `; ${hold.message}` : ''}`
}

function strategyText(status: RolloutStatus): string {
  const { strategy } = status
  const parts: string[] = [strategy.type]
  if (strategy.type === 'canary')
    parts.push(status.step < status.steps ? `step ${status.step + 1} of ${status.steps}` : `past the last of ${status.steps} steps`)
  parts.push(`maxUnavailable ${strategy.maxUnavailable}`)
  if (strategy.minReadySeconds > 0) parts.push(`minReadySeconds ${strategy.minReadySeconds}`)
  if (strategy.partitionBy) parts.push(`partitionBy ${strategy.partitionBy}`)
  if (strategy.prefetch) parts.push('prefetch')
  parts.push(`rollback ${strategy.rollback.auto ? 'auto' : 'manual'}`)
  return parts.join(', ')
}

function section(title: string, body: string): string {
  return `\n${title}:\n${body.endsWith('\n') ? body : `${body}\n`}`
}

/** The rollout in one screen, describe-style. Pure: tests give it a terminal and a time. */
export function renderRolloutStatus(status: RolloutStatus, context: { terminal: Terminal; now: number }): string {
  const { terminal, now } = context
  const { counts, failure } = status
  const fields: [string, string][] = [
    ['Deployment', status.deployment],
    [
      'Phase',
      `${paint(terminal, PHASE_COLOUR[status.phase], status.phase)}${status.paused ? ' (paused)' : ''}${observed(status) ? '' : ' (the hub has not started this revision yet)'}`,
    ],
    ['Revision', `${status.revision} (stable: ${status.stableRevision ?? 'none yet'})`],
    ['Strategy', strategyText(status)],
    [
      'Copies',
      `${counts.updated}/${counts.total} updated, ${counts.onRevision} told to run revision ${status.revision}, ${counts.failed} failed; at most ${counts.maxUnavailable} down at once`,
    ],
    ['Started', status.startedAt ? `${status.startedAt} (${formatAge(status.startedAt, now)} ago)` : '-'],
  ]
  if (failure) {
    const back = failure.rolledBack
      ? `rolled back to revision ${status.stableRevision}`
      : 'not rolled back (rollback.auto is off, or there was no earlier revision)'
    fields.push(['Failure', `${paint(terminal, 'red', failure.reason)}: ${failure.message}\n${back}`])
  }
  const conditionRows = status.conditions.map((c): Cell[] => [
    c.type,
    { text: c.status, colour: (c.type === 'RolloutFailed') === (c.status === 'True') ? 'red' : null },
    c.reason,
    ageOf(c.lastTransitionTime, now),
    c.message || '-',
  ])
  // The pull-ahead column only where the strategy asks for one.
  const prefetching = status.strategy.prefetch === true
  const copyRows = status.copies.map((c): Cell[] => [
    c.nodeId,
    String(c.revision),
    { text: c.gate, colour: GATE_COLOUR[c.gate] },
    c.wave ?? '-',
    ...(prefetching ? [c.prefetch ?? '-'] : []),
    c.reason ?? '-',
  ])
  const copyColumns = ['NODE', 'REVISION', 'GATE', 'WAVE', ...(prefetching ? ['PREFETCH'] : []), 'REASON']
  return [
    renderFields(fields),
    section(
      'Conditions',
      conditionRows.length === 0 ? '  <none yet>' : indent(renderCells(terminal, ['TYPE', 'STATUS', 'REASON', 'AGE', 'MESSAGE'], conditionRows)),
    ),
    section('Copies', copyRows.length === 0 ? '  <none placed>' : indent(renderCells(terminal, copyColumns, copyRows))),
  ].join('')
}

export function renderHistory(history: RevisionHistory, context: { terminal: Terminal; now: number }): string {
  const rows = history.items.map((item): Cell[] => [
    String(item.revision),
    item.image,
    String(item.copies),
    ageOf(item.createdAt, context.now),
    [item.current ? 'current' : '', item.stable ? 'stable' : ''].filter(Boolean).join(', ') || '-',
  ])
  return renderCells(context.terminal, ['REVISION', 'IMAGE', 'COPIES', 'AGE', 'NOTE'], rows)
}

function renderRevision(item: RevisionHistory['items'][number]): string {
  const note = [item.current ? 'current' : '', item.stable ? 'stable' : ''].filter(Boolean).join(', ')
  return `${renderFields([
    ['Revision', `${item.revision}${note ? ` (${note})` : ''}`],
    ['Created', item.createdAt],
    ['Copies', String(item.copies)],
  ])}\nTemplate:\n${indent(stringifyYaml(item.template, { lineWidth: 0 }))}`
}

async function watchStatus(
  client: HubClient,
  io: CliIo,
  name: string,
  render: (status: RolloutStatus, now: () => number) => string,
  terminal: Terminal,
  deps: RolloutDeps,
): Promise<void> {
  const interrupt = deps.watchSignal ? null : interruptSignal()
  const ended = new AbortController()
  const outer = deps.watchSignal ?? (interrupt as { signal: AbortSignal }).signal
  outer.addEventListener('abort', () => ended.abort(), { once: true })
  let last: string | null = null
  let outcome: RolloutStatus | null = null
  try {
    // The first read is outside the watch so an unknown deployment is an error, not a warning.
    await rolloutCall(name, () => client.rolloutStatus(name))
    await watchHub(
      client,
      io,
      async () => {
        const status = await rolloutCall(name, () => client.rolloutStatus(name))
        const signature = render(status, () => Number.NaN)
        if (signature !== last) {
          io.out(terminal.colour ? `\u001b[H\u001b[2J${render(status, deps.now)}` : `${last === null ? '' : '\n'}${render(status, deps.now)}`)
          last = signature
        }
        if (observed(status) && status.phase !== 'progressing') {
          outcome = status
          ended.abort()
        }
      },
      { signal: ended.signal, debounceMs: 200, periodMs: 2_000 },
    )
  } finally {
    interrupt?.dispose()
  }
  const final = outcome as RolloutStatus | null
  if (final?.phase === 'failed')
    throw new CliError(`the rollout of deployment/${name} revision ${final.revision} failed: ${final.failure?.reason ?? 'unknown reason'}`, ExitCode.failed)
}

export interface FollowTarget {
  readonly name: string
}

export interface FollowOptions {
  readonly timeoutMs: number
  /** Where progress lines go (stdout for tables, stderr under -o json). */
  readonly print: (line: string) => void
  readonly warn: (line: string) => void
  readonly intervalMs?: number
  readonly now?: () => number
}

export type FollowResult = { readonly name: string; readonly result: 'complete' | 'failed' | 'timeout'; readonly status: RolloutStatus | null }

/**
 * Polls each deployment's rollout until it completes, fails or the time runs out, printing a
 * line whenever its progress changes. Never throws for a rollout's outcome: the caller decides
 * the exit code. A hub that cannot be reached for a while is warned about once and asked again.
 */
export async function followRollouts(client: HubClient, targets: readonly FollowTarget[], options: FollowOptions): Promise<FollowResult[]> {
  const now = options.now ?? (() => Date.now())
  const deadline = now() + options.timeoutMs
  const last = new Map<string, string>()
  const latest = new Map<string, RolloutStatus>()
  const results = new Map<string, FollowResult>()
  let warned: string | null = null
  while (results.size < targets.length) {
    for (const { name } of targets) {
      if (results.has(name)) continue
      let status: RolloutStatus
      try {
        status = await rolloutCall(name, () => client.rolloutStatus(name))
      } catch (error) {
        if (!(error instanceof HubUnreachableError)) throw error
        if (warned !== error.message) options.warn(`warning: ${error.message}; asking again\n`)
        warned = error.message
        continue
      }
      warned = null
      latest.set(name, status)
      const line = observed(status) ? summaryLine(status) : `revision ${status.revision}: waiting for the hub to start its rollout`
      if (last.get(name) !== line) options.print(`deployment/${name}: ${line}\n`)
      last.set(name, line)
      if (observed(status) && status.phase !== 'progressing') results.set(name, { name, result: status.phase, status })
    }
    if (results.size === targets.length) break
    if (now() >= deadline) {
      for (const { name } of targets) if (!results.has(name)) results.set(name, { name, result: 'timeout', status: latest.get(name) ?? null })
      break
    }
    await new Promise((resolve) => setTimeout(resolve, Math.min(options.intervalMs ?? 500, Math.max(0, deadline - now()))))
  }
  return targets.map((t) => results.get(t.name) as FollowResult)
}

/** What `--wait` prints about rollouts that did not complete, and the error to end with (null: all complete). */
export function followReport(results: readonly FollowResult[], timeoutText: string): { lines: string; error: CliError | null } {
  const lines: string[] = []
  const problems: string[] = []
  for (const { name, result, status } of results) {
    if (result === 'failed' && status) {
      const failure = status.failure
      lines.push(`deployment/${name}: revision ${status.revision} failed: ${failure?.reason ?? 'unknown reason'}: ${failure?.message ?? ''}\n`)
      for (const node of failure?.nodes ?? []) lines.push(`  ${node.nodeId}: ${node.reason}\n`)
      lines.push(
        failure?.rolledBack
          ? `  rolled back: the updated copies return to revision ${status.stableRevision}\n`
          : `  not rolled back: undo with shoal rollout undo ${name}, or apply a fixed revision\n`,
      )
      problems.push(
        `the rollout of deployment/${name} revision ${status.revision} failed${failure?.rolledBack ? ` and was rolled back to revision ${status.stableRevision}` : ''} (see shoal rollout status ${name})`,
      )
    } else if (result === 'timeout') {
      const where = status ? ` (${summaryLine(status)})` : ''
      problems.push(`deployment/${name} was not rolled out within ${timeoutText}${where}; it goes on on the hub: shoal rollout status ${name} -w`)
    }
  }
  return { lines: lines.join(''), error: problems.length === 0 ? null : new CliError(problems.join('; '), ExitCode.failed) }
}

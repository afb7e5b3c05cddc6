import { Command } from 'commander'
import { HubRequestError, type AppliedManifest, type PreviewedManifest } from '../api-client.js'
import { addConnectionOptions, connect, type ConnectionOptions } from '../contexts.js'
import { CliError, ExitCode, type CliIo } from '../io.js'
import { combine, needsCheckBeforeSending, readManifestSources, type ManifestSource } from '../manifest-sources.js'
import { indent, outputOption, renderCells, renderData, terminalOf, type OutputFormat } from '../output.js'
import { timeoutFlag, timeoutOption } from '../timeout-option.js'

interface ApplyOptions extends ConnectionOptions {
  filename: string[]
  dryRun?: boolean
  pullNow?: boolean
  wait?: boolean
  timeout: string
  output: OutputFormat
}

export interface ApplyDeps {
  readonly readStdin: () => Promise<string>
  readonly env: NodeJS.ProcessEnv
}

export const defaultApplyDeps: ApplyDeps = { readStdin: () => readAll(process.stdin), env: process.env }

/**
 * `shoal apply -f FILE|DIR|-`: sends every manifest in one request; the hub validates them with
 * the same parser. The validator (zod, yaml: most of a start's time) loads only when the hub
 * refuses them, to print each problem against its file, or for the few inputs the hub's verdict
 * cannot judge alone (needsCheckBeforeSending).
 */
export function applyCommand(io: CliIo, deps: ApplyDeps = defaultApplyDeps): Command {
  return addConnectionOptions(
    new Command('apply')
      .description('create or update deployments, jobs, cron jobs, configs and secrets from manifest files; --dry-run shows where they would be placed')
      .requiredOption('-f, --filename <path>', 'a manifest file, a directory of *.yaml/*.yml/*.json files, or - for standard input (repeatable)', collect)
      .option('--dry-run', 'ask the scheduler where everything would go, change nothing')
      .option('--pull-now', "pull these revisions' images now, whatever the nodes' bandwidth budgets and pull windows say (these revisions only)")
      .option('--wait', "then follow each deployment's rollout: exit 0 when all complete, 1 when one fails or --timeout passes")
      .addOption(timeoutFlag())
      .addOption(outputOption(['table', 'json', 'yaml', 'name'])),
  )
    .addHelpText(
      'after',
      `
All manifests go to the hub in one request and are applied together: if any is invalid,
none is applied, and each problem is printed as FILE:LINE:COLUMN: document N: FIELD: MESSAGE.

--pull-now marks the revision each deployment is at after this apply (a new one, or the
current one when nothing changed): its copies pull their images at once instead of waiting
for the node's monthly budget, pull window or link (PullDeferred). The next revision follows
the rules again.

A changed Config or Secret prints its new version and the deployments it rolls out
(secret/api configured (version 2); rolls out web, cam); --wait follows those too.

With --wait, a line is printed whenever a rollout's progress changes; a failed rollout
prints its reason, the failing nodes and whether it was rolled back.

Examples:
  $ shoal apply -f deploy/web.yaml
  $ shoal apply -f deploy/ --dry-run
  $ shoal apply -f deploy/web.yaml --wait --timeout 5m
  $ shoal apply -f deploy/hotfix.yaml --pull-now
  $ helm template ./chart | shoal apply -f -`,
    )
    .action(async (options: ApplyOptions) => {
      if (options.wait && options.dryRun)
        throw new CliError('--wait follows what apply changed; a --dry-run changes nothing (drop one of them)', ExitCode.usage)
      if (options.pullNow && options.dryRun)
        throw new CliError('--pull-now marks what apply stores; a --dry-run stores nothing (drop one of them)', ExitCode.usage)
      const timeoutMs = timeoutOption(options.timeout)
      const sources = await readManifestSources(options.filename, readingOf(io, deps))
      if (needsCheckBeforeSending(sources)) await checkSources(sources, io, 'nothing was applied')
      const body = combine(sources as { file: string; text: string }[])
      const client = connect(options, deps.env)
      let response
      try {
        response = await client.applyManifests(body.text, options.dryRun === true, options.pullNow === true)
      } catch (error) {
        if (error instanceof HubRequestError && error.status === 400 && error.details.length > 0) {
          // The same problems, read from the files: FILE:LINE:COLUMN as `shoal validate` prints them.
          await checkSources(sources, io, 'nothing was applied')
          for (const detail of error.details) io.err(`${body.locate(detail)}\n`)
          throw new CliError(`the hub rejected the manifests (${error.details.length} problem(s)); nothing was applied`, ExitCode.failed)
        }
        throw error
      }
      const structured = options.output === 'json' || options.output === 'yaml' || options.output === 'name'
      if (options.output === 'json' || options.output === 'yaml') io.out(renderData(options.output, response))
      else if (options.output === 'name') io.out(response.results.map((r) => `${r.kind.toLowerCase()}/${r.name}\n`).join(''))
      else {
        const terminal = terminalOf(io, deps.env)
        for (const result of response.results) io.out(describeResult(result, terminal))
      }
      if (!options.wait) return
      // Under -o json|yaml|name stdout stays the hub's answer; progress goes to stderr.
      const print = structured ? io.err : io.out
      // A Config or Secret change rolls out the deployments using it: follow those as well.
      const names = new Set(response.results.flatMap((r) => (r.kind === 'Deployment' ? [r.name] : 'rolled' in r ? (r.rolled ?? []) : [])))
      const targets = [...names].map((name) => ({ name }))
      const { followReport, followRollouts } = await import('./rollout.js')
      const results = await followRollouts(client, targets, { timeoutMs, print, warn: io.err })
      const report = followReport(results, options.timeout)
      print(report.lines)
      if (report.error) throw report.error
    })
}

/**
 * One applied manifest: "deployment/web configured (revision 4)", and for a Config or Secret its
 * version and the deployments the change rolls out ("secret/api configured (version 2); rolls out web, cam"); for a
 * Job its condition.
 */
export function describeApplied(result: AppliedManifest): string {
  const id = `${result.kind.toLowerCase()}/${result.name}`
  const why = result.why ? `: ${result.why}` : ''
  if (result.kind === 'Deployment') return `${id} ${result.outcome} (revision ${result.revision})${why}\n`
  // A job has no versions: its answer is its condition ("job/export created: 0/3 succeeded, 0 failed, 2 running").
  if (result.kind === 'Job') return `${id} ${result.outcome}${why}\n`
  const rolled = result.rolled ?? []
  return `${id} ${result.outcome} (version ${result.revision})${rolled.length > 0 ? `; rolls out ${rolled.join(', ')}` : ''}${why}\n`
}

function describeResult(result: AppliedManifest | PreviewedManifest, terminal: ReturnType<typeof terminalOf>): string {
  if (!('placements' in result)) return describeApplied(result)
  const id = `${result.kind.toLowerCase()}/${result.name}`
  const why = result.why ? `: ${result.why}` : ''
  if (result.kind !== 'Deployment') return `${id} (dry run): valid${why}\n`
  const placements = [...result.placements].sort((a, b) => a.replica - b.replica || (a.nodeId < b.nodeId ? -1 : 1))
  const lines = [`${id} (dry run)${why}\n`]
  if (placements.length > 0)
    lines.push(
      indent(
        renderCells(
          terminal,
          ['NODE', 'REPLICA'],
          placements.map((p) => [p.nodeId, String(p.replica)]),
        ),
      ),
    )
  if (result.pending > 0) lines.push(`  ${result.pending} pending: no node can take ${result.pending === 1 ? 'it' : 'them'} now\n`)
  return lines.join('')
}

/** Reads -f's manifests and checks them as the hub will; prints every problem and fails if there is one. */
export async function readValidSources(paths: readonly string[], io: CliIo, deps: ApplyDeps, consequence: string): Promise<{ file: string; text: string }[]> {
  const sources = await readManifestSources(paths, readingOf(io, deps))
  await checkSources(sources, io, consequence)
  return sources as { file: string; text: string }[]
}

/** Validates the sources locally (loading the validator): prints warnings, and every problem before failing. */
async function checkSources(sources: readonly ManifestSource[], io: CliIo, consequence: string): Promise<void> {
  const { validateSources, formatWarning } = await import('./validate.js')
  const { formatManifestError } = await import('../../protocol/manifest-parse.js')
  const report = validateSources(sources)
  for (const warning of report.warnings) io.err(`${formatWarning(warning)}\n`)
  if (!report.valid) {
    for (const error of report.errors)
      io.err(
        `${error.documentIndex === null ? `${error.file}: ${error.message}` : formatManifestError({ file: error.file, documentIndex: error.documentIndex, path: error.path, message: error.message, ...(error.line === null ? {} : { line: error.line }), ...(error.column === null ? {} : { column: error.column }) })}\n`,
      )
    throw new CliError(`${report.errors.length} problem(s) in the manifests; ${consequence} (fix them, or check with shoal validate)`, ExitCode.failed)
  }
}

function readingOf(io: CliIo, deps: ApplyDeps): { readStdin: () => Promise<string>; promptForStdin: () => void } {
  return {
    readStdin: deps.readStdin,
    promptForStdin: () => {
      if (process.stdin.isTTY && deps === defaultApplyDeps) io.err('reading manifests from standard input (end with Ctrl-D)\n')
    },
  }
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value]
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk)
  return Buffer.concat(chunks).toString('utf8')
}

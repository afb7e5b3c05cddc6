import { readdir, readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { Command } from 'commander'
import { MAX_BYTES } from '../../protocol/codec.js'
import { formatManifestError } from '../../protocol/manifest-parse.js'
import { HubRequestError, type AppliedManifest, type ErrorDetail, type PreviewedManifest } from '../api-client.js'
import { addConnectionOptions, connect, type ConnectionOptions } from '../contexts.js'
import { CliError, ExitCode, type CliIo } from '../io.js'
import { indent, outputOption, renderCells, renderData, terminalOf, type OutputFormat } from '../output.js'
import { followReport, followRollouts, timeoutFlag, timeoutOption } from './rollout.js'
import { formatWarning, STDIN_NAME, validateSources, type ManifestSource } from './validate.js'

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
const MANIFEST_FILE = /\.(ya?ml|json)$/i

/** `shoal apply -f FILE|DIR|-`: validates locally, then sends every manifest in one request. */
export function applyCommand(io: CliIo, deps: ApplyDeps = defaultApplyDeps): Command {
  return addConnectionOptions(
    new Command('apply')
      .description('create or update deployments, configs and secrets from manifest files; --dry-run shows where they would be placed')
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
      const sources = await readValidSources(options.filename, io, deps, 'nothing was applied')
      const body = combine(sources)
      const client = connect(options, deps.env)
      let response
      try {
        response = await client.applyManifests(body.text, options.dryRun === true, options.pullNow === true)
      } catch (error) {
        if (error instanceof HubRequestError && error.status === 400 && error.details.length > 0) {
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
      const results = await followRollouts(client, targets, { timeoutMs, print, warn: io.err })
      const report = followReport(results, options.timeout)
      print(report.lines)
      if (report.error) throw report.error
    })
}

/**
 * One applied manifest: "deployment/web configured (revision 4)", and for a Config or Secret its
 * version and the deployments the change rolls out ("secret/api configured (version 2); rolls out web, cam").
 */
export function describeApplied(result: AppliedManifest): string {
  const id = `${result.kind.toLowerCase()}/${result.name}`
  const why = result.why ? `: ${result.why}` : ''
  if (result.kind === 'Deployment') return `${id} ${result.outcome} (revision ${result.revision})${why}\n`
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
  const sources = await readSources(paths, io, deps)
  const report = validateSources(sources)
  for (const warning of report.warnings) io.err(`${formatWarning(warning)}\n`)
  if (!report.valid) {
    for (const error of report.errors)
      io.err(
        `${error.documentIndex === null ? `${error.file}: ${error.message}` : formatManifestError({ file: error.file, documentIndex: error.documentIndex, path: error.path, message: error.message, ...(error.line === null ? {} : { line: error.line }), ...(error.column === null ? {} : { column: error.column }) })}\n`,
      )
    throw new CliError(`${report.errors.length} problem(s) in the manifests; ${consequence} (fix them, or check with shoal validate)`, ExitCode.failed)
  }
  return sources as { file: string; text: string }[]
}

/** The sources as one multi-document body, and a way back from its lines to the files. */
export function combine(sources: readonly { file: string; text: string }[]): { text: string; locate: (detail: ErrorDetail) => string } {
  const starts: { file: string; line: number }[] = []
  let line = 1
  const parts: string[] = []
  for (const source of sources) {
    const text = source.text.endsWith('\n') ? source.text : `${source.text}\n`
    starts.push({ file: source.file, line })
    parts.push(text)
    line += text.split('\n').length // the file's lines (it ends with a newline), then the `---` line
  }
  const locate = (detail: ErrorDetail): string => {
    const path = detail.path ? ` ${detail.path}:` : ''
    if (detail.line === undefined) return `request: document ${detail.documentIndex ?? '?'}:${path} ${detail.message ?? ''}`
    const at = detail.line
    const start = [...starts].reverse().find((s) => s.line <= at) ?? starts[0]
    return `${start?.file ?? 'request'}:${at - (start?.line ?? 1) + 1}:${detail.column ?? 1}:${path} ${detail.message ?? ''}`
  }
  return { text: parts.join('---\n'), locate }
}

async function readSources(paths: readonly string[], io: CliIo, deps: ApplyDeps): Promise<ManifestSource[]> {
  if (paths.filter((p) => p === '-').length > 1) throw new CliError('standard input (-f -) can be given only once', ExitCode.usage)
  const sources: ManifestSource[] = []
  for (const path of paths) {
    if (path === '-') {
      if (process.stdin.isTTY && deps === defaultApplyDeps) io.err('reading manifests from standard input (end with Ctrl-D)\n')
      sources.push({ file: STDIN_NAME, text: await deps.readStdin() })
      continue
    }
    let info
    try {
      info = await stat(path)
    } catch {
      throw new CliError(`-f ${path}: no such file or directory`, ExitCode.usage)
    }
    if (info.isDirectory()) {
      const files = (await readdir(path)).filter((name) => MANIFEST_FILE.test(name)).sort()
      if (files.length === 0) throw new CliError(`-f ${path}: no *.yaml, *.yml or *.json files in this directory`, ExitCode.usage)
      for (const name of files) sources.push(await readSource(join(path, name)))
    } else {
      sources.push(await readSource(path))
    }
  }
  const total = sources.reduce((sum, s) => sum + ('text' in s ? Buffer.byteLength(s.text) : 0), 0)
  if (total > MAX_BYTES.manifest)
    throw new CliError(
      `the manifests add up to ${total} bytes, over the hub's ${MAX_BYTES.manifest}-byte limit for one apply; apply them in parts`,
      ExitCode.failed,
    )
  return sources
}

async function readSource(file: string): Promise<ManifestSource> {
  try {
    return { file, text: await readFile(file, 'utf8') }
  } catch (error) {
    return { file, readError: `cannot read: ${(error as Error).message}` }
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

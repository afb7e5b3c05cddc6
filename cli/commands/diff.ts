import { Command } from 'commander'
import { stringify as stringifyYaml } from 'yaml'
import { canonicalJson, type Deployment } from '../../protocol/index.js'
import { parseManifests } from '../../protocol/manifest-parse.js'
import { HubRequestError, type DeploymentDetailView, type PreviewedManifest, type HubClient } from '../api-client.js'
import { addConnectionOptions, connect, type ConnectionOptions } from '../contexts.js'
import { CliError, ExitCode, type CliIo } from '../io.js'
import { paint, terminalOf, type Terminal } from '../output.js'
import { combine } from '../manifest-sources.js'
import { defaultApplyDeps, readValidSources, type ApplyDeps } from './apply.js'

interface DiffOptions extends ConnectionOptions {
  filename: string[]
}

/** One line of a line diff: kept, removed (only before) or added (only after). */
export type DiffLine = { readonly op: ' ' | '-' | '+'; readonly text: string }

/**
 * The shortest edit from `before` to `after`, line by line (longest common subsequence). Pure;
 * manifests are small, so the quadratic table is fine.
 */
export function lineDiff(before: readonly string[], after: readonly string[]): DiffLine[] {
  const n = before.length
  const m = after.length
  const common: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0))
  for (let i = n - 1; i >= 0; i--) {
    const row = common[i] as number[]
    const below = common[i + 1] as number[]
    for (let j = m - 1; j >= 0; j--) row[j] = before[i] === after[j] ? (below[j + 1] as number) + 1 : Math.max(below[j] as number, row[j + 1] as number)
  }
  const lines: DiffLine[] = []
  let i = 0
  let j = 0
  while (i < n || j < m) {
    if (i < n && j < m && before[i] === after[j]) {
      lines.push({ op: ' ', text: before[i++] as string })
      j++
    } else if (i < n && (j === m || (common[i + 1]?.[j] as number) >= (common[i]?.[j + 1] as number))) lines.push({ op: '-', text: before[i++] as string })
    else lines.push({ op: '+', text: after[j++] as string })
  }
  return lines
}

/** The changed lines with `context` lines around them, in `diff -u` hunks ("@@ -3,7 +3,8 @@"). */
export function unifiedHunks(lines: readonly DiffLine[], context = 3): string[] {
  const changed = lines.flatMap((line, index) => (line.op === ' ' ? [] : [index]))
  const out: string[] = []
  let k = 0
  while (k < changed.length) {
    const start = Math.max(0, (changed[k] as number) - context)
    let end = Math.min(lines.length, (changed[k] as number) + context + 1)
    while (k + 1 < changed.length && (changed[k + 1] as number) - context <= end) end = Math.min(lines.length, (changed[++k] as number) + context + 1)
    k++
    const before = lines.slice(0, start)
    const hunk = lines.slice(start, end)
    const oldStart = before.filter((l) => l.op !== '+').length
    const newStart = before.filter((l) => l.op !== '-').length
    const oldCount = hunk.filter((l) => l.op !== '+').length
    const newCount = hunk.filter((l) => l.op !== '-').length
    out.push(`@@ -${oldCount === 0 ? oldStart : oldStart + 1},${oldCount} +${newCount === 0 ? newStart : newStart + 1},${newCount} @@`)
    for (const line of hunk) out.push(`${line.op}${line.text}`)
  }
  return out
}

/** A manifest as YAML with its keys sorted, so the live one and the file's line up. */
function manifestLines(manifest: Deployment): string[] {
  return stringifyYaml(JSON.parse(canonicalJson(manifest)), { lineWidth: 0 })
    .replace(/\n$/, '')
    .split('\n')
}

/** The top-level spec fields (and metadata) that differ: "spec.replicas", "spec.template". */
export function changedFields(live: Deployment, wanted: Deployment): string[] {
  const fields: string[] = []
  if (canonicalJson(live.metadata) !== canonicalJson(wanted.metadata)) fields.push('metadata')
  const keys = [...new Set([...Object.keys(live.spec), ...Object.keys(wanted.spec)])].sort()
  for (const key of keys) {
    if (canonicalJson((live.spec as Record<string, unknown>)[key] ?? null) !== canonicalJson((wanted.spec as Record<string, unknown>)[key] ?? null))
      fields.push(`spec.${key}`)
  }
  return fields
}

/** What a dry-run apply says of one manifest, as far as diff shows it. */
type Preview = Pick<PreviewedManifest, 'placements' | 'pending' | 'why'>

/** What applying one manifest would do, as the lines `shoal diff` prints for it. Pure. */
export function describeDiff(
  wanted: { readonly manifest: Deployment; readonly file: string },
  live: Pick<DeploymentDetailView, 'revision' | 'manifest' | 'placements'> | null,
  preview: Preview | undefined,
  terminal: Terminal,
): { text: string; differs: boolean } {
  const name = wanted.manifest.metadata.name
  const id = `deployment/${name}`
  const lines: string[] = []
  const differs = live === null || canonicalJson(live.manifest) !== canonicalJson(wanted.manifest)
  if (live === null) lines.push(`${id}: would be created, and its first revision rolled out`)
  else if (!differs) lines.push(`${id}: no changes (revision ${live.revision})`)
  else {
    const fields = changedFields(live.manifest, wanted.manifest)
    const rollout = fields.includes('spec.template')
      ? `makes revision ${live.revision + 1}, rolled out with strategy ${wanted.manifest.spec.strategy.type}`
      : `no new revision (revision ${live.revision} stays: the template is the same)`
    lines.push(`${id}: changes ${fields.join(', ')}; ${rollout}`)
  }
  if (differs) {
    lines.push(paint(terminal, 'bold', `--- ${live === null ? '/dev/null' : `${id} (live, revision ${live.revision})`}`))
    lines.push(paint(terminal, 'bold', `+++ ${id} (${wanted.file})`))
    for (const line of unifiedHunks(lineDiff(live === null ? [] : manifestLines(live.manifest), manifestLines(wanted.manifest)))) {
      lines.push(paint(terminal, line.startsWith('@@') ? 'dim' : line.startsWith('+') ? 'green' : line.startsWith('-') ? 'red' : null, line))
    }
  }
  lines.push(...landing(live, preview))
  return { text: `${lines.join('\n')}\n`, differs }
}

/** Where the copies would run after the apply, against where they run now. */
function landing(live: Pick<DeploymentDetailView, 'placements'> | null, preview: Preview | undefined): string[] {
  if (!preview) return []
  const now = new Set((live?.placements ?? []).map((p) => p.nodeId))
  const then = [...new Set(preview.placements.map((p) => p.nodeId))].sort()
  const added = then.filter((n) => !now.has(n))
  const removed = [...now].filter((n) => !then.includes(n)).sort()
  const where = then.length === 0 ? 'no node' : then.join(', ')
  const moves = [...added.map((n) => `+${n}`), ...removed.map((n) => `-${n}`)]
  const lines = [`  would run on: ${where}${live === null ? '' : moves.length === 0 ? ' (as now)' : ` (${moves.join(' ')})`}`]
  if (preview.pending > 0) lines.push(`  ${preview.pending} pending: ${preview.why ?? 'no node can take it now'}`)
  return lines
}

/** `shoal diff -f FILE`: what `shoal apply` would change, and where it would land. */
export function diffCommand(io: CliIo, deps: ApplyDeps = defaultApplyDeps): Command {
  return addConnectionOptions(
    new Command('diff')
      .description('show what shoal apply -f would change against the live deployments, whether it makes a new revision, and where copies would run')
      .requiredOption(
        '-f, --filename <path>',
        'a manifest file, a directory of *.yaml/*.yml/*.json files, or - for standard input (repeatable)',
        (value: string, previous: string[] | undefined) => [...(previous ?? []), value],
      ),
  )
    .addHelpText(
      'after',
      `
Each deployment's manifest is compared with the live one (with defaults filled in on both
sides) as a unified line diff. Only a template change makes a new revision, and so a rollout;
replicas, selector or strategy change the deployment in place. Placements come from the
hub's dry run. Nothing is changed. Configs and Secrets are not compared (the hub never shows
a Secret's values); each gets a note on stderr.

Exit status, as kubectl diff: 0 no differences, 1 differences, 2 an error.

Examples:
  $ shoal diff -f deploy/web.yaml
  $ shoal diff -f deploy/ && echo "nothing to apply"`,
    )
    .action(async (options: DiffOptions) => {
      try {
        const differs = await diff(options, io, deps)
        // Differences are an answer, not an error: no message, exit 1 as kubectl diff.
        if (differs) process.exitCode = ExitCode.failed
      } catch (error) {
        if (error instanceof CliError) throw new CliError(error.message, ExitCode.usage)
        throw new CliError((error as Error).message, ExitCode.usage)
      }
    })
}

async function diff(options: DiffOptions, io: CliIo, deps: ApplyDeps): Promise<boolean> {
  const sources = await readValidSources(options.filename, io, deps, 'nothing was compared')
  const client = connect(options, deps.env)
  const preview = await client.applyManifests(combine(sources).text, true)
  const terminal = terminalOf(io, deps.env)
  let differs = false
  for (const source of sources) {
    for (const { manifest } of parseManifests(source.text, source.file).manifests) {
      if (manifest.kind !== 'Deployment') {
        // The hub never shows a Secret's values, so there is nothing to compare them with; a Config is skipped alike.
        io.err(
          `${manifest.kind.toLowerCase()}/${manifest.metadata.name}: not compared (${manifest.kind}s are not diffed; shoal describe ${manifest.kind.toLowerCase()} ${manifest.metadata.name} shows its version and keys)\n`,
        )
        continue
      }
      const live = await liveDeployment(client, manifest.metadata.name)
      const result = describeDiff(
        { manifest, file: source.file },
        live,
        preview.results.find((r) => r.kind === 'Deployment' && r.name === manifest.metadata.name),
        terminal,
      )
      io.out(result.text)
      differs ||= result.differs
    }
  }
  return differs
}

async function liveDeployment(client: HubClient, name: string): Promise<DeploymentDetailView | null> {
  try {
    return await client.getDeployment(name)
  } catch (error) {
    if (error instanceof HubRequestError && error.status === 404) return null
    throw error
  }
}

import { type Manifest } from '../../protocol/index.js'
import { formatManifestError, parseManifests, type ManifestError, type ParsedManifest } from '../../protocol/manifest-parse.js'

/** Manifests refused as a whole: nothing is applied when one document is wrong. */
export class ManifestsRefusedError extends Error {
  constructor(
    message: string,
    /** One entry per problem, located in its document; absent when there was nothing to read. */
    readonly problems?: readonly ManifestProblem[],
  ) {
    super(message)
    this.name = 'ManifestsRefusedError'
  }
}

export interface ManifestProblem {
  readonly documentIndex: number
  readonly path: string
  readonly message: string
  readonly line?: number
  readonly column?: number
}

/** One manifest of an apply, and the document as it was written (field order, no defaults). */
export interface AppliedManifest {
  readonly manifest: Manifest
  readonly written: Readonly<Record<string, unknown>>
}

/**
 * The manifests of one apply (YAML or JSON, several documents): all valid and at least one, or
 * ManifestsRefusedError with every problem and where it is. Pure.
 */
export function readManifests(text: string, source: string): AppliedManifest[] {
  const parsed = parseManifests(text, source)
  if (parsed.errors.length > 0) {
    throw new ManifestsRefusedError(
      `${parsed.errors.length} problem(s) in the manifests: ${parsed.errors.map(formatManifestError).join('; ')}`,
      parsed.errors.map(problemOf),
    )
  }
  if (parsed.manifests.length === 0) throw new ManifestsRefusedError('no manifests in the request body')
  const undeliverable = cronJobsRefused(parsed.manifests)
  if (undeliverable.length > 0) {
    throw new ManifestsRefusedError(`${undeliverable.length} problem(s) in the manifests: ${undeliverable.map((d) => d.message).join('; ')}`, undeliverable)
  }
  const duplicates = duplicateNames(parsed.manifests)
  if (duplicates.length > 0) {
    throw new ManifestsRefusedError(`${duplicates.length} problem(s) in the manifests: ${duplicates.map((d) => d.message).join('; ')}`, duplicates)
  }
  return parsed.manifests.map((m) => ({ manifest: m.manifest, written: m.written }))
}

/**
 * A CronJob is a valid manifest (`shoal validate` reads it, and an agent runs it from its
 * --static-dir), but the hub does not yet carry cron jobs in nodes' desired documents: refused,
 * rather than stored and silently never run.
 */
function cronJobsRefused(manifests: readonly ParsedManifest[]): ManifestProblem[] {
  return manifests.flatMap(({ documentIndex, manifest, line, column }) =>
    manifest.kind === 'CronJob'
      ? [
          {
            documentIndex,
            path: 'kind',
            message: `CronJob "${manifest.metadata.name}": this hub does not deliver cron jobs to nodes yet; put the manifest in an agent's --static-dir (docs/jobs.md)`,
            line,
            column,
          },
        ]
      : [],
  )
}

/** A kind and name given twice in one apply: which one was meant is not the hub's guess to make. */
function duplicateNames(manifests: readonly ParsedManifest[]): ManifestProblem[] {
  const first = new Map<string, number>()
  const problems: ManifestProblem[] = []
  for (const { documentIndex, manifest, line, column } of manifests) {
    const id = `${manifest.kind}/${manifest.metadata.name}`
    const earlier = first.get(id)
    if (earlier === undefined) first.set(id, documentIndex)
    else
      problems.push({
        documentIndex,
        path: 'metadata.name',
        message: `${manifest.kind} "${manifest.metadata.name}" is already defined in document ${earlier}; names must be unique`,
        line,
        column,
      })
  }
  return problems
}

function problemOf(error: ManifestError): ManifestProblem {
  return {
    documentIndex: error.documentIndex,
    path: error.path,
    message: error.message,
    ...(error.line !== undefined ? { line: error.line, column: error.column } : {}),
  }
}

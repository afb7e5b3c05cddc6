import { type Manifest } from '../../protocol/index.js'
import { formatManifestError, parseManifests, type ManifestError } from '../../protocol/manifest-parse.js'

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
  return parsed.manifests.map((m) => ({ manifest: m.manifest, written: m.written }))
}

function problemOf(error: ManifestError): ManifestProblem {
  return {
    documentIndex: error.documentIndex,
    path: error.path,
    message: error.message,
    ...(error.line !== undefined ? { line: error.line, column: error.column } : {}),
  }
}

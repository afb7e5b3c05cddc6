import { type Manifest } from '../../protocol/index.js'
import { JOB_COPY_PREFIX } from '../jobs/copy-names.js'
import { templateRefs } from '../config-objects/template-refs.js'
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
  const refused = undeliverable(parsed.manifests)
  if (refused.length > 0) {
    throw new ManifestsRefusedError(`${refused.length} problem(s) in the manifests: ${refused.map((d) => d.message).join('; ')}`, refused)
  }
  const clashing = jobPrefixRefused(parsed.manifests)
  if (clashing.length > 0) {
    throw new ManifestsRefusedError(`${clashing.length} problem(s) in the manifests: ${clashing.map((d) => d.message).join('; ')}`, clashing)
  }
  const duplicates = duplicateNames(parsed.manifests)
  if (duplicates.length > 0) {
    throw new ManifestsRefusedError(`${duplicates.length} problem(s) in the manifests: ${duplicates.map((d) => d.message).join('; ')}`, duplicates)
  }
  return parsed.manifests.map((m) => ({ manifest: m.manifest, written: m.written }))
}

/** Hub Deployments may not be named so: `cron-<job>-<id>` names the runs of the hub's cron jobs on a node. */
export const CRON_RUN_NAME_PREFIX = 'cron-'

/**
 * What the hub cannot carry as asked: a Deployment named `cron-…` (its copies could take the name
 * of a cron job's run on a node), and a CronJob whose runs refer to Configs or Secrets (the hub
 * does not resolve values for cron jobs yet: refused, rather than delivered and failing at run time).
 */
function undeliverable(manifests: readonly ParsedManifest[]): ManifestProblem[] {
  return manifests.flatMap(({ documentIndex, manifest, line, column }): ManifestProblem[] => {
    const at = { documentIndex, ...(line !== undefined ? { line, column } : {}) }
    if (manifest.kind === 'Deployment' && manifest.metadata.name.startsWith(CRON_RUN_NAME_PREFIX))
      return [
        {
          ...at,
          path: 'metadata.name',
          message: `Deployment "${manifest.metadata.name}": a name may not begin with ${CRON_RUN_NAME_PREFIX} (cron job runs on the nodes are named ${CRON_RUN_NAME_PREFIX}<job>-<id>); rename it`,
        },
      ]
    if (manifest.kind === 'CronJob') {
      const refs = templateRefs(manifest.spec.jobTemplate.template)
      if (refs.length > 0)
        return [
          {
            ...at,
            path: 'spec.jobTemplate.template',
            message: `CronJob "${manifest.metadata.name}" refers to ${refs.map((r) => `${r.kind} ${r.name} (${r.field})`).join(', ')}: cron jobs take literal values only for now (docs/jobs.md)`,
          },
        ]
    }
    return []
  })
}

/**
 * Job copies are workloads named `job-<job>-<index>-<attempt>` (hub/jobs/copy-names.ts), and a
 * Deployment's are `<name>` or `<name>-<N>`: a Deployment named `job-…` could take a copy's
 * name, so it is refused. A Job's template may not refer to Configs or Secrets yet: the hub does
 * not resolve values for job copies, and a copy that cannot get them would never start.
 */
function jobPrefixRefused(manifests: readonly ParsedManifest[]): ManifestProblem[] {
  return manifests.flatMap(({ documentIndex, manifest, line, column }) => {
    if (manifest.kind === 'Deployment' && manifest.metadata.name.startsWith(JOB_COPY_PREFIX))
      return [
        {
          documentIndex,
          path: 'metadata.name',
          message: `Deployment "${manifest.metadata.name}": names beginning with ${JOB_COPY_PREFIX} are kept for the copies of Jobs (job-<job>-<index>-<attempt>); choose another name`,
          line,
          column,
        },
      ]
    if (manifest.kind === 'Job') {
      const refs = templateRefs(manifest.spec.template)
      if (refs.length > 0)
        return [
          {
            documentIndex,
            path: `spec.template.${refs[0]?.field ?? ''}`,
            message: `Job "${manifest.metadata.name}": a Job's template cannot refer to Configs or Secrets yet (${refs.map((r) => `${r.kind} ${r.name}`).join(', ')}); put the values in env`,
            line,
            column,
          },
        ]
    }
    return []
  })
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

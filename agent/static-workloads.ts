import { readFileSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { type CronJob, MAX_BYTES, type Workload } from '../protocol/index.js'
import { formatManifestError, parseManifests } from '../protocol/manifest-parse.js'
import { valueRefs } from './values/resolve-values.js'

import { CRON_RUN_STEM, STATIC_PREFIX } from './static-names.js'

export { CRON_RUN_STEM, STATIC_PREFIX }

export interface StaticLoadResult {
  readonly workloads: Workload[]
  /** The CronJobs, which this agent runs by itself (agent/jobs/). */
  readonly cronJobs: CronJob[]
  /** One line per invalid file or document; valid documents still load. */
  readonly errors: string[]
}

/**
 * Reads Deployment and CronJob manifests from a directory, like kubelet static pods: each
 * Deployment runs once on this node, with no hub involved; each CronJob fires on this node's
 * clock. Placement fields (selector, replicas, mode) do not apply here. Workload names get a
 * `static-` prefix so they never collide with what the hub sends.
 */
export function loadStaticWorkloads(dir: string): StaticLoadResult {
  const workloads: Workload[] = []
  const cronJobs: CronJob[] = []
  const errors: string[] = []
  let files: string[]
  try {
    files = readdirSync(dir)
      .filter((f) => /\.(ya?ml|json)$/.test(f))
      .sort()
  } catch (error) {
    return { workloads, cronJobs, errors: [`cannot read static directory ${dir}: ${(error as Error).message}`] }
  }
  /** Workload name → where it was first defined, for messages about a second definition. */
  const seen = new Map<string, { deployment: string; where: string }>()
  /** CronJob name → where it was first defined. */
  const seenCron = new Map<string, string>()
  for (const file of files) {
    const path = join(dir, file)
    let text: string
    try {
      // Checked before reading, so a stray huge file costs a small device nothing; the parser
      // then bounds the nesting depth (MAX_NESTING_DEPTH).
      const { size } = statSync(path)
      if (size > MAX_BYTES.manifest) {
        errors.push(`${path}: ${size} bytes is over the ${MAX_BYTES.manifest}-byte limit for a manifest file; skipped`)
        continue
      }
      text = readFileSync(path, 'utf8')
    } catch (error) {
      errors.push(`${path}: ${(error as Error).message}`)
      continue
    }
    const result = parseManifests(text, path)
    errors.push(...result.errors.map(formatManifestError))
    for (const { manifest, documentIndex, line, column } of result.manifests) {
      const where = `${path}:${line}:${column}`
      if (manifest.kind === 'CronJob') {
        const problem = cronJobProblem(manifest, seenCron.get(manifest.metadata.name))
        if (problem !== null) errors.push(`${where}: document ${documentIndex}: ${problem}`)
        else {
          seenCron.set(manifest.metadata.name, where)
          cronJobs.push(manifest)
        }
        continue
      }
      if (manifest.kind !== 'Deployment') {
        errors.push(
          `${where}: document ${documentIndex}: a ${manifest.kind} needs the hub (it is resolved and sealed per node there); a static directory holds Deployments and CronJobs only`,
        )
        continue
      }
      if (manifest.metadata.name.startsWith(CRON_RUN_STEM)) {
        errors.push(
          `${where}: document ${documentIndex}: metadata.name: a static Deployment's name may not begin with ${CRON_RUN_STEM} (static-${CRON_RUN_STEM}… names are the workloads of cron job runs); rename it`,
        )
        continue
      }
      const name = `${STATIC_PREFIX}${manifest.metadata.name}`.slice(0, 63).replace(/-+$/, '')
      const refs = valueRefs(manifest.spec.template)
      if (refs.length > 0) {
        errors.push(
          `${where}: document ${documentIndex}: spec.template: ${manifest.metadata.name} refers to Configs or Secrets (${refs.join('; ')}), which only the hub provides; a static workload takes literal values only`,
        )
        continue
      }
      const first = seen.get(name)
      if (first) {
        // Two long names can also meet here once the prefix has pushed them past 63 characters.
        const why =
          first.deployment === manifest.metadata.name
            ? `${manifest.metadata.name} is defined twice in the static directory (first at ${first.where})`
            : `${manifest.metadata.name} becomes workload ${name}, already taken by ${first.deployment} (${first.where}); shorten one of the names`
        errors.push(`${where}: document ${documentIndex}: metadata.name: ${why}`)
        continue
      }
      seen.set(name, { deployment: manifest.metadata.name, where })
      workloads.push({ name, deployment: manifest.metadata.name, revision: 1, template: manifest.spec.template })
    }
  }
  return { workloads, cronJobs, errors }
}

/** Why a CronJob cannot run from the static directory, or null when it can. */
function cronJobProblem(job: CronJob, firstWhere: string | undefined): string | null {
  if (firstWhere !== undefined) return `metadata.name: CronJob ${job.metadata.name} is defined twice in the static directory (first at ${firstWhere})`
  // Placement says which of the hub's nodes run a cron job; a static one runs on this node, so a
  // selector here would be a promise nothing keeps: refused rather than ignored.
  const placement = (['selector', 'requires'] as const).filter((field) => job.spec[field] !== undefined)
  if (placement.length > 0)
    return `spec.${placement[0]}: ${job.metadata.name} has a placement (${placement.join(', ')}), which is the hub's to decide; a static cron job runs on this node: remove it`
  const refs = valueRefs(job.spec.jobTemplate.template)
  if (refs.length > 0)
    return `spec.jobTemplate.template: ${job.metadata.name} refers to Configs or Secrets (${refs.join('; ')}), which only the hub provides; a static cron job takes literal values only`
  return null
}

import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { formatManifestError, parseManifests, type Workload } from '../protocol/index.js'

export const STATIC_PREFIX = 'static-'

export interface StaticLoadResult {
  readonly workloads: Workload[]
  /** One line per invalid file or document; valid documents still load. */
  readonly errors: string[]
}

/**
 * Reads Deployment manifests from a directory, like kubelet static pods: each runs once on this
 * node, with no hub involved. Placement fields (selector, replicas, mode) do not apply here.
 * Workload names get a `static-` prefix so they never collide with what the hub sends.
 */
export function loadStaticWorkloads(dir: string): StaticLoadResult {
  const workloads: Workload[] = []
  const errors: string[] = []
  let files: string[]
  try {
    files = readdirSync(dir).filter((f) => /\.(ya?ml|json)$/.test(f)).sort()
  } catch (error) {
    return { workloads, errors: [`cannot read static directory ${dir}: ${(error as Error).message}`] }
  }
  const seen = new Set<string>()
  for (const file of files) {
    const path = join(dir, file)
    let text: string
    try {
      text = readFileSync(path, 'utf8')
    } catch (error) {
      errors.push(`${path}: ${(error as Error).message}`)
      continue
    }
    const result = parseManifests(text, path)
    errors.push(...result.errors.map(formatManifestError))
    for (const { manifest, documentIndex } of result.manifests) {
      const name = `${STATIC_PREFIX}${manifest.metadata.name}`.slice(0, 63).replace(/-+$/, '')
      if (seen.has(name)) {
        errors.push(`${path}: document ${documentIndex}: metadata.name: ${manifest.metadata.name} is defined twice in the static directory`)
        continue
      }
      seen.add(name)
      workloads.push({ name, deployment: manifest.metadata.name, revision: 1, template: manifest.spec.template })
    }
  }
  return { workloads, errors }
}

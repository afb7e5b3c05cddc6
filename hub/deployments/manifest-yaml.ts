import { stringify } from 'yaml'
import { canonicalJson } from '../../protocol/index.js'
import { validateManifestValue } from '../../protocol/manifest-parse.js'
import type { DeploymentRecord } from '../store/deployment-repository.js'

/**
 * A deployment's manifest as YAML for people: the document as it was last applied (fields in the
 * order written, no defaults), or, when the manifest has changed since without an apply (a
 * rollout undo or restart) or was applied before the hub kept it, the stored manifest with its
 * defaults. Pure.
 */
export function manifestYaml(deployment: Pick<DeploymentRecord, 'manifest' | 'applied'>): string {
  if (deployment.applied !== null) {
    const parsed = validateManifestValue(deployment.applied)
    if ('manifest' in parsed && canonicalJson(parsed.manifest) === canonicalJson(deployment.manifest)) return stringify(deployment.applied)
  }
  return stringify(deployment.manifest)
}

import { type DeploymentInput } from '../../protocol/index.js'
import { validateManifestValue } from '../../protocol/manifest-parse.js'
import type { NoteTaker } from './notes.js'

/** A converted service, as the merge reads and replaces it. */
export interface Converted {
  readonly service: string
  readonly manifest: DeploymentInput
}

type Template = DeploymentInput['spec']['template']
type OneContainer = Exclude<Template, { containers: unknown }>

/**
 * Services that run in another's network namespace (`network_mode: service:X`) become containers
 * of X's copy, as compose runs them: one namespace, so they reach each other on localhost. The
 * joined service's own replicas, placement and labels give way to X's. A service that joins one
 * not converted (or joins in a loop) stays a deployment of its own, with a note. Pure.
 */
export function joinSharedNetworks(converted: readonly Converted[], joins: ReadonlyMap<string, string>, notesOf: (service: string) => NoteTaker): Converted[] {
  const byService = new Map(converted.map((c) => [c.service, c]))
  const rootOf = (service: string): string | null => {
    const seen = new Set<string>()
    let at = service
    for (let next = joins.get(at); next !== undefined; next = joins.get(at)) {
      if (seen.has(next) || !byService.has(next)) return null
      seen.add(at)
      at = next
    }
    return at === service ? null : at
  }
  const merged = new Map<string, Converted>()
  const absorbed = new Set<string>()
  for (const { service, manifest } of converted) {
    const target = joins.get(service)
    if (target === undefined) continue
    const root = rootOf(service)
    const notes = notesOf(service)
    if (root === null) {
      notes.notMapped(
        ['network_mode'],
        `service:${target}: ${byService.has(target) ? 'joins in a loop' : `service ${target} was not converted`}; this service gets a network of its own`,
      )
      continue
    }
    const host = merged.get(root) ?? byService.get(root)
    if (!host) continue
    const joined = withContainer(host.manifest, manifest)
    if (joined === null) {
      notes.notMapped(
        ['network_mode'],
        `service:${target}: as a container of ${host.manifest.metadata.name} it does not validate; this service gets a network of its own`,
      )
      continue
    }
    merged.set(root, { service: root, manifest: joined })
    absorbed.add(service)
    notes.note(
      ['network_mode'],
      `service:${target}: runs as container ${manifest.metadata.name} of ${host.manifest.metadata.name}'s copy (one network namespace); its replicas, placement and labels are ${host.manifest.metadata.name}'s`,
    )
  }
  return converted.filter((c) => !absorbed.has(c.service)).map((c) => merged.get(c.service) ?? c)
}

/** The host's manifest with the joining service's container added (the host made several-container first); null if that is not valid. */
function withContainer(host: DeploymentInput, joining: DeploymentInput): DeploymentInput | null {
  const template = host.spec.template
  const pod = 'containers' in template ? template : podOf(template as OneContainer, host.metadata.name)
  const { network: _network, ...fields } = joining.spec.template as OneContainer
  const candidate: DeploymentInput = {
    ...host,
    spec: { ...host.spec, template: { ...pod, containers: [...pod.containers, { name: joining.metadata.name, ...fields }] } },
  }
  return 'manifest' in validateManifestValue(candidate) ? candidate : null
}

function podOf(template: OneContainer, name: string): Extract<Template, { containers: unknown }> {
  const { network, annotations, ...fields } = template
  return { ...(network !== undefined ? { network } : {}), ...(annotations !== undefined ? { annotations } : {}), containers: [{ name, ...fields }] }
}

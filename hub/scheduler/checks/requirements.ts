import { listed, type Checker } from './checker.js'

/** `requires.arch`: the node's CPU architecture is one of those listed. */
export const archCheck: Checker = {
  name: 'arch',
  kind: 'eligibility',
  check(node, demand) {
    const arches: readonly string[] = demand.spec.requires?.arch ?? []
    if (arches.length === 0 || arches.includes(node.arch)) return null
    return { check: 'arch', reason: `are not arch ${arches.join(' or ')}` }
  },
}

/** `requires.capabilities`: the node has every capability listed (gpu, cuda, …). */
export const capabilitiesCheck: Checker = {
  name: 'capabilities',
  kind: 'eligibility',
  check(node, demand) {
    const missing = (demand.spec.requires?.capabilities ?? []).filter((capability) => !node.capabilities.includes(capability))
    if (missing.length === 0) return null
    return { check: 'capabilities', reason: `lack ${listed('capability', 'capabilities', missing)}` }
  },
}

/** `requires.profiles`: the node runs one of the firmware profiles listed. */
export const profileCheck: Checker = {
  name: 'profile',
  kind: 'eligibility',
  check(node, demand) {
    const profiles = demand.spec.requires?.profiles ?? []
    if (profiles.length === 0 || profiles.includes(node.profile)) return null
    return { check: 'profile', reason: `are not profile ${profiles.join(' or ')}` }
  },
}

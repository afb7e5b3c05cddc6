import { type NodePolicy, policyRefusals, requiredDevices } from '../../protocol/index.js'
import type { ContainerWorkload } from '../runtime/runtime.js'
import type { DerivedState } from './workload-status.js'

/**
 * Why a workload may not run here now. `refused`: the node's policy forbids what it asks for,
 * so none of it runs; `waiting`: a device it needs is absent (or, for a container of a
 * several-container copy, one that must come first has not: `missing` is empty then), so it is
 * not started (or restarted) until it is there.
 */
export type Hold =
  | { readonly kind: 'refused'; readonly reason: string }
  | { readonly kind: 'waiting'; readonly reason: string; readonly missing: readonly string[] }

/** The node's side of admission: its policy and the devices present now. */
export interface NodeAdmission {
  readonly policy: NodePolicy
  readonly devices: () => readonly string[]
}

/** Each desired workload the node will not run as it stands, with why. Pure. */
export function holdsFor(workloads: readonly ContainerWorkload[], policy: NodePolicy, devices: readonly string[]): Map<string, Hold> {
  const holds = new Map<string, Hold>()
  const present = new Set(devices)
  for (const workload of workloads) {
    const refusals = policyRefusals(workload.template, policy)
    if (refusals.length > 0) {
      holds.set(workload.name, { kind: 'refused', reason: `refused by node policy: ${refusals.join('; ')}` })
      continue
    }
    // requires.devices is the hub's to place by; the agent waits for the devices the container is given.
    const missing = requiredDevices(undefined, workload.template.devices).filter((path) => !present.has(path))
    if (missing.length > 0) holds.set(workload.name, { kind: 'waiting', reason: `waiting for device ${missing.join(', ')}`, missing })
  }
  return holds
}

/**
 * The state to report for a held workload. Refused: failed, whatever container it still had.
 * Waiting with no container: pending. Waiting with one: its own state, with the missing device
 * as the reason, so an unplugged adapter reads as that and not as a crash loop without cause.
 */
export function heldState(derived: DerivedState, hold: Hold | undefined, hasContainer: boolean): DerivedState {
  if (hold === undefined) return derived
  if (hold.kind === 'refused') return { state: 'failed', health: 'none', exitCode: null, message: hold.reason }
  if (!hasContainer) return { state: 'pending', health: 'none', exitCode: null, message: hold.reason }
  const why = hold.missing.length > 0 ? `device ${hold.missing.join(', ')} missing` : hold.reason
  return { ...derived, message: `${why}${derived.message ? `; ${derived.message}` : ''}` }
}

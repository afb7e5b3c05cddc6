import { copyPolicyRefusals } from '../../../protocol/pod-template.js'
import { listed, type Checker } from './checker.js'

/**
 * The node's own policy lets it run the template (privileges, capabilities, host paths, devices).
 * Eligibility: the agent refuses such a copy outright, so a copy whose template or node policy
 * changed to this is moved off rather than left refused.
 */
export const policyCheck: Checker = {
  name: 'policy',
  kind: 'eligibility',
  check(node, demand) {
    const refusals = copyPolicyRefusals(demand.spec.template, node.policy)
    if (refusals.length === 0) return null
    return { check: 'policy', reason: `refuse it by node policy (${refusals.join(', ')})` }
  },
}

/**
 * The node has every device the copy needs (`requires.devices` and the template's devices).
 * Admission only: a device unplugged under a placed copy (a loose cable, an adapter resetting)
 * is the agent's to report on the copy, which starts again when the device is back; removing
 * the copy would only leave it pending, as the device is usually on that node alone.
 */
export const devicesCheck: Checker = {
  name: 'devices',
  kind: 'admission',
  check(node, demand) {
    const missing = demand.devices.filter((device) => !node.devices.includes(device))
    if (missing.length === 0) return null
    return { check: 'devices', reason: `lack ${listed('device', 'devices', missing)}` }
  },
}

import { DEFAULT_NODE_POLICY, type HostPathRule, type NodePolicy } from '../../protocol/index.js'
import type { FirmwareProfile } from '../../firmware-profiles/schema.js'
import { memoryBytes } from '../../protocol/quantity.js'
import type { ContainerLogLimits } from '../runtime/runtime.js'
import { DEFAULT_CONTAINER_LOGS } from '../runtime/docker-container-config.js'

/** What the node's operator allowed on the command line, on top of the firmware profile's policy. */
export interface PolicyFlags {
  readonly allowPrivileged: boolean
  readonly allowCapabilities: readonly string[]
  readonly allowHostPaths: readonly HostPathRule[]
  readonly devicePatterns: readonly string[]
}

export const NO_POLICY_FLAGS: PolicyFlags = { allowPrivileged: false, allowCapabilities: [], allowHostPaths: [], devicePatterns: [] }

/**
 * The node's policy: the built-in default, each field the firmware profile sets replacing it,
 * then the flags added. Only the node's own operator writes either: nothing from the hub does.
 */
export function resolveNodePolicy(profile: FirmwareProfile['agent']['policy'], flags: PolicyFlags): NodePolicy {
  const base: NodePolicy = {
    privileged: profile?.privileged ?? DEFAULT_NODE_POLICY.privileged,
    capabilities: profile?.capabilities ?? DEFAULT_NODE_POLICY.capabilities,
    hostPaths: profile?.hostPaths ?? DEFAULT_NODE_POLICY.hostPaths,
    devices: profile?.devices ?? DEFAULT_NODE_POLICY.devices,
  }
  // A flag for a path the profile allows read-only widens it to read-write: the flag is the later word.
  const flagged = new Set(flags.allowHostPaths.map((rule) => rule.path))
  return {
    privileged: base.privileged || flags.allowPrivileged,
    capabilities: unique([...base.capabilities, ...flags.allowCapabilities]),
    hostPaths: [...base.hostPaths.filter((rule) => !flagged.has(rule.path)), ...flags.allowHostPaths],
    devices: unique([...base.devices, ...flags.devicePatterns]),
  }
}

/** The container log bound the firmware profile sets, or 10Mi x 3. */
export function containerLogLimits(profile: FirmwareProfile['agent']['containerLogs']): ContainerLogLimits {
  return profile ? { maxSizeBytes: memoryBytes(profile.maxSize), maxFiles: profile.maxFiles } : DEFAULT_CONTAINER_LOGS
}

function unique(items: readonly string[]): string[] {
  return [...new Set(items)]
}

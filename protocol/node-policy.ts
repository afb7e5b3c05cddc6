import { z } from 'zod'

/** An absolute path on the node or in a container, without `..` segments. */
export const AbsolutePath = z
  .string()
  .min(2)
  .max(4096)
  .startsWith('/', 'must be an absolute path')
  .refine((path) => !path.split('/').includes('..'), 'must not contain .. segments')

/** A device node on the host, such as /dev/ttyUSB0. */
export const DevicePath = AbsolutePath.refine((path) => path.startsWith('/dev/') && path.length > 5, 'must be a device path under /dev/')

/** A glob over device paths: `*` any run of characters but `/`, `?` one of them (such as /dev/ttyUSB*). */
export const DevicePattern = z
  .string()
  .min(6)
  .max(256)
  .regex(/^\/dev\/[^\s]+$/, 'must be a glob under /dev/, such as /dev/ttyUSB* or /dev/i2c-?')

/** A Linux capability, as Docker takes it (NET_ADMIN or CAP_NET_ADMIN; ALL for every one). */
export const Capability = z.string().regex(/^(CAP_)?[A-Z][A-Z0-9_]{1,40}$/, 'must be a Linux capability such as NET_ADMIN or SYS_TIME')

export const HostPathRule = z.strictObject({
  path: AbsolutePath.describe('this host path and everything below it'),
  readOnly: z.boolean().describe('true: containers may mount it read-only only'),
})
export type HostPathRule = z.infer<typeof HostPathRule>

/**
 * What a node lets its containers have, set by the node's own operator (agent flags and its
 * firmware profile) and reported to the hub, which places nothing a node would refuse. A signed
 * document cannot widen it: the agent refuses a workload that asks for more.
 */
export const NodePolicy = z.strictObject({
  privileged: z.boolean().describe('whether privileged containers may run'),
  capabilities: z.array(Capability).max(64).describe('capabilities a container may add (ALL: any)'),
  hostPaths: z.array(HostPathRule).max(64).describe('host paths containers may mount'),
  devices: z.array(DevicePattern).max(64).describe('device paths containers may be given; also the devices the node discovers and reports'),
})
export type NodePolicy = z.infer<typeof NodePolicy>

/** The policy of a node that was told nothing: no privileges, no capabilities, the time zone read-only, the usual edge devices. */
export const DEFAULT_NODE_POLICY: NodePolicy = {
  privileged: false,
  capabilities: [],
  hostPaths: [
    { path: '/etc/localtime', readOnly: true },
    { path: '/etc/timezone', readOnly: true },
  ],
  devices: ['/dev/ttyUSB*', '/dev/ttyACM*', '/dev/ttyAMA*', '/dev/video*', '/dev/i2c-*', '/dev/gpiochip*', '/dev/spidev*'],
}

/** The parts of a container template a node policy judges. */
export interface PolicyDemand {
  readonly devices?: ReadonlyArray<{ readonly path: string }> | undefined
  readonly volumes?: ReadonlyArray<{ readonly hostPath?: string | undefined; readonly readOnly?: boolean | undefined }> | undefined
  readonly securityContext?:
    | { readonly privileged?: boolean | undefined; readonly capabilities?: { readonly add?: readonly string[] | undefined } | undefined }
    | undefined
}

/**
 * Everything a template asks for that the policy does not allow, one short phrase each
 * ("privileged not allowed"); empty when the node may run it. Pure: the hub's scheduler and
 * the agent judge with the same rule.
 */
export function policyRefusals(template: PolicyDemand, policy: NodePolicy): string[] {
  const refusals: string[] = []
  if (template.securityContext?.privileged === true && !policy.privileged) refusals.push('privileged not allowed')
  const allowedCaps = new Set(policy.capabilities.map(capabilityName))
  for (const cap of template.securityContext?.capabilities?.add ?? []) {
    if (!allowedCaps.has('ALL') && !allowedCaps.has(capabilityName(cap))) refusals.push(`capability ${capabilityName(cap)} not allowed`)
  }
  for (const volume of template.volumes ?? []) {
    if (volume.hostPath === undefined) continue
    const rule = hostPathRule(volume.hostPath, policy.hostPaths)
    if (rule === undefined) refusals.push(`host path ${volume.hostPath} not allowed`)
    else if (rule.readOnly && volume.readOnly !== true) refusals.push(`host path ${volume.hostPath} allowed read-only only (set readOnly: true)`)
  }
  for (const device of template.devices ?? []) {
    if (!policy.devices.some((pattern) => devicePatternMatches(pattern, device.path))) refusals.push(`device ${device.path} not allowed`)
  }
  return refusals
}

/** NET_ADMIN for CAP_NET_ADMIN: Docker takes both spellings. */
export function capabilityName(cap: string): string {
  return cap.startsWith('CAP_') ? cap.slice(4) : cap
}

/** The most specific rule covering a host path (the path itself or a directory above it). */
function hostPathRule(path: string, rules: readonly HostPathRule[]): HostPathRule | undefined {
  const normalized = trimSlash(path)
  let best: HostPathRule | undefined
  for (const rule of rules) {
    const base = trimSlash(rule.path)
    const covers = normalized === base || normalized.startsWith(base === '' ? '/' : `${base}/`)
    if (covers && (best === undefined || base.length > trimSlash(best.path).length)) best = rule
  }
  return best
}

const trimSlash = (path: string): string => (path.length > 1 ? path.replace(/\/+$/, '') : '')

/** Whether a device path matches a glob pattern (`*` within one path segment, `?` one character). */
export function devicePatternMatches(pattern: string, path: string): boolean {
  return globRegex(pattern).test(path)
}

function globRegex(pattern: string): RegExp {
  const body = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '[^/]*')
    .replace(/\?/g, '[^/]')
  return new RegExp(`^${body}$`)
}

/** The device paths a template needs on its node: those it asks for by name, and those it passes in. */
export function requiredDevices(requires: readonly string[] | undefined, devices: ReadonlyArray<{ readonly path: string }> | undefined): string[] {
  return [...new Set([...(requires ?? []), ...(devices ?? []).map((device) => device.path)])].sort()
}

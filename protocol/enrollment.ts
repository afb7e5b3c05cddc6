import { z } from 'zod'
import { Inventory } from './inventory.js'
import { Labels, Name, NodeId } from './primitives.js'

export const EnrollmentRequest = z.strictObject({
  token: z.string().min(16).max(256),
  name: Name,
  labels: Labels.default({}),
  inventory: Inventory,
  profile: Name.optional(),
  agentVersion: z.string().max(64),
})
export type EnrollmentRequest = z.infer<typeof EnrollmentRequest>

/** The node's own identity and credentials; it pins `hubPublicKey` and refuses any other signer. */
/**
 * The id a hub gives a node whose requested name is taken: the name (cut to fit) and six hex
 * digits. The agent uses the inverse to keep accepting its original `--name` after a restart.
 */
export function renamedNodeId(name: string, hex6: string): string {
  return `${name.slice(0, 56)}-${hex6}`
}

export function isRenamedFrom(nodeId: string, name: string): boolean {
  const stem = `${name.slice(0, 56)}-`
  return nodeId.startsWith(stem) && /^[0-9a-f]{6}$/.test(nodeId.slice(stem.length))
}

export const EnrollmentResponse = z.strictObject({
  nodeId: NodeId,
  hubPublicKey: z.string().min(1),
  transport: z.enum(['mqtt', 'nats']),
  brokerUrl: z.string().min(1),
  username: z.string().min(1),
  password: z.string().min(1),
})
export type EnrollmentResponse = z.infer<typeof EnrollmentResponse>

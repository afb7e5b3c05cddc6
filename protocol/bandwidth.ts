import { z } from 'zod'
import { LabelValue } from './primitives.js'
import { MemoryQuantity } from './quantity.js'

/** A pull window in the node's local time, "HH:MM-HH:MM"; an end before the start crosses midnight. */
const WINDOW_PATTERN = /^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]|24):([0-5]\d)$/

export const PullWindow = z
  .string()
  .regex(WINDOW_PATTERN, 'must be HH:MM-HH:MM in the node local time, such as 01:00-05:00 or 22:00-02:00')
  .refine((text) => {
    const match = WINDOW_PATTERN.exec(text)
    if (!match) return true
    const start = Number(match[1]) * 60 + Number(match[2])
    const end = Number(match[3]) * 60 + Number(match[4])
    return end <= 24 * 60 && start !== end
  }, 'must not start and end at the same minute, nor end after 24:00')
export type PullWindow = z.infer<typeof PullWindow>

/** Minutes after local midnight a window starts and ends (end may be below start: it crosses midnight). */
export function windowMinutes(window: string): { readonly start: number; readonly end: number } {
  const match = WINDOW_PATTERN.exec(window)
  if (!match) throw new RangeError(`not a pull window: ${JSON.stringify(window)}`)
  return { start: Number(match[1]) * 60 + Number(match[2]), end: Number(match[3]) * 60 + Number(match[4]) }
}

/**
 * When a node may spend bytes on image pulls: a monthly budget of bytes on its hub link and
 * image pulls together, windows in its local time, and the links it may pull over. Every field is
 * optional; a field absent sets no limit. Written in a firmware profile (`agent.bandwidth`) or
 * carried per node in the signed desired document (from `shoal.io/*` node labels).
 */
export const BandwidthRules = z.strictObject({
  monthlyBudget: MemoryQuantity.optional().describe('bytes the node may spend per calendar month (its local time), all categories together, e.g. 2Gi'),
  pullWindows: z
    .array(PullWindow)
    .min(1)
    .max(16)
    .optional()
    .describe('image pulls start only inside one of these windows of local time, e.g. ["01:00-05:00"]; 22:00-02:00 crosses midnight'),
  pullOnLinks: z.array(LabelValue).min(1).max(16).optional().describe("image pulls start only while the node's `link` label is one of these, e.g. [wired]"),
})
export type BandwidthRules = z.infer<typeof BandwidthRules>

/** The node label that says which link the node is on now (wired, wifi, lte ...). */
export const LINK_LABEL = 'link'

/** What the hub tells one node in its desired document: its own rules (from labels) and the link it is on. */
export const NodeBandwidth = BandwidthRules.extend({
  link: LabelValue.optional().describe("the node's `link` label as the hub has it"),
})
export type NodeBandwidth = z.infer<typeof NodeBandwidth>

/** What the agent counts its bytes under. `sessions` is for remote sessions, which do not exist yet: always 0. */
export const TrafficCategory = z.enum(['control', 'status', 'logs', 'images', 'sessions'])
export type TrafficCategory = z.infer<typeof TrafficCategory>
export const TRAFFIC_CATEGORIES: readonly TrafficCategory[] = TrafficCategory.options

const Bytes = z.number().int().nonnegative()

/** A node's bytes this calendar month (its local time), per category, and its budget if it has one. */
export const TrafficUsage = z.strictObject({
  month: z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'must be YYYY-MM'),
  bytes: z.strictObject({ control: Bytes, status: Bytes, logs: Bytes, images: Bytes, sessions: Bytes }),
  budgetBytes: Bytes.optional().describe('the monthly budget in force, absent when none'),
})
export type TrafficUsage = z.infer<typeof TrafficUsage>

import { z } from 'zod'
import { canonicalJson } from './canonical-json.js'
import { IsoTime, NodeId } from './primitives.js'
import { Heartbeat } from './status.js'

/**
 * Heartbeats that carry only what changed since the previous one. A delta names its base, the
 * heartbeat before it (by that heartbeat's `at`), and holds every field that differs from it; the
 * hub merges it into the whole heartbeat it holds for the node, which then becomes the base of the
 * next. A delta lost on the way (heartbeats are QoS 0) makes the next one name a base the hub does
 * not hold: the hub says so and the agent sends a full heartbeat. The rule is generic over the
 * Heartbeat schema's fields: a field added to Heartbeat is carried by deltas without a change here.
 *
 * Agents send deltas only after the hub has said it holds a base for them (HeartbeatBasis, on
 * the ack channel), so a hub from before deltas only ever sees full heartbeats.
 */

/** Fields every message carries itself: who, and when (the hub's clock-offset sample). */
type OwnField = 'nodeId' | 'at'
export type HeartbeatField = Exclude<keyof Heartbeat, OwnField>

/** The fields a delta may carry: every field of the Heartbeat schema but its own two. */
export const HEARTBEAT_FIELDS: readonly HeartbeatField[] = Object.keys(Heartbeat.shape).filter((key): key is HeartbeatField => key !== 'nodeId' && key !== 'at')
const FIELDS = HEARTBEAT_FIELDS

/**
 * Fields that advance with the clock: a delta leaves one out while it reads what the base plus
 * the time since the base predicts (within a second), and the merge predicts it the same way.
 */
export const CLOCK_ADVANCING_FIELDS: readonly HeartbeatField[] = ['uptimeSeconds']
const ADVANCE_TOLERANCE_SECONDS = 1

/** A full heartbeat every this many beats, deltas between (a hub that lost a base without saying so has it again by then). */
export const DEFAULT_FULL_HEARTBEAT_EVERY = 20

const HeartbeatChanges = Heartbeat.omit({ nodeId: true, at: true }).partial()

export const HeartbeatDelta = z.strictObject({
  nodeId: NodeId,
  at: IsoTime,
  base: IsoTime.describe('the `at` of the heartbeat before this one, which it is relative to'),
  set: HeartbeatChanges.optional().describe('fields whose value differs from the base (absent: none)'),
  unset: z
    .array(z.enum(FIELDS as [HeartbeatField, ...HeartbeatField[]]))
    .max(FIELDS.length)
    .optional()
    .describe('optional fields the base had and this heartbeat has not'),
})
export type HeartbeatDelta = z.infer<typeof HeartbeatDelta>

/**
 * What the hub holds for a node, on the ack channel: `base` is the `at` of the heartbeat it
 * will merge the next delta into, null when it holds none (send a full one). Sent in reply to the first
 * full heartbeat of each connection and to a delta whose base the hub does not hold. Agents from
 * before deltas refuse it as a malformed ack and carry on (once per connection, like
 * ReconnectHint); `kind` tells it from an Ack.
 */
export const HeartbeatBasis = z.strictObject({
  kind: z.literal('heartbeat-basis'),
  nodeId: NodeId,
  base: IsoTime.nullable(),
})
export type HeartbeatBasis = z.infer<typeof HeartbeatBasis>

/** Whether a parsed message on the ack channel means to be a heartbeat basis (then it must validate as one). */
export function isHeartbeatBasisShaped(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && (value as { kind?: unknown }).kind === 'heartbeat-basis'
}

/** A heartbeat message as it arrives: a delta names a base, a full one does not. */
export function isHeartbeatDeltaShaped(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.hasOwn(value, 'base')
}

function elapsedSeconds(from: string, to: string): number {
  return (Date.parse(to) - Date.parse(from)) / 1000
}

function predicted(field: HeartbeatField, base: Heartbeat, at: string): unknown {
  const value = base[field]
  if (CLOCK_ADVANCING_FIELDS.includes(field) && typeof value === 'number') return value + elapsedSeconds(base.at, at)
  return value
}

function same(field: HeartbeatField, expected: unknown, actual: unknown): boolean {
  if (CLOCK_ADVANCING_FIELDS.includes(field) && typeof expected === 'number' && typeof actual === 'number') {
    return Math.abs(expected - actual) <= ADVANCE_TOLERANCE_SECONDS
  }
  if (expected === undefined || actual === undefined) return expected === actual
  return canonicalJson(expected) === canonicalJson(actual)
}

/** The delta that turns `base` into `current` (both of one node), over `fields` (tests name others). Pure. */
export function heartbeatDelta(base: Heartbeat, current: Heartbeat, fields: readonly HeartbeatField[] = FIELDS): HeartbeatDelta {
  const set: Record<string, unknown> = {}
  const unset: HeartbeatField[] = []
  for (const field of fields) {
    const value = current[field]
    if (same(field, predicted(field, base, current.at), value)) continue
    if (value === undefined) unset.push(field)
    else set[field] = value
  }
  return {
    nodeId: current.nodeId,
    at: current.at,
    base: base.at,
    ...(Object.keys(set).length > 0 ? { set: set as HeartbeatDelta['set'] } : {}),
    ...(unset.length > 0 ? { unset } : {}),
  }
}

export class HeartbeatMergeError extends Error {
  readonly code = 'heartbeat-merge'
  constructor(
    readonly nodeId: string,
    message: string,
  ) {
    super(message)
    this.name = 'HeartbeatMergeError'
  }
}

/**
 * The whole heartbeat a delta stands for, given its base; throws HeartbeatMergeError when the
 * delta is not relative to this base or the result is no valid heartbeat (a required field unset).
 * Pure.
 */
export function mergeHeartbeat(base: Heartbeat, delta: HeartbeatDelta): Heartbeat {
  if (delta.nodeId !== base.nodeId) throw new HeartbeatMergeError(delta.nodeId, `a delta of ${delta.nodeId} cannot apply to ${base.nodeId}'s heartbeat`)
  if (delta.base !== base.at) throw new HeartbeatMergeError(delta.nodeId, `the delta is relative to the heartbeat of ${delta.base}, not ${base.at}`)
  const merged: Record<string, unknown> = { nodeId: base.nodeId, at: delta.at }
  for (const field of FIELDS) {
    const value = predicted(field, base, delta.at)
    if (value !== undefined) merged[field] = value
  }
  for (const field of delta.unset ?? []) delete merged[field]
  Object.assign(merged, delta.set ?? {})
  for (const field of CLOCK_ADVANCING_FIELDS) {
    // What the agent would have sampled, to its own precision: the sampler reports whole seconds.
    if (typeof merged[field] === 'number' && delta.set?.[field] === undefined) merged[field] = Math.round(merged[field] as number)
  }
  const parsed = Heartbeat.safeParse(merged)
  if (!parsed.success)
    throw new HeartbeatMergeError(
      delta.nodeId,
      `the merged heartbeat is invalid: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    )
  return parsed.data
}

/** What the agent sends next: a full heartbeat, or a delta against the base the hub holds. */
export type HeartbeatMessage = { readonly kind: 'full'; readonly heartbeat: Heartbeat } | { readonly kind: 'delta'; readonly delta: HeartbeatDelta }

/**
 * The agent's side: which heartbeat to send. `base` is the last heartbeat sent (whole), `hubHolds`
 * whether the hub speaks deltas and has not said it lacks ours (HeartbeatBasis), `sinceFull`
 * deltas sent since the last full one.
 * A full one when the hub holds none of ours, and every `fullEvery`-th beat (so a hub that lost
 * a base without telling has it again within that many beats). Pure.
 */
export function nextHeartbeat(
  state: { readonly base: Heartbeat | null; readonly hubHolds: boolean; readonly sinceFull: number },
  current: Heartbeat,
  fullEvery: number = DEFAULT_FULL_HEARTBEAT_EVERY,
): HeartbeatMessage {
  if (!state.base || !state.hubHolds || state.sinceFull + 1 >= fullEvery) return { kind: 'full', heartbeat: current }
  return { kind: 'delta', delta: heartbeatDelta(state.base, current) }
}

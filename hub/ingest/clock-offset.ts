/**
 * How far each node's clock is from the hub's, measured from its heartbeats. The hub keeps its
 * own time for everything it shows (liveness, ages, the order of events); this only says by how
 * much a node's own timestamps are off, so a board that booted in 2001 is named, not believed.
 *
 * A heartbeat carries the node's time when it was sent; the hub notes its own time when it
 * arrives. Their difference is the node's offset minus the link delay, and a delay is never
 * negative, so the largest of the recent samples is the least delayed one: that is the estimate.
 * A heartbeat held up somewhere (a busy broker, a stalled hub) can only pull a sample down, never
 * up, and one such sample cannot start a ClockSkew on its own (at least MIN_SAMPLES are needed).
 */

/** A node whose clock is further than this from the hub's has ClockSkew (hub flag --clock-skew-threshold). */
export const DEFAULT_CLOCK_SKEW_THRESHOLD_MS = 120_000
/** Recent samples kept per node. */
export const OFFSET_WINDOW = 8
/** Samples needed before a ClockSkew starts. */
export const MIN_SAMPLES = 2

/** Node clock minus hub clock in milliseconds, one per heartbeat, oldest first. */
export type OffsetSamples = readonly number[]

/** The least delayed (largest) of the samples; null when there are none. Pure. */
export function estimateOffset(samples: OffsetSamples): number | null {
  return samples.length === 0 ? null : Math.max(...samples)
}

/**
 * The window with a new sample. When the last MIN_SAMPLES samples all lie more than the threshold
 * below the estimate, the node's clock was stepped back (NTP fixed a clock that ran ahead, or
 * the board rebooted with a wrong one): the older samples describe a clock that is gone and are
 * dropped, so the estimate follows at once instead of a whole window later. Pure.
 */
export function addSample(samples: OffsetSamples, sample: number, thresholdMs: number): OffsetSamples {
  const window = [...samples, sample].slice(-OFFSET_WINDOW)
  const recent = window.slice(-MIN_SAMPLES)
  const older = window.slice(0, -MIN_SAMPLES)
  const before = estimateOffset(older)
  if (before !== null && recent.length === MIN_SAMPLES && recent.every((s) => s < before - thresholdMs)) return recent
  return window
}

export type SkewChange = 'started' | 'ended' | null

/**
 * Whether ClockSkew starts or ends: it starts once at least MIN_SAMPLES samples put the
 * estimate further than the threshold from the hub's clock (in either direction), and ends when
 * the estimate is back within it. Offsets within the threshold are ignored. Pure.
 */
export function skewChange(skewed: boolean, samples: OffsetSamples, thresholdMs: number): SkewChange {
  const estimate = estimateOffset(samples)
  if (estimate === null) return null
  const beyond = Math.abs(estimate) > thresholdMs
  if (!skewed && beyond && samples.length >= MIN_SAMPLES) return 'started'
  if (skewed && !beyond) return 'ended'
  return null
}

const UNITS: ReadonlyArray<readonly [number, string]> = [
  [365.25 * 24 * 3_600_000, 'y'],
  [24 * 3_600_000, 'd'],
  [3_600_000, 'h'],
  [60_000, 'm'],
]

/** "25.0y behind", "3.0y ahead", "2h ahead", "40s behind": for reasons and events. Pure. */
export function describeOffset(offsetMs: number): string {
  const size = Math.abs(offsetMs)
  const direction = offsetMs < 0 ? 'behind' : 'ahead'
  for (const [unit, suffix] of UNITS) {
    if (size >= unit) return `${suffix === 'y' ? (size / unit).toFixed(1) : Math.floor(size / unit)}${suffix} ${direction}`
  }
  return `${Math.round(size / 1000)}s ${direction}`
}

/** The reason a skewed node's condition gives, e.g. "ClockSkew: clock 25.0y behind the hub's (-788940000s)". */
export function skewReason(offsetMs: number): string {
  const seconds = Math.round(offsetMs / 1000)
  return `ClockSkew: clock ${describeOffset(offsetMs)} the hub's (${seconds > 0 ? '+' : ''}${seconds}s)`
}

/**
 * When a workload's state began, on the hub's clock. `since` and `statusAt` are the node's own
 * times (when the state began, when the status was made); `receivedAt` is the hub's.
 * - A workload whose `since` did not change keeps the hub time it was given first: a clock fixed
 *   by NTP after the state began must not move it.
 * - With a measured offset that is plausible for this status (the status, put on the hub's clock,
 *   was made after the node enrolled and is not in the future), `since` minus the offset: exact
 *   also for a status that waited in the outbox while the node was offline.
 * - Otherwise (no heartbeat yet, or the clock was changed since it was measured), relative to the
 *   hub's receipt: the time the node says the state had lasted when it made the status, before
 *   the hub received it. Off only by how long the status waited in the outbox.
 * Never later than the receipt. Pure.
 */
export function hubSince(input: {
  readonly since: string
  readonly statusAt: string
  readonly receivedAt: string
  readonly offsetMs: number | null
  readonly enrolledAt: string
  readonly toleranceMs: number
  readonly previous?: { readonly since: string; readonly hubSince: string } | undefined
}): string {
  if (input.previous && input.previous.since === input.since) return input.previous.hubSince
  const since = Date.parse(input.since)
  const statusAt = Date.parse(input.statusAt)
  const receivedAt = Date.parse(input.receivedAt)
  if (input.offsetMs !== null) {
    const statusOnHub = statusAt - input.offsetMs
    if (statusOnHub <= receivedAt + input.toleranceMs && statusOnHub >= Date.parse(input.enrolledAt) - input.toleranceMs) {
      return new Date(Math.min(receivedAt, since - input.offsetMs)).toISOString()
    }
  }
  return new Date(receivedAt - Math.max(0, statusAt - since)).toISOString()
}

/** Each node's recent samples, in memory (a hub restart starts them afresh; the skew state is stored). */
export class NodeClocks {
  private readonly samples = new Map<string, OffsetSamples>()

  constructor(readonly thresholdMs: number = DEFAULT_CLOCK_SKEW_THRESHOLD_MS) {}

  /** A heartbeat's sample: the new estimate, and whether ClockSkew starts or ends given whether it is on now. */
  observe(nodeId: string, sampleMs: number, skewed: boolean): { readonly offsetMs: number; readonly change: SkewChange } {
    const window = addSample(this.samples.get(nodeId) ?? [], sampleMs, this.thresholdMs)
    this.samples.set(nodeId, window)
    return { offsetMs: estimateOffset(window) ?? sampleMs, change: skewChange(skewed, window, this.thresholdMs) }
  }

  forget(nodeId: string): void {
    this.samples.delete(nodeId)
  }
}

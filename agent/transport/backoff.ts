import { RECONNECT_CAP_BOUNDS_MS } from '../../protocol/index.js'

/**
 * "Full jitter" exponential backoff: a random delay up to min(cap, base * 2^attempt). A fleet
 * that lost its broker at the same moment then comes back spread out, not in lockstep.
 */
export function jitteredBackoffMs(attempt: number, random: () => number = Math.random, baseMs = 1_000, capMs = 60_000): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(attempt, 20))
  return Math.max(baseMs / 2, Math.round(random() * ceiling))
}

/** The first retry of a node that knows no better waits at most 2 × this (and at least half of it). */
export const RECONNECT_BASE_MS = 250
/** The cap without a hint from the hub: what agents from before hints use, and the most a hint may say. */
export const DEFAULT_RECONNECT_CAP_MS = RECONNECT_CAP_BOUNDS_MS.max

/**
 * The delays of one broker link's reconnect attempts. Without a hint: 250 ms doubling up to 60 s,
 * so a lone node's blip is over in a fraction of a second, and a long outage costs one attempt a
 * minute at most. With the hub's hint (a cap from its fleet's size, see hub/ingest/reconnect-hint.ts)
 * the base is a quarter of the cap: the very first retry of a big fleet's nodes is spread over
 * half the cap already, because a hub that was down for only a few seconds would otherwise see its
 * whole fleet within the first second or two, however high the cap. A small fleet's cap (1 s)
 * leaves the base at 250 ms.
 */
export function reconnectDelayMs(attempt: number, hintedCapMs: number | null, random: () => number = Math.random): number {
  const capMs = hintedCapMs ?? DEFAULT_RECONNECT_CAP_MS
  const baseMs = hintedCapMs === null ? RECONNECT_BASE_MS : Math.max(RECONNECT_BASE_MS, Math.floor(hintedCapMs / 4))
  return jitteredBackoffMs(attempt, random, baseMs, capMs)
}

/** Counts one link's failed attempts; the cap is read at each attempt, so a hint applies at once. */
export class ReconnectBackoff {
  private attempts = 0

  constructor(
    private readonly hintedCapMs: () => number | null = () => null,
    private readonly random: () => number = Math.random,
  ) {}

  /** The delay before the next attempt, counting one more failed one. */
  next(): number {
    this.attempts++
    return reconnectDelayMs(this.attempts, this.hintedCapMs(), this.random)
  }

  /** Connected: the next outage starts from the first, short delay again. */
  reset(): void {
    this.attempts = 0
  }
}

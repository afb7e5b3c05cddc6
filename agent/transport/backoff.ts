/**
 * "Full jitter" exponential backoff: a random delay up to min(cap, base * 2^attempt). A fleet
 * that lost its broker at the same moment then comes back spread out, not in lockstep.
 */
export function jitteredBackoffMs(attempt: number, random: () => number = Math.random, baseMs = 1_000, capMs = 60_000): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(attempt, 20))
  return Math.max(baseMs / 2, Math.round(random() * ceiling))
}

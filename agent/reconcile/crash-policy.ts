import type { RestartPolicy } from '../../protocol/index.js'

/** Crashes inside this window count towards crash-loop; a workload calm for this long is healthy again. */
export const CRASH_WINDOW_MS = 5 * 60_000
export const CRASH_LOOP_THRESHOLD = 3
export const BACKOFF_BASE_MS = 10_000
export const BACKOFF_MAX_MS = 5 * 60_000

/** Whether an exited container should be running again under its restart policy. */
export function shouldRestart(policy: RestartPolicy, exitCode: number | null): boolean {
  switch (policy) {
    case 'always':
      return true
    case 'on-failure':
      return exitCode !== 0
    case 'never':
      return false
    default: {
      const unreachable: never = policy
      throw new Error(`unknown restart policy ${String(unreachable)}`)
    }
  }
}

export function recentCrashes(crashes: readonly number[], now: number): number[] {
  return crashes.filter((at) => now - at < CRASH_WINDOW_MS)
}

export function isCrashLooping(crashes: readonly number[], now: number): boolean {
  return recentCrashes(crashes, now).length >= CRASH_LOOP_THRESHOLD
}

/** Exponential backoff from the latest crash: 10 s, 20 s, 40 s ... capped at 5 min. */
export function restartBackoffUntil(crashes: readonly number[], now: number): number {
  const recent = recentCrashes(crashes, now)
  const last = recent.at(-1)
  if (last === undefined) return 0
  const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** (recent.length - 1))
  return last + delay
}

/** Pull retries: 5 s, 10 s, 20 s ... capped at 5 min. */
export function pullBackoffMs(failures: number): number {
  return Math.min(BACKOFF_MAX_MS, 5_000 * 2 ** Math.max(0, failures - 1))
}

/**
 * Retrying a job's failed copies, as Kubernetes does: the delay before the next copy doubles from
 * 10 s with each failure, capped at 6 min, and the job fails once its failures exceed backoffLimit.
 */

export const RETRY_BASE_MS = 10_000
export const RETRY_CAP_MS = 360_000
/** Kubernetes' default backoffLimit: six retries, so a seventh failure fails the job. */
export const DEFAULT_BACKOFF_LIMIT = 6

/**
 * The delay before starting a copy after `failures` failed copies (0: no delay). Doubles per
 * failure from `base`, capped at `cap`; no overflow however many failures.
 */
export function retryDelayMs(failures: number, base = RETRY_BASE_MS, cap = RETRY_CAP_MS): number {
  if (failures <= 0) return 0
  // 2^(failures - 1) passes any cap long before it loses precision; stop doubling there.
  let delay = base
  for (let n = 1; n < failures && delay < cap; n++) delay *= 2
  return Math.min(delay, cap)
}

/** The instant a copy may start after failures, the latest of which finished at `lastFailureAt`. */
export function retryAt(failures: number, lastFailureAt: number, base = RETRY_BASE_MS, cap = RETRY_CAP_MS): number {
  return lastFailureAt + retryDelayMs(failures, base, cap)
}

/** Whether `failures` failed copies exhaust a backoffLimit: a limit of n allows n retries, so n + 1 failures fail the job. */
export function backoffLimitExceeded(failures: number, backoffLimit: number): boolean {
  return failures > backoffLimit
}

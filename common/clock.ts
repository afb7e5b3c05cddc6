/** Time, injected so backoff, grace periods and windows can be tested without sleeping. */
export interface Clock {
  now(): number
}

export const systemClock: Clock = { now: () => Date.now() }

export function isoNow(clock: Clock): string {
  return new Date(clock.now()).toISOString()
}

/** How often the presence monitor looks for silent nodes. */
export const PRESENCE_SWEEP_MS = 5_000
/** How often heartbeats held in memory are written, unless configured (HubConfig.heartbeatFlushMs). */
export const HEARTBEAT_FLUSH_MS = 30_000

/**
 * The hub's timers: the presence sweep and the heartbeat flush, neither keeping the process
 * alive. Returns what stops both. Wiring only: what each does is in sweepSilentNodes and
 * heartbeatFlusher.
 */
export function startHousekeeping(work: {
  readonly sweepPresence: () => unknown
  readonly flushHeartbeats: () => unknown
  readonly heartbeatFlushMs?: number | undefined
}): () => void {
  const presenceTimer = setInterval(work.sweepPresence, PRESENCE_SWEEP_MS)
  presenceTimer.unref()
  const heartbeatTimer = setInterval(work.flushHeartbeats, work.heartbeatFlushMs ?? HEARTBEAT_FLUSH_MS)
  heartbeatTimer.unref()
  return () => {
    clearInterval(presenceTimer)
    clearInterval(heartbeatTimer)
  }
}

/** How often the presence monitor looks for silent nodes. */
export const PRESENCE_SWEEP_MS = 5_000
/** How often heartbeats held in memory are written, unless configured (HubConfig.heartbeatFlushMs). */
export const HEARTBEAT_FLUSH_MS = 30_000
/** How often the alert rules are evaluated, unless configured (HubConfig.alertIntervalMs). */
export const ALERT_EVALUATION_MS = 5_000

/**
 * The hub's timers: the presence sweep, the heartbeat flush and the alert evaluation, none
 * keeping the process alive. Returns what stops them. Wiring only: what each does is in
 * sweepSilentNodes, heartbeatFlusher and AlertMonitor.
 */
export function startHousekeeping(work: {
  readonly sweepPresence: () => unknown
  readonly flushHeartbeats: () => unknown
  readonly heartbeatFlushMs?: number | undefined
  readonly evaluateAlerts: () => unknown
  readonly alertIntervalMs?: number | undefined
}): () => void {
  const presenceTimer = setInterval(work.sweepPresence, PRESENCE_SWEEP_MS)
  presenceTimer.unref()
  const heartbeatTimer = setInterval(work.flushHeartbeats, work.heartbeatFlushMs ?? HEARTBEAT_FLUSH_MS)
  heartbeatTimer.unref()
  const alertTimer = setInterval(work.evaluateAlerts, work.alertIntervalMs ?? ALERT_EVALUATION_MS)
  alertTimer.unref()
  return () => {
    clearInterval(presenceTimer)
    clearInterval(heartbeatTimer)
    clearInterval(alertTimer)
  }
}

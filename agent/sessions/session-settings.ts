import { memoryBytes } from '../../protocol/quantity.js'
import type { FirmwareProfile } from '../../firmware-profiles/schema.js'

/** What a node allows of remote sessions, from its firmware profile (agent.remoteSessions). */
export interface SessionSettings {
  readonly enabled: boolean
  readonly maxSessions: number
  readonly idleMs: number
  /** Both ways, all sessions together; null: no cap. */
  readonly maxBytesPerSecond: number | null
}

export function sessionSettings(profile: Pick<FirmwareProfile, 'agent'>): SessionSettings {
  const { enabled, maxSessions, idleSeconds, maxBytesPerSecond } = profile.agent.remoteSessions
  return { enabled, maxSessions, idleMs: idleSeconds * 1000, maxBytesPerSecond: maxBytesPerSecond === undefined ? null : memoryBytes(maxBytesPerSecond) }
}

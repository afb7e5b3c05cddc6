import { z } from 'zod'
import { IsoTime, Name, NodeId } from '../primitives.js'

/** What an alert is about; each rule is configurable on the hub (docs/hub.md, Alerts). */
export const AlertRule = z.enum(['NodeOffline', 'DeploymentUnavailable', 'RolloutFailed', 'RolloutPaused', 'CrashLoop', 'DiskNearFull', 'MemoryNearFull'])
export type AlertRule = z.infer<typeof AlertRule>

export const AlertSeverity = z.enum(['critical', 'warning', 'info'])
export type AlertSeverity = z.infer<typeof AlertSeverity>

/** firing: the condition holds; resolved: it cleared (listed until acknowledged). */
export const AlertState = z.enum(['firing', 'resolved'])
export type AlertState = z.infer<typeof AlertState>

/** One alert as stored on the hub: it stays listed until it is both resolved and acknowledged. */
export const AlertView = z.strictObject({
  id: z.number().int().min(1),
  rule: AlertRule,
  severity: AlertSeverity,
  node: NodeId.nullable(),
  deployment: Name.nullable(),
  workload: Name.nullable(),
  message: z.string(),
  state: AlertState,
  /** When it last started firing (hub time). */
  firedAt: IsoTime,
  resolvedAt: IsoTime.nullable(),
  acknowledgedAt: IsoTime.nullable(),
  acknowledgedBy: z.string().nullable(),
})
export type AlertView = z.infer<typeof AlertView>

const Count = z.number().int().nonnegative()

/** GET /api/v1/alerts: newest first, with the counts the console's top bar shows. */
export const AlertList = z.strictObject({
  items: z.array(AlertView),
  firing: Count.describe('alerts whose condition holds now, acknowledged or not'),
  unacknowledged: Count.describe('alerts nobody acknowledged yet, firing or resolved'),
})
export type AlertList = z.infer<typeof AlertList>

export const AlertsQuery = z.object({
  all: z.enum(['true', 'false']).optional().describe('true: also the latest 200 alerts that were resolved and acknowledged'),
})

import type { Logger } from 'pino'
import type { AlertList, AlertView, DeepReadonly } from '../../protocol/api/index.js'
import type { Clock } from '../../common/clock.js'
import type { ChangeFeed } from '../ingest/change-feed.js'
import type { DeploymentOutcome } from '../scheduler/types.js'
import type { HubStore } from '../store/hub-store.js'
import { alertChanges, isClosed, type AlertRecord } from './alert-lifecycle.js'
import { gatherAlertFacts } from './alert-facts.js'
import { alertConditions, type AlertSettings } from './alert-rules.js'

/** No alert with this id is listed (it never existed, was pending, or was deleted as old history). */
export class AlertNotFoundError extends Error {
  constructor(readonly alertId: number) {
    super(`alert ${alertId} not found; list alerts with shoal get alerts`)
    this.name = 'AlertNotFoundError'
  }
}

export interface AlertMonitorOptions {
  readonly store: HubStore
  readonly clock: Clock
  readonly logger: Logger
  readonly feed: ChangeFeed
  readonly settings: AlertSettings
  /** The scheduler's latest figures for a deployment (how many copies it should have). */
  readonly outcome: (deployment: string) => DeploymentOutcome | null
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString())

/** The API's shape of a stored alert; only firing or resolved ones are ever shown. */
export function alertView(alert: AlertRecord): AlertView {
  return {
    id: alert.id,
    rule: alert.rule,
    severity: alert.severity,
    node: alert.node,
    deployment: alert.deployment,
    workload: alert.workload,
    message: alert.message,
    state: alert.state === 'resolved' ? 'resolved' : 'firing',
    firedAt: iso(alert.firedAt ?? alert.holdingSince) ?? new Date(0).toISOString(),
    resolvedAt: iso(alert.resolvedAt),
    acknowledgedAt: iso(alert.acknowledgedAt),
    acknowledgedBy: alert.acknowledgedBy,
  }
}

/**
 * Alerts as a use case: `evaluate` reads the fleet, runs the pure rules and lifecycle
 * (alert-rules.ts, alert-lifecycle.ts) and writes what changed in one transaction, telling the
 * change feed; `acknowledge` marks one seen. Called on a timer (hub/wiring/housekeeping.ts).
 */
export class AlertMonitor {
  private readonly logger: Logger

  constructor(private readonly options: AlertMonitorOptions) {
    this.logger = options.logger.child({ component: 'alerts' })
  }

  evaluate(): void {
    const { store, clock, feed, settings, outcome } = this.options
    const now = clock.now()
    const conditions = alertConditions(gatherAlertFacts(store, outcome), settings)
    const told: { id: number; state: 'firing' | 'resolved' | 'closed' }[] = []
    store.transaction(() => {
      const open = store.alerts.open()
      const before = new Map(open.map((a) => [a.id, a.state]))
      const changes = alertChanges(open, conditions, now)
      for (const draft of changes.insert) {
        const id = store.alerts.insert(draft)
        if (draft.state === 'firing') {
          told.push({ id, state: 'firing' })
          this.logger.warn({ alert: id, rule: draft.rule, node: draft.node, deployment: draft.deployment }, `alert firing: ${draft.message}`)
        }
      }
      for (const alert of changes.update) {
        store.alerts.update(alert)
        if (before.get(alert.id) === alert.state || alert.state === 'pending') continue
        told.push({ id: alert.id, state: isClosed(alert) ? 'closed' : alert.state })
        this.logger.info({ alert: alert.id, rule: alert.rule, state: alert.state }, `alert ${alert.state}: ${alert.message}`)
      }
      for (const id of changes.remove) store.alerts.remove(id)
      if (told.some((t) => t.state === 'closed')) store.alerts.pruneClosed()
    })
    for (const change of told) feed.publish({ type: 'alert', ...change })
  }

  list(options: { all: boolean }): DeepReadonly<AlertList> {
    const { store } = this.options
    const items = store.alerts.visible(options.all ? { closed: 200 } : {}).map(alertView)
    const open = items.filter((a) => !(a.state === 'resolved' && a.acknowledgedAt !== null))
    return {
      items,
      firing: open.filter((a) => a.state === 'firing').length,
      unacknowledged: open.filter((a) => a.acknowledgedAt === null).length,
    }
  }

  /** Marks the alert seen; a resolved one is then closed. Acknowledging twice keeps the first time and actor. */
  acknowledge(id: number, actor: string): AlertView {
    const { store, clock, feed } = this.options
    const alert = store.alerts.get(id)
    if (!alert || alert.state === 'pending') throw new AlertNotFoundError(id)
    if (alert.acknowledgedAt !== null) return alertView(alert)
    const acked: AlertRecord = { ...alert, acknowledgedAt: clock.now(), acknowledgedBy: actor }
    store.transaction(() => {
      store.alerts.update(acked)
      store.audit.append({ at: new Date(clock.now()).toISOString(), actor, action: 'alert.acknowledge', target: String(id), detail: alert.message })
      if (isClosed(acked)) store.alerts.pruneClosed()
    })
    feed.publish({ type: 'alert', id, state: isClosed(acked) ? 'closed' : acked.state === 'resolved' ? 'resolved' : 'firing' })
    return alertView(acked)
  }
}

import { labelText, type Metrics } from '../metrics.js'
import type { HubStore } from '../store/hub-store.js'
import type { AlertRecord } from './alert-lifecycle.js'

/** The series of one firing alert: its rule, severity and subject; absent subjects are left out. Pure. */
export function alertSeries(alert: Pick<AlertRecord, 'rule' | 'severity' | 'node' | 'deployment' | 'workload'>): string {
  const labels: Record<string, string> = { alertname: alert.rule, rule: alert.rule, severity: alert.severity }
  if (alert.node !== null) labels.node = alert.node
  if (alert.deployment !== null) labels.deployment = alert.deployment
  if (alert.workload !== null) labels.workload = alert.workload
  return labelText(labels)
}

/**
 * `shoal_alert{...} 1` for each firing alert, as Prometheus' own ALERTS series, so Alertmanager
 * can route them (acknowledging in Shoal does not silence them there: the condition still
 * holds); and how many alerts nobody acknowledged yet. Read from the store when scraped.
 */
export function registerAlertMetrics(metrics: Metrics, store: HubStore): void {
  metrics.describe('shoal_alert', 'one series per firing alert, by rule, severity and subject (node, deployment, workload)')
  metrics.gauge(
    'shoal_alert',
    () =>
      new Map(
        store.alerts
          .open()
          .filter((a) => a.state === 'firing')
          .map((a) => [alertSeries(a), 1]),
      ),
  )
  metrics.describe('shoal_alerts_unacknowledged', 'alerts nobody acknowledged yet, firing or resolved')
  metrics.gauge(
    'shoal_alerts_unacknowledged',
    () => new Map([['', store.alerts.open().filter((a) => a.state !== 'pending' && a.acknowledgedAt === null).length]]),
  )
}

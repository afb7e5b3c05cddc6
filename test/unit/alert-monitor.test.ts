import path from 'node:path'
import pino from 'pino'
import t from 'tap'
import { alertSeries, registerAlertMetrics } from '../../hub/alerts/alert-metrics.js'
import { AlertMonitor, AlertNotFoundError } from '../../hub/alerts/alert-monitor.js'
import { DEFAULT_ALERT_SETTINGS } from '../../hub/alerts/alert-rules.js'
import { ChangeFeed } from '../../hub/ingest/change-feed.js'
import { Metrics } from '../../hub/metrics.js'
import { HubStore } from '../../hub/store/hub-store.js'
import { openHubDatabase } from '../../hub/store/open-hub-database.js'
import type { Change } from '../../protocol/api/index.js'
import { nodeRecord } from '../support/hub-nodes.js'
import { tempDir } from '../support/tmp.js'
import type { TestLike } from '../support/types.js'

// The alert monitor over a real hub store: what the rules decide, stored, listed, acknowledged
// and exported, with a hand-moved clock (no sleeping).

const START = Date.parse('2026-12-07T12:00:00Z')

function setup(t: TestLike) {
  const file = path.join(tempDir(t, 'alerts'), 'hub.db')
  let store = new HubStore(openHubDatabase(file))
  t.teardown(() => store.close())
  const clock = { at: START, now: () => clock.at }
  const feed = new ChangeFeed()
  const changes: Change[] = []
  feed.subscribe((change) => changes.push(change))
  const monitor = (s: HubStore) =>
    new AlertMonitor({
      store: s,
      clock,
      logger: pino({ level: 'silent' }),
      feed,
      settings: { ...DEFAULT_ALERT_SETTINGS, nodeOfflineMs: 2_000 },
      outcome: () => null,
    })
  return {
    get store() {
      return store
    },
    clock,
    changes,
    monitor: () => monitor(store),
    reopen: () => {
      store.close()
      store = new HubStore(openHubDatabase(file))
      return monitor(store)
    },
  }
}

t.test('a node offline past its threshold fires, stays resolved after it returns, and closes once acknowledged', async (t) => {
  const hub = setup(t)
  hub.store.nodes.insert(nodeRecord('pi-1', { createdAt: new Date(START - 60_000).toISOString() }))
  hub.store.nodes.setOnline('pi-1', true, new Date(START).toISOString())
  const alerts = hub.monitor()
  alerts.evaluate()
  t.same(alerts.list({ all: false }), { items: [], firing: 0, unacknowledged: 0 }, 'online: nothing')

  hub.store.nodes.setOnline('pi-1', false, new Date(START + 1_000).toISOString())
  hub.clock.at = START + 2_000
  alerts.evaluate()
  t.same(alerts.list({ all: false }).items, [], 'offline for 1 s of 2: pending, not shown')

  hub.clock.at = START + 3_000
  alerts.evaluate()
  const fired = alerts.list({ all: false })
  t.match(fired, { firing: 1, unacknowledged: 1 })
  t.match(fired.items[0], { rule: 'NodeOffline', node: 'pi-1', state: 'firing', firedAt: '2026-12-07T12:00:03.000Z', resolvedAt: null, acknowledgedAt: null })
  const id = fired.items[0]?.id ?? 0
  t.same(hub.changes.at(-1), { type: 'alert', id, state: 'firing' })

  const metrics = new Metrics()
  registerAlertMetrics(metrics, hub.store)
  t.match(metrics.render(), 'shoal_alert{alertname="NodeOffline",node="pi-1",rule="NodeOffline",severity="warning"} 1')
  t.match(metrics.render(), 'shoal_alerts_unacknowledged 1')

  hub.store.nodes.setOnline('pi-1', true, new Date(START + 4_000).toISOString())
  hub.clock.at = START + 5_000
  const reopened = hub.reopen()
  reopened.evaluate()
  const resolved = reopened.list({ all: false })
  t.match(resolved, { firing: 0, unacknowledged: 1 }, 'back online: resolved, still listed (and kept across a hub restart)')
  t.match(resolved.items[0], { id, state: 'resolved', resolvedAt: '2026-12-07T12:00:05.000Z', acknowledgedAt: null })
  const after = new Metrics()
  registerAlertMetrics(after, hub.store)
  t.notMatch(after.render(), /shoal_alert\{/, 'a resolved alert is no longer a firing series')

  const acked = reopened.acknowledge(id, 'admin')
  t.match(acked, { id, state: 'resolved', acknowledgedBy: 'admin', acknowledgedAt: '2026-12-07T12:00:05.000Z' })
  t.same(hub.changes.at(-1), { type: 'alert', id, state: 'closed' })
  t.same(reopened.list({ all: false }), { items: [], firing: 0, unacknowledged: 0 }, 'resolved and acknowledged: gone from the list')
  t.match(reopened.list({ all: true }).items, [{ id, state: 'resolved' }], 'but in the history')
  t.match(hub.store.audit.list()[0], { action: 'alert.acknowledge', actor: 'admin', target: String(id) })
  t.same(reopened.acknowledge(id, 'someone-else').acknowledgedBy, 'admin', 'acknowledging again keeps the first')
})

t.test('an acknowledged firing alert stays listed until it resolves, then closes by itself', async (t) => {
  const hub = setup(t)
  hub.store.nodes.insert(nodeRecord('pi-2', { createdAt: new Date(START - 60_000).toISOString() }))
  const alerts = hub.monitor()
  alerts.evaluate()
  const [alert] = alerts.list({ all: false }).items
  t.match(alert, { rule: 'NodeOffline', message: 'node pi-2 has not connected since it enrolled' }, 'never connected, past the threshold since it enrolled')
  alerts.acknowledge(alert?.id ?? 0, 'admin')
  t.match(alerts.list({ all: false }), { firing: 1, unacknowledged: 0, items: [{ state: 'firing', acknowledgedBy: 'admin' }] })
  hub.store.nodes.setOnline('pi-2', true, new Date(START).toISOString())
  alerts.evaluate()
  t.same(alerts.list({ all: false }).items, [], 'resolved after being acknowledged: closed')
})

t.test('acknowledging an alert that is not listed is a typed not-found', async (t) => {
  const hub = setup(t)
  t.throws(() => hub.monitor().acknowledge(42, 'admin'), AlertNotFoundError)
})

t.test('alertSeries leaves out absent subjects', async (t) => {
  t.equal(
    alertSeries({ rule: 'CrashLoop', severity: 'warning', node: 'a', deployment: 'web', workload: 'web-0' }),
    '{alertname="CrashLoop",deployment="web",node="a",rule="CrashLoop",severity="warning",workload="web-0"}',
  )
  t.equal(
    alertSeries({ rule: 'RolloutFailed', severity: 'critical', node: null, deployment: 'web', workload: null }),
    '{alertname="RolloutFailed",deployment="web",rule="RolloutFailed",severity="critical"}',
  )
})

import t from 'tap'
import { alertSettingsOf, type AlertOptions } from '../../cli/alert-options.js'
import { alertSubject, renderAlerts } from '../../cli/commands/alerts.js'
import { renderDrainPreview } from '../../cli/commands/cordon.js'
import { CliError } from '../../cli/io.js'
import { DEFAULT_ALERT_SETTINGS } from '../../hub/alerts/alert-rules.js'
import type { AlertView, BulkNodeResult } from '../../protocol/api/index.js'

// The CLI's side of alerts and of drain --dry-run: the hub serve flags, the alerts table, and
// what a dry-run drain prints.

const DEFAULT_FLAGS: AlertOptions = {
  alertNodeOffline: '5m',
  alertDeploymentUnavailable: '10m',
  alertRolloutFailed: '0s',
  alertRolloutPaused: '30m',
  alertCrashLoop: '0s',
  alertDisk: '90',
  alertMemory: '90',
}

t.test('the default flags are the default settings; off turns a rule off; a percent may carry %', async (t) => {
  t.same(alertSettingsOf(DEFAULT_FLAGS), DEFAULT_ALERT_SETTINGS)
  t.match(alertSettingsOf({ ...DEFAULT_FLAGS, alertNodeOffline: '2s', alertDisk: '95%', alertMemory: 'off', alertCrashLoop: 'off' }), {
    nodeOfflineMs: 2_000,
    diskPercent: 95,
    memoryPercent: null,
    crashLoopMs: null,
  })
})

t.test('a bad value is a usage error that names its flag', async (t) => {
  t.throws(() => alertSettingsOf({ ...DEFAULT_FLAGS, alertNodeOffline: 'soon' }), { message: /--alert-node-offline: expected a duration/ })
  t.throws(() => alertSettingsOf({ ...DEFAULT_FLAGS, alertDisk: '120' }), { message: /--alert-disk: expected a percent/ })
  t.throws(() => alertSettingsOf({ ...DEFAULT_FLAGS, alertMemory: '0' }), { message: /--alert-memory/ })
  t.throws(() => alertSettingsOf({ ...DEFAULT_FLAGS, alertRolloutPaused: '-1m' }), CliError)
})

const alert = (overrides: Partial<AlertView> = {}): AlertView => ({
  id: 7,
  rule: 'NodeOffline',
  severity: 'warning',
  node: 'pi-1',
  deployment: null,
  workload: null,
  message: 'node pi-1 is offline since 2026-12-07T11:58:00.000Z',
  state: 'firing',
  firedAt: '2026-12-07T11:59:00.000Z',
  resolvedAt: null,
  acknowledgedAt: null,
  acknowledgedBy: null,
  ...overrides,
})

t.test('the alerts table: state, severity, rule, subject, age and who acknowledged', async (t) => {
  const now = () => Date.parse('2026-12-07T12:00:00Z')
  const text = renderAlerts([alert(), alert({ id: 8, state: 'resolved', acknowledgedBy: 'admin', acknowledgedAt: '2026-12-07T12:00:00.000Z' })], {
    terminal: { colour: false },
    format: 'table',
    now,
  })
  const [header, first, second] = text.split('\n')
  t.match(header, /^ID\s+STATE\s+SEVERITY\s+RULE\s+SUBJECT\s+FIRED\s+ACKNOWLEDGED\s+MESSAGE/)
  t.match(first, /^7\s+firing\s+warning\s+NodeOffline\s+node\/pi-1\s+60s\s+no\s+node pi-1 is offline/)
  t.match(second, /^8\s+resolved .* by admin/)
  t.equal(renderAlerts([alert()], { terminal: { colour: false }, format: 'name', now }), '7\n')
  t.equal(alertSubject({ node: 'a', deployment: 'web', workload: 'web' }), 'deployment/web node/a')
  t.equal(alertSubject({ node: null, deployment: null, workload: null }), '-')
})

t.test('drain --dry-run says where each copy would go, which would wait, and which stay', async (t) => {
  const result: BulkNodeResult = {
    action: 'drain',
    dryRun: true,
    nodes: [{ id: 'pi-1', outcome: 'changed', message: 'would be drained; 2 copies would move off' }],
    moves: [
      { deployment: 'solo', workload: 'solo', replica: 0, from: 'pi-1', to: null },
      { deployment: 'web', workload: 'web', replica: 1, from: 'pi-1', to: 'pi-2' },
    ],
    kept: [{ deployment: 'agent', workload: 'agent', node: 'pi-1', reason: 'every-node workloads run on each matching node' }],
  }
  t.equal(
    renderDrainPreview('pi-1', result, 'table'),
    [
      'node/pi-1 would be cordoned (dry run: nothing changed)',
      'would move solo (replica 0) off the node; pending: no other node can take it now',
      'would move web (replica 1) to pi-2',
      'would keep agent: every-node workloads run on each matching node',
      '',
    ].join('\n'),
  )
  t.match(renderDrainPreview('pi-1', { ...result, moves: [], kept: [] }, 'table'), /no copy would move/)
  t.same(JSON.parse(renderDrainPreview('pi-1', result, 'json')), result)
})

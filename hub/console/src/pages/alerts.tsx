import { useState } from 'preact/hooks'
import type { AlertView } from '../api/types'
import { ErrorNote } from '../components/bits'
import { ago } from '../format'
import { useLive, useNow, useResource } from '../live'
import { Link, deploymentHref, nodeHref } from '../router'

const SEVERITY_CLASS = { critical: 'bad', warning: 'warn', info: 'info' } satisfies Record<AlertView['severity'], string>

/** The alerts that fire, and those that resolved but nobody acknowledged yet; each can be acknowledged here. */
export function AlertsPage() {
  const { client } = useLive()
  const [history, setHistory] = useState(false)
  const [busy, setBusy] = useState<number | 'all' | null>(null)
  const [failure, setFailure] = useState<Error | null>(null)
  const now = useNow(5000)
  const alerts = useResource(`alerts?all=${history}`, () => client.alerts(history), { when: (c) => c.type === 'alert' })
  const items = alerts.data?.items ?? []
  const unacknowledged = items.filter((a) => a.acknowledgedAt === null)

  const acknowledge = async (ids: readonly number[], which: number | 'all'): Promise<void> => {
    setBusy(which)
    setFailure(null)
    try {
      for (const id of ids) await client.acknowledgeAlert(id)
    } catch (error) {
      setFailure(error instanceof Error ? error : new Error(String(error)))
    } finally {
      setBusy(null)
      alerts.reload()
    }
  }

  return (
    <div class="page alerts">
      <div class="page-head">
        <h1>Alerts</h1>
        <div class="toolbar">
          <label class="inline-check">
            <input type="checkbox" checked={history} onChange={(e) => setHistory((e.currentTarget as HTMLInputElement).checked)} /> Show acknowledged history
          </label>
          <button
            type="button"
            disabled={unacknowledged.length === 0 || busy !== null}
            onClick={() =>
              void acknowledge(
                unacknowledged.map((a) => a.id),
                'all',
              )
            }
          >
            {busy === 'all' ? 'Acknowledging…' : `Acknowledge all (${unacknowledged.length})`}
          </button>
        </div>
      </div>
      <p class="summary-line" data-testid="alert-summary" aria-live="polite">
        {alerts.data ? `${alerts.data.firing} firing, ${alerts.data.unacknowledged} not acknowledged` : 'loading…'}
      </p>
      <ErrorNote error={failure ?? alerts.error} prefix="alerts" />
      {alerts.data && items.length === 0 ? <p class="empty">No alerts. Resolved alerts leave this list once acknowledged.</p> : null}
      {items.length > 0 ? (
        <table class="table" aria-label="alerts">
          <thead>
            <tr>
              <th>State</th>
              <th>Severity</th>
              <th>Rule</th>
              <th>About</th>
              <th>Message</th>
              <th>Fired</th>
              <th>Acknowledged</th>
            </tr>
          </thead>
          <tbody>
            {items.map((a) => (
              <tr
                key={a.id}
                data-alert-id={a.id}
                data-rule={a.rule}
                data-state={a.state}
                data-node={a.node ?? ''}
                data-acknowledged={String(a.acknowledgedAt !== null)}
              >
                <td>
                  <span class={`badge ${a.state === 'firing' ? 'bad' : 'ok'}`}>{a.state}</span>
                </td>
                <td>
                  <span class={`badge ${SEVERITY_CLASS[a.severity]}`}>{a.severity}</span>
                </td>
                <td>{a.rule}</td>
                <td>
                  {a.deployment ? <Link href={deploymentHref(a.deployment)}>{a.deployment}</Link> : null}
                  {a.deployment && a.node ? ' on ' : null}
                  {a.node ? <Link href={nodeHref(a.node)}>{a.node}</Link> : null}
                </td>
                <td class="alert-message">{a.message}</td>
                <td title={a.firedAt}>
                  {ago(a.firedAt, now)}
                  {a.resolvedAt ? <div class="small muted">resolved {ago(a.resolvedAt, now)}</div> : null}
                </td>
                <td class="actions">
                  {a.acknowledgedAt ? (
                    <span class="muted" title={a.acknowledgedAt}>
                      by {a.acknowledgedBy}
                    </span>
                  ) : (
                    <button type="button" aria-label={`acknowledge alert ${a.id}`} disabled={busy !== null} onClick={() => void acknowledge([a.id], a.id)}>
                      {busy === a.id ? 'Acknowledging…' : 'Acknowledge'}
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </div>
  )
}

/** The top bar's count: alerts nobody acknowledged yet, red while one fires; a link to the list. */
export function AlertCount() {
  const { client } = useLive()
  const alerts = useResource('alerts-count', () => client.alerts(), { when: (c) => c.type === 'alert' })
  const count = alerts.data?.unacknowledged ?? 0
  const firing = alerts.data?.firing ?? 0
  const label = alerts.data ? `Alerts: ${count} not acknowledged, ${firing} firing` : 'Alerts'
  return (
    <Link href="/alerts" class={`alert-count ${firing > 0 ? 'firing' : count > 0 ? 'unseen' : ''}`} title={label}>
      <span aria-hidden="true">⚑</span> <span class="visually-hidden">{label}</span>
      <span data-testid="alert-count" aria-hidden="true">
        {alerts.data ? count : '…'}
      </span>
    </Link>
  )
}

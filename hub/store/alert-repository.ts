import type { Database } from 'better-sqlite3'
import type { AlertRule, AlertSeverity } from '../../protocol/api/index.js'
import type { AlertDraft, AlertRecord } from '../alerts/alert-lifecycle.js'
import { Statements } from './statements.js'

interface AlertRow {
  id: number
  key: string
  rule: string
  severity: string
  node_id: string | null
  deployment: string | null
  workload: string | null
  message: string
  state: string
  holding_since: number | null
  fired_at: number | null
  resolved_at: number | null
  acknowledged_at: number | null
  acknowledged_by: string | null
}

const COLUMNS = 'id, key, rule, severity, node_id, deployment, workload, message, state, holding_since, fired_at, resolved_at, acknowledged_at, acknowledged_by'
/** Open: not both resolved and acknowledged (alert-lifecycle.ts, isClosed). */
const OPEN = "(state != 'resolved' OR acknowledged_at IS NULL)"
/** Closed alerts kept as history; older ones are deleted as new ones close. */
const CLOSED_KEPT = 1000

function toRecord(row: AlertRow): AlertRecord {
  return {
    id: row.id,
    key: row.key,
    rule: row.rule as AlertRule,
    severity: row.severity as AlertSeverity,
    node: row.node_id,
    deployment: row.deployment,
    workload: row.workload,
    message: row.message,
    state: row.state as AlertRecord['state'],
    holdingSince: row.holding_since,
    firedAt: row.fired_at,
    resolvedAt: row.resolved_at,
    acknowledgedAt: row.acknowledged_at,
    acknowledgedBy: row.acknowledged_by,
  }
}

/**
 * The hub's alerts. Written by the alert monitor a few times a minute at most and by
 * acknowledgements, so plain statements in the caller's transaction suffice.
 */
export class AlertRepository {
  private readonly sql: Statements

  constructor(db: Database) {
    this.sql = new Statements(db)
  }

  /** Every open alert, pending ones included: what the next evaluation starts from. */
  open(): AlertRecord[] {
    return (this.sql.get(`SELECT ${COLUMNS} FROM alerts WHERE ${OPEN} ORDER BY id`).all() as AlertRow[]).map(toRecord)
  }

  /** What operators see: firing or resolved-unacknowledged, and with `closed`, the latest closed ones too; newest first. */
  visible(options: { closed?: number } = {}): AlertRecord[] {
    const open = this.sql.get(`SELECT ${COLUMNS} FROM alerts WHERE state != 'pending' AND ${OPEN} ORDER BY id DESC`).all() as AlertRow[]
    const closed = options.closed
      ? (this.sql.get(`SELECT ${COLUMNS} FROM alerts WHERE NOT ${OPEN} ORDER BY id DESC LIMIT ?`).all(options.closed) as AlertRow[])
      : []
    return [...open, ...closed].sort((a, b) => b.id - a.id).map(toRecord)
  }

  get(id: number): AlertRecord | null {
    const row = this.sql.get(`SELECT ${COLUMNS} FROM alerts WHERE id = ?`).get(id) as AlertRow | undefined
    return row ? toRecord(row) : null
  }

  insert(alert: AlertDraft): number {
    const result = this.sql
      .get(
        `INSERT INTO alerts (key, rule, severity, node_id, deployment, workload, message, state, holding_since, fired_at, resolved_at, acknowledged_at, acknowledged_by)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        alert.key,
        alert.rule,
        alert.severity,
        alert.node,
        alert.deployment,
        alert.workload,
        alert.message,
        alert.state,
        alert.holdingSince,
        alert.firedAt,
        alert.resolvedAt,
        alert.acknowledgedAt,
        alert.acknowledgedBy,
      )
    return Number(result.lastInsertRowid)
  }

  update(alert: AlertRecord): void {
    this.sql
      .get(
        `UPDATE alerts SET severity = ?, message = ?, state = ?, holding_since = ?, fired_at = ?, resolved_at = ?, acknowledged_at = ?, acknowledged_by = ?
         WHERE id = ?`,
      )
      .run(
        alert.severity,
        alert.message,
        alert.state,
        alert.holdingSince,
        alert.firedAt,
        alert.resolvedAt,
        alert.acknowledgedAt,
        alert.acknowledgedBy,
        alert.id,
      )
  }

  remove(id: number): void {
    this.sql.get('DELETE FROM alerts WHERE id = ?').run(id)
  }

  /** Deletes closed alerts beyond the newest CLOSED_KEPT. */
  pruneClosed(): void {
    this.sql.get(`DELETE FROM alerts WHERE NOT ${OPEN} AND id NOT IN (SELECT id FROM alerts WHERE NOT ${OPEN} ORDER BY id DESC LIMIT ${CLOSED_KEPT})`).run()
  }
}

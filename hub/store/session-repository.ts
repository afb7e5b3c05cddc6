import type { Database } from 'better-sqlite3'
import type { SessionView } from '../../protocol/api/sessions.js'
import { Statements } from './statements.js'

/** What is known of a session when the hub starts relaying it. */
export type SessionStart = Pick<SessionView, 'id' | 'user' | 'node' | 'kind' | 'workload' | 'container' | 'detail' | 'startedAt'>

/** How it ended. */
export type SessionFinish = Pick<SessionView, 'endedAt' | 'exitCode' | 'error' | 'bytesIn' | 'bytesOut'> & { readonly endedAt: string }

interface SessionRow {
  id: string
  user: string
  node_id: string
  kind: SessionView['kind']
  workload: string | null
  container: string | null
  detail: string
  started_at: string
  ended_at: string | null
  exit_code: number | null
  error: string | null
  bytes_in: number
  bytes_out: number
}

/** The audit record of remote sessions: a row at open, completed at the end. */
export class SessionRepository {
  private readonly sql: Statements

  constructor(db: Database) {
    this.sql = new Statements(db)
  }

  start(session: SessionStart): void {
    this.sql
      .get('INSERT INTO sessions (id, user, node_id, kind, workload, container, detail, started_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
      .run(session.id, session.user, session.node, session.kind, session.workload, session.container, session.detail, session.startedAt)
  }

  /** The container the node named once it opened (it may differ from what was asked: the default). */
  setContainer(id: string, container: string | null): void {
    this.sql.get('UPDATE sessions SET container = ? WHERE id = ?').run(container, id)
  }

  finish(id: string, finish: SessionFinish): void {
    this.sql
      .get('UPDATE sessions SET ended_at = ?, exit_code = ?, error = ?, bytes_in = ?, bytes_out = ? WHERE id = ? AND ended_at IS NULL')
      .run(finish.endedAt, finish.exitCode, finish.error, finish.bytesIn, finish.bytesOut, id)
  }

  /** Sessions a previous run of the hub left open: it stopped (or crashed) while they ran. Returns them, closed. */
  closeInterrupted(at: string, error: string): { readonly id: string; readonly nodeId: string }[] {
    const rows = this.sql.get('UPDATE sessions SET ended_at = ?, error = ? WHERE ended_at IS NULL RETURNING id, node_id').all(at, error) as {
      id: string
      node_id: string
    }[]
    return rows.map((row) => ({ id: row.id, nodeId: row.node_id }))
  }

  get(id: string): SessionView | null {
    const row = this.sql.get('SELECT * FROM sessions WHERE id = ?').get(id) as SessionRow | undefined
    return row ? viewOf(row) : null
  }

  /** Newest first. */
  list(filter: { readonly nodeId?: string; readonly limit: number }): SessionView[] {
    const rows = this.sql
      .get('SELECT * FROM sessions WHERE (@node IS NULL OR node_id = @node) ORDER BY started_at DESC, rowid DESC LIMIT @limit')
      .all({ node: filter.nodeId ?? null, limit: filter.limit }) as SessionRow[]
    return rows.map(viewOf)
  }
}

function viewOf(row: SessionRow): SessionView {
  return {
    id: row.id,
    user: row.user,
    node: row.node_id,
    kind: row.kind,
    workload: row.workload,
    container: row.container,
    detail: row.detail,
    startedAt: row.started_at,
    endedAt: row.ended_at,
    exitCode: row.exit_code,
    error: row.error,
    bytesIn: row.bytes_in,
    bytesOut: row.bytes_out,
  }
}

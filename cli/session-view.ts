import type { SessionView } from '../protocol/api/sessions.js'
import { ageOf, formatBytes, renderCells, renderData, type Cell, type OutputFormat, type Terminal } from './output.js'

/** "12s", "3m4s", "2h5m": how long a session ran (or runs). Pure. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '?'
  const seconds = Math.floor(ms / 1000)
  if (seconds < 60) return `${seconds}s`
  const minutes = Math.floor(seconds / 60)
  if (minutes < 60) return `${minutes}m${seconds % 60 ? `${seconds % 60}s` : ''}`
  const hours = Math.floor(minutes / 60)
  return `${hours}h${minutes % 60 ? `${minutes % 60}m` : ''}`
}

/** `shoal get sessions`: newest first, as the hub lists them. */
export function renderSessions(sessions: readonly SessionView[], view: { terminal: Terminal; format: OutputFormat; now: () => number }): string {
  if (view.format === 'json' || view.format === 'yaml') return renderData(view.format, { items: sessions })
  if (view.format === 'name') return sessions.map((s) => `${s.id}\n`).join('')
  const now = view.now()
  const wide = view.format === 'wide'
  const headers = ['ID', 'USER', 'NODE', 'KIND', 'TARGET', 'STARTED', 'DURATION', 'EXIT', 'IN', 'OUT', ...(wide ? ['ERROR'] : [])]
  const rows = sessions.map((s): Cell[] => {
    const target = `${s.workload ?? '(node)'}${s.container ? `/${s.container}` : ''} ${s.detail}`
    const exit: Cell =
      s.endedAt === null
        ? { text: 'running', colour: 'green' }
        : s.error
          ? { text: s.error.split(':')[0] ?? 'error', colour: 'red' }
          : { text: s.exitCode === null ? '-' : String(s.exitCode), colour: s.exitCode ? 'yellow' : null }
    return [
      s.id.slice(0, 12),
      s.user,
      s.node,
      s.kind,
      target.length > 48 ? `${target.slice(0, 47)}…` : target,
      ageOf(s.startedAt, now),
      formatDuration((s.endedAt ? Date.parse(s.endedAt) : now) - Date.parse(s.startedAt)),
      exit,
      formatBytes(s.bytesIn),
      formatBytes(s.bytesOut),
      ...(wide ? [s.error ?? ''] : []),
    ]
  })
  return renderCells(view.terminal, headers, rows)
}

// What the jobs pages say in a word: a cron job's latest run per node in one line, its soonest
// firing, and a job's output grouped by copy. Pure functions of API answers.
// Types straight from protocol/ (with the extension): the unit tests import this file under Node.
import type { CronJobNodeView, JobConditionView, LogStreamRecord } from '../../../protocol/api/index.js'

/** The nodes that carry the cron job now; a node that stopped carrying it keeps its history but is not counted. */
function placed(perNode: readonly CronJobNodeView[]): CronJobNodeView[] {
  return perNode.filter((n) => n.placed)
}

/** "3 nodes: 2 succeeded, 1 failed" by each node's latest run; "no run yet" for a node without one. */
export function lastRunSummary(perNode: readonly CronJobNodeView[]): string {
  const nodes = placed(perNode)
  const count = `${nodes.length} node${nodes.length === 1 ? '' : 's'}`
  if (nodes.length === 0) return count
  let succeeded = 0
  let failed = 0
  let none = 0
  for (const node of nodes) {
    const latest = node.runs[0]
    if (latest === undefined) none++
    else if (latest.outcome === 'succeeded') succeeded++
    else failed++
  }
  const parts = [succeeded > 0 ? `${succeeded} succeeded` : null, failed > 0 ? `${failed} failed` : null, none > 0 ? `${none} no run yet` : null].filter(
    (part) => part !== null,
  )
  return `${count}: ${parts.join(', ')}`
}

/** Whether any carrying node's latest run failed: the summary is shown as a warning. */
export function anyLatestFailed(perNode: readonly CronJobNodeView[]): boolean {
  return placed(perNode).some((n) => n.runs[0]?.outcome === 'failed')
}

/** The soonest next firing over the carrying nodes (ISO), or null when none fires (suspended, or no node). */
export function soonestFiring(perNode: readonly CronJobNodeView[]): string | null {
  let soonest: string | null = null
  for (const node of placed(perNode)) {
    if (node.nextFireAt !== null && (soonest === null || Date.parse(node.nextFireAt) < Date.parse(soonest))) soonest = node.nextFireAt
  }
  return soonest
}

/** The badge class of a job's condition: Complete ok, Failed bad, Active pending or retrying a warning, otherwise info. */
export function jobConditionClass(condition: JobConditionView): 'ok' | 'bad' | 'warn' | 'info' {
  if (condition.type === 'Complete') return 'ok'
  if (condition.type === 'Failed') return 'bad'
  return condition.reason === 'Pending' || condition.reason === 'Retrying' ? 'warn' : 'info'
}

export interface OutputLine {
  readonly stream: 'stdout' | 'stderr'
  readonly text: string
}

export interface CopyOutput {
  readonly lines: OutputLine[]
  /** Lines the node dropped, and what the hub or node said instead of lines. */
  missing: number
  error: string | null
}

/**
 * A job's NDJSON output (GET /api/v1/jobs/NAME/logs) by copy: workload name → its lines.
 * Blank lines keep the stream alive and lines that are not JSON are skipped: the per-copy view
 * needs the record's workload.
 */
export function outputByCopy(ndjson: string): Map<string, CopyOutput> {
  const byWorkload = new Map<string, CopyOutput>()
  const of = (workload: string): CopyOutput => {
    let output = byWorkload.get(workload)
    if (output === undefined) {
      output = { lines: [], missing: 0, error: null }
      byWorkload.set(workload, output)
    }
    return output
  }
  for (const piece of ndjson.split('\n')) {
    if (piece.trim() === '') continue
    let record: LogStreamRecord
    try {
      record = JSON.parse(piece) as LogStreamRecord
    } catch {
      continue
    }
    if (record.type === 'line') of(record.workload).lines.push({ stream: record.stream, text: record.text })
    else if (record.type === 'gap') of(record.workload).missing += record.missing
    else if (record.type === 'error') of(record.workload).error = record.message
  }
  return byWorkload
}

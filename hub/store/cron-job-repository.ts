import type { Database } from 'better-sqlite3'
import { type HistoryLimits, runsToForget } from '../../common/jobs/history-limits.js'
import { canonicalJson, type CronJob } from '../../protocol/index.js'
import type { CronRecord } from '../cron-jobs/cron-run-record.js'
import { Statements } from './statements.js'

export interface CronJobRecord {
  readonly name: string
  /** Grows by one with each apply that changes the manifest (schedule, placement, suspend, anything). */
  readonly revision: number
  readonly manifest: CronJob
  readonly createdAt: string
  readonly updatedAt: string
}

/** One run try on one node, as its event reported it. */
export interface CronRunRecord {
  readonly nodeId: string
  readonly workload: string
  readonly scheduledAt: string
  readonly attempt: number
  readonly outcome: 'succeeded' | 'failed'
  readonly exitCode: number | null
  readonly reason: string | null
  readonly startedAt: string
  readonly finishedAt: string
}

/** A skipped firing or a batch of missed ones on one node. */
export interface CronLapseRecord {
  readonly nodeId: string
  readonly kind: 'skipped' | 'missed'
  readonly scheduledAt: string
  readonly reason: string
  readonly count: number
}

/** What the hub knows of one cron job on one node. */
export interface CronNodeHistory {
  readonly runs: readonly CronRunRecord[]
  readonly lapses: readonly CronLapseRecord[]
  readonly skipped: number
  readonly missed: number
}

/** Skips and misses kept per cron job and node (the totals count them all). */
export const LAPSES_KEPT = 5

interface RunRow {
  node_id: string
  kind: 'run' | 'skipped' | 'missed'
  scheduled_at: string
  attempt: number
  workload: string | null
  outcome: 'succeeded' | 'failed' | null
  exit_code: number | null
  reason: string | null
  started_at: string | null
  finished_at: string | null
  count: number
}

/** The hub's cron jobs (migration cron-jobs) and what their nodes reported of them. */
export class CronJobRepository {
  private readonly sql: Statements

  constructor(db: Database) {
    this.sql = new Statements(db)
  }

  list(): CronJobRecord[] {
    const rows = this.sql.get('SELECT name, revision, manifest, created_at, updated_at FROM cron_jobs ORDER BY name').all() as {
      name: string
      revision: number
      manifest: string
      created_at: string
      updated_at: string
    }[]
    return rows.map((row) => ({
      name: row.name,
      revision: row.revision,
      manifest: JSON.parse(row.manifest) as CronJob,
      createdAt: row.created_at,
      updatedAt: row.updated_at,
    }))
  }

  get(name: string): CronJobRecord | null {
    return this.list().find((job) => job.name === name) ?? null
  }

  /** The document as last applied (field order kept, no defaults), or null. */
  applied(name: string): Record<string, unknown> | null {
    const row = this.sql.get('SELECT applied FROM cron_jobs WHERE name = ?').get(name) as { applied: string | null } | undefined
    return row?.applied ? (JSON.parse(row.applied) as Record<string, unknown>) : null
  }

  /** Creates or updates by name; any change to the manifest is a new revision. */
  apply(
    manifest: CronJob,
    at: string,
    written: Readonly<Record<string, unknown>> | null = null,
  ): { outcome: 'created' | 'configured' | 'unchanged'; revision: number } {
    const name = manifest.metadata.name
    const text = canonicalJson(manifest)
    const existing = this.sql.get('SELECT revision, manifest FROM cron_jobs WHERE name = ?').get(name) as { revision: number; manifest: string } | undefined
    const keepWritten = written === null ? null : JSON.stringify(written)
    if (existing && existing.manifest === text) {
      if (keepWritten !== null) this.sql.get('UPDATE cron_jobs SET applied = ? WHERE name = ?').run(keepWritten, name)
      return { outcome: 'unchanged', revision: existing.revision }
    }
    if (existing) {
      const revision = existing.revision + 1
      this.sql
        .get('UPDATE cron_jobs SET revision = ?, manifest = ?, applied = COALESCE(?, applied), updated_at = ? WHERE name = ?')
        .run(revision, text, keepWritten, at, name)
      return { outcome: 'configured', revision }
    }
    this.sql
      .get('INSERT INTO cron_jobs (name, revision, manifest, applied, created_at, updated_at) VALUES (?, 1, ?, ?, ?, ?)')
      .run(name, text, keepWritten, at, at)
    return { outcome: 'created', revision: 1 }
  }

  /** Removes the cron job and what its nodes reported of it; false when there was none. */
  delete(name: string): boolean {
    const removed = this.sql.get('DELETE FROM cron_jobs WHERE name = ?').run(name).changes > 0
    this.sql.get('DELETE FROM cron_runs WHERE cron_job = ?').run(name)
    this.sql.get('DELETE FROM cron_counts WHERE cron_job = ?').run(name)
    return removed
  }

  /**
   * Stores what one event reported, once: a record already there (the same run try, skip or missed
   * batch, delivered again) changes nothing, totals included. Then the node's history of the cron
   * job is cut to its limits: finished runs by successfulJobsHistoryLimit / failedJobsHistoryLimit,
   * skips and misses to LAPSES_KEPT each. Returns whether it was new. Run inside the caller's
   * transaction (the ingest's).
   */
  record(nodeId: string, record: CronRecord, at: string, limits: HistoryLimits): boolean {
    const run = record.kind === 'run' ? record : null
    const inserted =
      this.sql
        .get(
          `INSERT INTO cron_runs (cron_job, node_id, kind, scheduled_at, attempt, workload, outcome, exit_code, reason, started_at, finished_at, count, recorded_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
        )
        .run(
          record.cronJob,
          nodeId,
          record.kind,
          record.scheduledAt,
          record.attempt,
          run?.workload ?? null,
          run?.outcome ?? null,
          run?.exitCode ?? null,
          record.reason,
          run?.startedAt ?? null,
          run?.finishedAt ?? null,
          record.kind === 'missed' ? record.count : 1,
          at,
        ).changes > 0
    if (!inserted) return false
    if (record.kind === 'run') this.pruneRuns(record.cronJob, nodeId, limits)
    else {
      this.sql
        .get(
          `INSERT INTO cron_counts (cron_job, node_id, skipped, missed) VALUES (?, ?, ?, ?)
           ON CONFLICT (cron_job, node_id) DO UPDATE SET skipped = skipped + excluded.skipped, missed = missed + excluded.missed`,
        )
        .run(record.cronJob, nodeId, record.kind === 'skipped' ? 1 : 0, record.kind === 'missed' ? record.count : 0)
      this.sql
        .get(
          `DELETE FROM cron_runs WHERE cron_job = ? AND node_id = ? AND kind = ? AND scheduled_at NOT IN
             (SELECT scheduled_at FROM cron_runs WHERE cron_job = ? AND node_id = ? AND kind = ? ORDER BY scheduled_at DESC LIMIT ?)`,
        )
        .run(record.cronJob, nodeId, record.kind, record.cronJob, nodeId, record.kind, LAPSES_KEPT)
    }
    return true
  }

  private pruneRuns(cronJob: string, nodeId: string, limits: HistoryLimits): void {
    const rows = this.sql
      .get("SELECT scheduled_at, attempt, outcome, finished_at FROM cron_runs WHERE cron_job = ? AND node_id = ? AND kind = 'run'")
      .all(cronJob, nodeId) as { scheduled_at: string; attempt: number; outcome: 'succeeded' | 'failed'; finished_at: string }[]
    const forget = runsToForget(
      rows.map((row) => ({ id: `${row.scheduled_at}|${String(row.attempt).padStart(4, '0')}`, outcome: row.outcome, finishedAt: Date.parse(row.finished_at) })),
      limits,
    )
    const remove = this.sql.get("DELETE FROM cron_runs WHERE cron_job = ? AND node_id = ? AND kind = 'run' AND scheduled_at = ? AND attempt = ?")
    for (const id of forget) {
      const [scheduledAt = '', attempt = '0'] = id.split('|')
      remove.run(cronJob, nodeId, scheduledAt, Number(attempt))
    }
  }

  /** Per node, what the cron job's nodes reported: runs newest first, skips and misses newest first, and the totals. */
  history(cronJob: string): Map<string, CronNodeHistory> {
    const rows = this.sql.get('SELECT * FROM cron_runs WHERE cron_job = ? ORDER BY node_id, scheduled_at DESC, attempt DESC').all(cronJob) as RunRow[]
    const counts = this.sql.get('SELECT node_id, skipped, missed FROM cron_counts WHERE cron_job = ?').all(cronJob) as {
      node_id: string
      skipped: number
      missed: number
    }[]
    const result = new Map<string, { runs: CronRunRecord[]; lapses: CronLapseRecord[]; skipped: number; missed: number }>()
    const entry = (nodeId: string) => {
      let found = result.get(nodeId)
      if (!found) {
        found = { runs: [], lapses: [], skipped: 0, missed: 0 }
        result.set(nodeId, found)
      }
      return found
    }
    for (const row of rows) {
      if (row.kind === 'run')
        entry(row.node_id).runs.push({
          nodeId: row.node_id,
          workload: row.workload ?? '',
          scheduledAt: row.scheduled_at,
          attempt: row.attempt,
          outcome: row.outcome ?? 'failed',
          exitCode: row.exit_code,
          reason: row.reason,
          startedAt: row.started_at ?? row.scheduled_at,
          finishedAt: row.finished_at ?? row.scheduled_at,
        })
      else entry(row.node_id).lapses.push({ nodeId: row.node_id, kind: row.kind, scheduledAt: row.scheduled_at, reason: row.reason ?? '', count: row.count })
    }
    for (const count of counts) Object.assign(entry(count.node_id), { skipped: count.skipped, missed: count.missed })
    return result
  }
}

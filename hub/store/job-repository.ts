import type { Database } from 'better-sqlite3'
import type { Job } from '../../protocol/index.js'
import type { CopyFinish, CopyReason, CopyStart, CopyState, JobCondition, JobCopyRecord } from '../jobs/job-controller.js'
import { Statements } from './statements.js'

export interface JobRecord {
  readonly uid: number
  readonly name: string
  readonly manifest: Job
  /** The manifest as written (field order, no defaults); null when not kept. */
  readonly applied: Readonly<Record<string, unknown>> | null
  /** Hub time, ms. */
  readonly createdAt: number
  /** The latest condition the controller decided (Active while it runs). */
  readonly condition: JobCondition
  /** When it completed or failed; null while active. */
  readonly finishedAt: number | null
}

/** A copy attempt as stored, with the last lines its node reported when it exited. */
export interface JobRunRecord extends JobCopyRecord {
  readonly jobUid: number
  readonly logLines: readonly string[] | null
}

interface JobRow {
  uid: number
  name: string
  manifest: string
  applied: string | null
  created_at: number
  condition: string
  finished_at: number | null
}

interface RunRow {
  job_uid: number
  copy_index: number
  attempt: number
  node_id: string
  workload: string
  state: CopyState
  exit_code: number | null
  started_at: number
  finished_at: number | null
  reason: CopyReason | null
  log_lines: string | null
}

/** Jobs and every attempt at their copies (migration `jobs`). Callers group writes in their own transaction. */
export class JobRepository {
  private readonly sql: Statements

  constructor(db: Database) {
    this.sql = new Statements(db)
  }

  list(): JobRecord[] {
    return (this.sql.get('SELECT * FROM jobs ORDER BY name').all() as JobRow[]).map(jobOf)
  }

  get(name: string): JobRecord | null {
    const row = this.sql.get('SELECT * FROM jobs WHERE name = ?').get(name) as JobRow | undefined
    return row ? jobOf(row) : null
  }

  create(manifest: Job, applied: Readonly<Record<string, unknown>> | null, createdAt: number, condition: JobCondition): JobRecord {
    const uid = Number(
      this.sql
        .get('INSERT INTO jobs (name, manifest, applied, created_at, condition) VALUES (?, ?, ?, ?, ?)')
        .run(manifest.metadata.name, JSON.stringify(manifest), applied ? JSON.stringify(applied) : null, createdAt, JSON.stringify(condition)).lastInsertRowid,
    )
    return { uid, name: manifest.metadata.name, manifest, applied, createdAt, condition, finishedAt: null }
  }

  /** A new manifest for the same job (fields that may change: see JobService.apply). */
  update(uid: number, manifest: Job, applied: Readonly<Record<string, unknown>> | null): void {
    this.sql.get('UPDATE jobs SET manifest = ?, applied = ? WHERE uid = ?').run(JSON.stringify(manifest), applied ? JSON.stringify(applied) : null, uid)
  }

  setCondition(uid: number, condition: JobCondition, finishedAt: number | null): void {
    this.sql.get('UPDATE jobs SET condition = ?, finished_at = ? WHERE uid = ?').run(JSON.stringify(condition), finishedAt, uid)
  }

  /** Removes the job and its runs; false when there was none. */
  delete(uid: number): boolean {
    this.sql.get('DELETE FROM job_runs WHERE job_uid = ?').run(uid)
    return this.sql.get('DELETE FROM jobs WHERE uid = ?').run(uid).changes > 0
  }

  /** Every run of every job, or of one job; by job, index and attempt. */
  runs(jobUid?: number): JobRunRecord[] {
    const rows = this.sql
      .get('SELECT * FROM job_runs WHERE (@uid IS NULL OR job_uid = @uid) ORDER BY job_uid, copy_index, attempt')
      .all({ uid: jobUid ?? null }) as RunRow[]
    return rows.map(runOf)
  }

  start(jobUid: number, copy: CopyStart): void {
    this.sql
      .get("INSERT INTO job_runs (job_uid, copy_index, attempt, node_id, workload, state, started_at) VALUES (?, ?, ?, ?, ?, 'running', ?)")
      .run(jobUid, copy.index, copy.attempt, copy.nodeId, copy.workload, copy.startedAt)
  }

  finish(jobUid: number, copy: CopyFinish): void {
    this.sql
      .get('UPDATE job_runs SET state = ?, exit_code = ?, finished_at = ?, reason = ?, log_lines = ? WHERE job_uid = ? AND copy_index = ? AND attempt = ?')
      .run(copy.state, copy.exitCode, copy.finishedAt, copy.reason, copy.logLines ? JSON.stringify(copy.logLines) : null, jobUid, copy.index, copy.attempt)
  }
}

function jobOf(row: JobRow): JobRecord {
  return {
    uid: row.uid,
    name: row.name,
    manifest: JSON.parse(row.manifest) as Job,
    applied: row.applied ? (JSON.parse(row.applied) as Record<string, unknown>) : null,
    createdAt: row.created_at,
    condition: JSON.parse(row.condition) as JobCondition,
    finishedAt: row.finished_at,
  }
}

function runOf(row: RunRow): JobRunRecord {
  return {
    jobUid: row.job_uid,
    index: row.copy_index,
    attempt: row.attempt,
    nodeId: row.node_id,
    workload: row.workload,
    state: row.state,
    exitCode: row.exit_code,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    reason: row.reason,
    logLines: row.log_lines ? (JSON.parse(row.log_lines) as string[]) : null,
  }
}

import type { Database } from 'better-sqlite3'
import type { WorkloadTemplate } from '../../protocol/index.js'
import { type HistoryLimits, runsToForget } from '../../common/jobs/history-limits.js'
import type { AgentStore, OutboxEntry } from '../store/agent-store.js'
import { runWorkloadName } from './run-naming.js'

/** Where a cron job's firings stand (FireState.handledThrough, docs/jobs.md) and which schedule that was for. */
export interface StoredFireState {
  readonly specHash: string
  readonly handledThrough: number
}

export interface StoredRun {
  readonly id: number
  readonly cronJob: string
  readonly scheduledAt: number
  readonly workload: string
  /** What it runs, as it was when it started. */
  readonly template: WorkloadTemplate
  /** When it starts (or started): a retry's is in the future until its backoff has passed. */
  readonly startedAt: number
  /** Which try of its firing this is: 1, then one more per retry (the jobTemplate's backoffLimit). */
  readonly attempt: number
}

export interface FinishedRunRecord {
  readonly id: string
  readonly outcome: 'succeeded' | 'failed'
  readonly finishedAt: number
}

export interface RunResult {
  readonly finishedAt: number
  readonly exitCode: number | null
  readonly outcome: 'succeeded' | 'failed'
  readonly reason: string | null
}

/** One cron job as `shoal agent status` shows it. */
export interface CronJobSummary {
  readonly cronJob: string
  /** The latest firing handled (started, skipped or missed), or when the cron job was accepted. */
  readonly handledThrough: number
  /** The next firing, as the runner last decided; null: it never fires again (or has not decided yet). */
  readonly nextFireAt: number | null
  readonly activeRuns: number
  /** The latest finished run still in the history. */
  readonly lastRun: {
    readonly workload: string
    readonly scheduledAt: number
    readonly finishedAt: number
    readonly outcome: 'succeeded' | 'failed'
    readonly exitCode: number | null
    readonly reason: string | null
  } | null
}

interface RunRow {
  id: number
  cron_job: string
  scheduled_at: number
  workload: string
  template: string
  started_at: number
  attempt: number
}

/**
 * The cron runner's tables in the agent's database (migration `cron-jobs`). Every write that
 * decides something is durable (FULL) and carries its events into the outbox in the same
 * transaction (AgentStore.recordWithOutbox): a handled firing is stored before its run starts,
 * and a run's outcome is never stored without its report, nor reported without being stored.
 */
export class CronStore {
  constructor(
    private readonly db: Database,
    private readonly store: Pick<AgentStore, 'recordWithOutbox'>,
  ) {}

  fireState(cronJob: string): StoredFireState | null {
    const row = this.db.prepare('SELECT spec_hash, handled_through FROM cron_fire_state WHERE cron_job = ?').get(cronJob) as
      | { spec_hash: string; handled_through: number }
      | undefined
    return row ? { specHash: row.spec_hash, handledThrough: row.handled_through } : null
  }

  /** A cron job first seen, or with a changed schedule: firings up to `now` are not its to run. */
  accept(cronJob: string, specHash: string, now: number): void {
    this.store.recordWithOutbox(() => {
      this.db
        .prepare(
          `INSERT INTO cron_fire_state (cron_job, spec_hash, handled_through, accepted_at) VALUES (?, ?, ?, ?)
           ON CONFLICT (cron_job) DO UPDATE SET spec_hash = excluded.spec_hash, handled_through = excluded.handled_through, accepted_at = excluded.accepted_at`,
        )
        .run(cronJob, specHash, now, now)
    }, [])
  }

  /**
   * Records a decision: the new handledThrough, the run it starts (if any; returned) and its
   * events, in one transaction, before anything is acted on.
   */
  handle(
    cronJob: string,
    handledThrough: number,
    start: { scheduledAt: number; startedAt: number; template: WorkloadTemplate } | null,
    outbox: readonly OutboxEntry[],
  ): StoredRun | null {
    let run: StoredRun | null = null
    this.store.recordWithOutbox(() => {
      this.db.prepare('UPDATE cron_fire_state SET handled_through = ? WHERE cron_job = ?').run(handledThrough, cronJob)
      if (start !== null) run = this.insertRun(cronJob, { ...start, attempt: 1 })
    }, outbox)
    return run
  }

  /** A run row and its workload name, which holds the row id: the row is made first under a placeholder no name can equal. */
  private insertRun(cronJob: string, run: { scheduledAt: number; startedAt: number; template: WorkloadTemplate; attempt: number }): StoredRun {
    const id = Number(
      this.db
        .prepare('INSERT INTO cron_run (cron_job, scheduled_at, workload, template, started_at, attempt) VALUES (?, ?, ?, ?, ?, ?)')
        .run(cronJob, run.scheduledAt, `.${cronJob}`, JSON.stringify(run.template), run.startedAt, run.attempt).lastInsertRowid,
    )
    const workload = runWorkloadName(cronJob, id)
    this.db.prepare('UPDATE cron_run SET workload = ? WHERE id = ?').run(workload, id)
    return { id, cronJob, workload, ...run }
  }

  /**
   * Notes when the cron job fires next, for `shoal agent status`. Written only when it changes
   * (most looks find it unchanged), and outside the decision's transaction: it is for people.
   */
  noteNextFire(cronJob: string, nextFireAt: number | null): void {
    this.db.prepare('UPDATE cron_fire_state SET next_fire_at = ? WHERE cron_job = ? AND next_fire_at IS NOT ?').run(nextFireAt, cronJob, nextFireAt)
  }

  /** The cron jobs with a fire state, by name. */
  acceptedCronJobs(): string[] {
    return (this.db.prepare('SELECT cron_job FROM cron_fire_state ORDER BY cron_job').all() as { cron_job: string }[]).map((row) => row.cron_job)
  }

  /**
   * Forgets a cron job that has left the directory, once none of its runs is active: its fire
   * state (a cron job of that name added later starts afresh, as a new object would) and its
   * finished runs, so a directory whose jobs come and go does not grow the tables.
   */
  forget(cronJob: string): void {
    this.db.transaction(() => {
      const active = this.db.prepare('SELECT COUNT(*) AS n FROM cron_run WHERE cron_job = ? AND finished_at IS NULL').get(cronJob) as { n: number }
      if (active.n > 0) return
      this.db.prepare('DELETE FROM cron_fire_state WHERE cron_job = ?').run(cronJob)
      this.db.prepare('DELETE FROM cron_run WHERE cron_job = ?').run(cronJob)
    })()
  }

  /** Every cron job the runner has accepted, by name, with its active runs and latest finished one. */
  summaries(): CronJobSummary[] {
    const states = this.db.prepare('SELECT cron_job, handled_through, next_fire_at FROM cron_fire_state ORDER BY cron_job').all() as {
      cron_job: string
      handled_through: number
      next_fire_at: number | null
    }[]
    const active = this.db.prepare('SELECT COUNT(*) AS n FROM cron_run WHERE cron_job = ? AND finished_at IS NULL')
    const last = this.db.prepare(
      'SELECT workload, scheduled_at, finished_at, outcome, exit_code, reason FROM cron_run WHERE cron_job = ? AND finished_at IS NOT NULL ORDER BY finished_at DESC, id DESC LIMIT 1',
    )
    return states.map((state) => {
      const row = last.get(state.cron_job) as
        | { workload: string; scheduled_at: number; finished_at: number; outcome: 'succeeded' | 'failed'; exit_code: number | null; reason: string | null }
        | undefined
      return {
        cronJob: state.cron_job,
        handledThrough: state.handled_through,
        nextFireAt: state.next_fire_at,
        activeRuns: (active.get(state.cron_job) as { n: number }).n,
        lastRun: row
          ? {
              workload: row.workload,
              scheduledAt: row.scheduled_at,
              finishedAt: row.finished_at,
              outcome: row.outcome,
              exitCode: row.exit_code,
              reason: row.reason,
            }
          : null,
      }
    })
  }

  /** Runs without an outcome yet, oldest first. */
  activeRuns(): StoredRun[] {
    const rows = this.db
      .prepare('SELECT id, cron_job, scheduled_at, workload, template, started_at, attempt FROM cron_run WHERE finished_at IS NULL ORDER BY id')
      .all() as RunRow[]
    return rows.map((row) => ({
      id: row.id,
      cronJob: row.cron_job,
      scheduledAt: row.scheduled_at,
      workload: row.workload,
      template: JSON.parse(row.template) as WorkloadTemplate,
      startedAt: row.started_at,
      attempt: row.attempt,
    }))
  }

  /** A cron job's finished runs, for its history limits. */
  finishedRuns(cronJob: string): FinishedRunRecord[] {
    const rows = this.db.prepare('SELECT id, outcome, finished_at FROM cron_run WHERE cron_job = ? AND finished_at IS NOT NULL').all(cronJob) as {
      id: number
      outcome: 'succeeded' | 'failed'
      finished_at: number
    }[]
    return rows.map((row) => ({ id: String(row.id), outcome: row.outcome, finishedAt: row.finished_at }))
  }

  /**
   * A run's outcome and its event in one transaction, with the retry it calls for (the next try
   * of the same firing, starting at `retryAt`); with them, the cron job's finished runs beyond its
   * history limits are forgotten (runsToForget), so the table stays bounded.
   */
  finish(run: StoredRun, result: RunResult, outbox: readonly OutboxEntry[], limits: HistoryLimits, retryAt: number | null = null): void {
    this.store.recordWithOutbox(() => {
      if (retryAt !== null) this.insertRun(run.cronJob, { scheduledAt: run.scheduledAt, startedAt: retryAt, template: run.template, attempt: run.attempt + 1 })
      this.db
        .prepare('UPDATE cron_run SET finished_at = ?, exit_code = ?, outcome = ?, reason = ?, reported = 1 WHERE id = ? AND finished_at IS NULL')
        .run(result.finishedAt, result.exitCode, result.outcome, result.reason, run.id)
      const remove = this.db.prepare('DELETE FROM cron_run WHERE id = ?')
      for (const id of runsToForget(this.finishedRuns(run.cronJob), limits)) remove.run(Number(id))
    }, outbox)
  }
}

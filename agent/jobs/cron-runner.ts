import type { Logger } from 'pino'
import { isoNow, type Clock } from '../../common/clock.js'
import { decideFiring, type FireDecision, type MissedFirings } from '../../common/jobs/fire-decision.js'
import { retryDelayMs } from '../../common/jobs/retry-backoff.js'
import { DEFAULT_FAILED_HISTORY, DEFAULT_SUCCESSFUL_HISTORY, type HistoryLimits } from '../../common/jobs/history-limits.js'
import type { ZoneClocks } from '../../protocol/cron/time-zone.js'
import { durationMs, isPodTemplate, type Workload } from '../../protocol/index.js'
import type { OutboxEntry } from '../store/agent-store.js'
import { firingSkippedEvent, firingsMissedEvent, type RunFailReason, runFinishedEvent } from './cron-events.js'
import { cronKey, type SourcedCronJob } from './cron-source.js'
import type { CronStore, StoredRun } from './cron-store.js'
import { cronTiming } from './cron-timing.js'
import { runDeployment } from './run-naming.js'
import { type RunMemberState, runOutcome } from './run-outcome.js'

export interface CronRunnerOptions {
  readonly nodeId: string
  /** The cron jobs to run: the static directory's as last read, and the last accepted desired document's. */
  readonly jobs: () => readonly SourcedCronJob[]
  readonly store: CronStore
  readonly clock: Clock
  readonly logger: Logger
  readonly zones: ZoneClocks
  /** The node's own zone, for `timeZone: local`: asked only for such jobs (docs/jobs.md, Time zones). */
  readonly nodeZone: () => string
  /** What the reconciler recorded for a run workload's containers (one, or one per container of a several-container run). */
  readonly members: (workload: string) => readonly RunMemberState[]
  /** The set of run workloads changed: the reconciler should look again. */
  readonly changed: () => void
}

/** The most decisions taken for one cron job in one look: each handles every firing due, so one is the rule. */
const DECISIONS_PER_LOOK = 4

/**
 * Fires the static directory's and the hub's cron jobs from this node's clock (docs/jobs.md): each look
 * finishes the runs whose containers have exited (one event each, then the run leaves the
 * desired workloads, so the reconciler removes its container), then decides each cron job's
 * due firings with decideFiring and records the decision before acting on it. Returns when to
 * look again. Runs are workloads (runWorkloads) the reconciler runs like any other.
 */
export class CronRunner {
  private runs: readonly StoredRun[] = []
  private readonly logger: Logger

  constructor(private readonly options: CronRunnerOptions) {
    this.logger = options.logger.child({ component: 'cron' })
    this.runs = options.store.activeRuns()
  }

  /**
   * The active runs as workloads, for the reconciler's desired view, each with the template it
   * started with: an edited manifest changes the next runs, never restarts one under way.
   */
  runWorkloads(): Workload[] {
    return this.runs.map((run) => ({ name: run.workload, deployment: runDeployment(run.cronJob), revision: 1, template: run.template }))
  }

  /** Looks at every run and cron job now; returns the wall-clock instant to look again at (null: no firing ahead). */
  look(): number | null {
    const before = this.runs.map((run) => run.workload).join(' ')
    const now = this.options.clock.now()
    // Keyed by source and name (cron-source.ts): a hub cron job and a static one of one name are two.
    const jobs = new Map(this.options.jobs().map((job) => [cronKey(job.source, job.name), job]))
    const wakes: number[] = []
    for (const run of this.options.store.activeRuns()) this.finishIfDone(run, jobs.get(run.cronJob), now)
    for (const name of this.options.store.acceptedCronJobs()) if (!jobs.has(name)) this.options.store.forget(name)
    for (const [key, job] of jobs) {
      const wake = this.fire(key, job, now)
      if (wake !== null) wakes.push(wake)
    }
    const active = this.options.store.activeRuns()
    // A retry waiting out its backoff is not run yet: the runner wakes for it.
    this.runs = active.filter((run) => run.startedAt <= now)
    for (const run of active) if (run.startedAt > now) wakes.push(run.startedAt)
    // A run with an activeDeadline is looked at again when it passes.
    for (const run of this.runs) {
      const deadline = activeDeadlineMs(jobs.get(run.cronJob))
      if (deadline !== null) wakes.push(run.startedAt + deadline)
    }
    if (this.runs.map((run) => run.workload).join(' ') !== before) this.options.changed()
    return wakes.length === 0 ? null : Math.min(...wakes)
  }

  /** Records a run's outcome once it has one. */
  private finishIfDone(run: StoredRun, job: SourcedCronJob | undefined, now: number): void {
    if (!job) {
      this.finish(run, { outcome: 'failed', exitCode: null, reason: 'CronJobRemoved' }, DEFAULT_LIMITS, now, null)
      return
    }
    if (run.startedAt > now) return // a retry still waiting out its backoff
    const template = run.template
    const expectedMembers = isPodTemplate(template) ? template.containers.length + (template.initContainers?.length ?? 0) : 1
    const deadline = activeDeadlineMs(job)
    const outcome = runOutcome({ members: this.options.members(run.workload), expectedMembers, startedAt: run.startedAt, activeDeadlineMs: deadline }, now)
    if (!outcome.finished) return
    // A try that failed by itself (not stopped by a Replace or a removal) is tried again while the backoffLimit allows.
    const retryAt = outcome.outcome === 'failed' && run.attempt <= job.spec.jobTemplate.backoffLimit ? now + retryDelayMs(run.attempt) : null
    this.finish(run, outcome, historyLimits(job), now, retryAt)
  }

  private finish(
    run: StoredRun,
    result: { outcome: 'succeeded' | 'failed'; exitCode: number | null; reason: RunFailReason | null },
    limits: HistoryLimits,
    now: number,
    retryAt: number | null,
  ): void {
    const { nodeId, clock, store } = this.options
    const report = {
      cronJob: run.cronJob,
      workload: run.workload,
      scheduledAt: run.scheduledAt,
      startedAt: run.startedAt,
      finishedAt: now,
      attempt: run.attempt,
      retryAt,
      ...result,
    }
    store.finish(run, { finishedAt: now, ...result }, [{ kind: 'event', body: runFinishedEvent(nodeId, isoNow(clock), report) }], limits, retryAt)
    this.logger.info(
      {
        cronJob: run.cronJob,
        workload: run.workload,
        outcome: result.outcome,
        exitCode: result.exitCode,
        reason: result.reason,
        attempt: run.attempt,
        retryAt,
      },
      'cron run finished',
    )
  }

  /** Decides the cron job's due firings and records and carries out each decision; returns when it next fires. */
  private fire(name: string, job: SourcedCronJob, now: number): number | null {
    const { store } = this.options
    let resolved: ReturnType<typeof cronTiming>
    try {
      resolved = cronTiming(job.spec, this.options.zones, this.options.nodeZone)
    } catch (error) {
      this.logger.error({ cronJob: name, err: error }, 'cron job cannot be timed; it does not run')
      return null
    }
    const stored = store.fireState(name)
    if (stored === null || stored.specHash !== resolved.specHash) {
      // First seen, or its schedule changed: firings before now are not its to run.
      store.accept(name, resolved.specHash, now)
      this.logger.info({ cronJob: name, schedule: job.spec.schedule, timeZone: job.spec.timeZone }, 'cron job accepted')
    }
    for (let i = 0; i < DECISIONS_PER_LOOK; i++) {
      const handledThrough = store.fireState(name)?.handledThrough ?? now
      const active = store
        .activeRuns()
        .filter((run) => run.cronJob === name)
        .map((run) => run.workload)
      const decision = decideFiring(resolved.timing, { handledThrough, activeRunIds: active }, now)
      if (decision.kind === 'wait') {
        store.noteNextFire(name, decision.until)
        return decision.until
      }
      this.carryOut(name, job, decision, now)
    }
    return now
  }

  private carryOut(name: string, job: SourcedCronJob, decision: Exclude<FireDecision, { kind: 'wait' }>, now: number): void {
    const { nodeId, clock, store } = this.options
    const at = isoNow(clock)
    const missed = (found: MissedFirings | null): OutboxEntry[] =>
      found === null ? [] : [{ kind: 'event', body: firingsMissedEvent(nodeId, at, name, found) }]
    switch (decision.kind) {
      case 'missed':
        store.handle(name, decision.handledThrough, null, missed(decision.missed))
        return
      case 'skip':
        store.handle(name, decision.handledThrough, null, [
          ...missed(decision.missed),
          { kind: 'event', body: firingSkippedEvent(nodeId, at, name, decision.scheduledAt, decision.running, decision.reason) },
        ])
        return
      case 'replace':
      case 'start': {
        // The firing is recorded as handled first, then the runs it replaces end: a crash between
        // leaves them to the next look, never a second run for this firing.
        const run = store.handle(
          name,
          decision.handledThrough,
          { scheduledAt: decision.scheduledAt, startedAt: now, template: job.spec.jobTemplate.template },
          missed(decision.missed),
        )
        if (decision.kind === 'replace') {
          const stopping = new Set(decision.stop)
          for (const old of store.activeRuns().filter((r) => stopping.has(r.workload)))
            this.finish(old, { outcome: 'failed', exitCode: null, reason: 'Replaced' }, historyLimits(job), now, null)
        }
        this.logger.info({ cronJob: name, workload: run?.workload, scheduledAt: new Date(decision.scheduledAt).toISOString() }, 'cron run started')
        return
      }
      default: {
        const unreachable: never = decision
        throw new Error(`unknown fire decision ${String(unreachable)}`)
      }
    }
  }
}

/** For the runs of a cron job that has left the directory (and took its own limits along). */
const DEFAULT_LIMITS: HistoryLimits = { successful: DEFAULT_SUCCESSFUL_HISTORY, failed: DEFAULT_FAILED_HISTORY }

function historyLimits(job: SourcedCronJob): HistoryLimits {
  return { successful: job.spec.successfulJobsHistoryLimit, failed: job.spec.failedJobsHistoryLimit }
}

function activeDeadlineMs(job: SourcedCronJob | undefined): number | null {
  const deadline = job?.spec.jobTemplate.activeDeadline
  return deadline === undefined ? null : durationMs(deadline)
}

import type { Logger } from 'pino'
import type { HealthState, NodeEvent, NodeStatus, Workload, WorkloadStatus } from '../../protocol/index.js'
import { isoNow, steadyClock, type Clock } from '../../common/clock.js'
import type { AgentStore, OutboxEntry, WorkloadRecord } from '../store/agent-store.js'
import type { ContainerLogLimits, ContainerRuntime, ContainerWorkload, ImageInfo, ObservedContainer, RuntimeEvent } from '../runtime/runtime.js'
import { type CopyMember, copyHolds, copyMembers, foldCopy, memberHash, orderHolds, splitMemberName } from './copy-members.js'
import { type Hold, type NodeAdmission, heldState, holdsFor } from './admission.js'
import { type BackOffTally, NO_BACKOFF, tallyRestart } from './backoff-events.js'
import { isCrashLooping, pullBackoffMs, recentCrashes, restartBackoffUntil, shouldRestart } from './crash-policy.js'
import { executeSteps, type StepOutcome } from './executor.js'
import type { StepLimits } from './step-concurrency.js'
import { planSteps, type DesiredWorkload, type Step } from './plan.js'
import { type DerivedState, deriveWorkloadState, isReady } from './workload-status.js'
import { agentRunsLiveness, probesFor } from '../probes/probe-plan.js'
import { FIRST_PROBE_STATE } from '../probes/probe-state.js'
import { Prober, type ProbeTarget } from '../probes/prober.js'
import {
  changesStore,
  decideLocalRevert,
  type LocalRevertDecision,
  type LocalRevertInput,
  type RevertRecord,
  type RevertWindow,
  type RevisionObservation,
} from './local-revert.js'
import { rebaseStart, rebaseTiming } from './stored-times.js'
import { NO_VALUES, type WorkloadValuesSource } from '../values/node-values.js'
import { valueVersions } from '../values/resolve-values.js'
import { hasPullRules } from '../bandwidth/bandwidth-rules.js'
import type { Prefetcher } from '../prefetch/prefetcher.js'
import type { NodeBandwidthView } from '../bandwidth/node-bandwidth.js'
import { PullByteTally } from '../bandwidth/pull-bytes.js'
import { decidePull } from '../bandwidth/pull-decision.js'
import { deferralKey, deferralMessage, expectedPullBytes, gatePulls, type GatedSteps, type PullDeferral } from '../bandwidth/pull-gate.js'

/** What the node should run right now: the hub's document (if any) merged with static workloads. */
export interface DesiredView {
  readonly workloads: readonly Workload[]
  readonly generation: number
  /** The hub's document is not known yet: keep containers the agent cannot account for. */
  readonly keepUnknown: boolean
}

export interface ReconcilerOptions {
  readonly nodeId: string
  readonly runtime: ContainerRuntime
  readonly store: AgentStore
  readonly clock: Clock
  readonly logger: Logger
  readonly desired: () => DesiredView
  /** Whether the hub's broker link is up right now; while it is not, a failing new revision is reverted locally. */
  readonly hubReachable: () => boolean
  readonly extraLabels?: Readonly<Record<string, string>>
  /** The slow timer that catches anything events missed. */
  readonly resyncIntervalMs?: number
  /** Configs and Secrets: their files and env values. Without it, a workload that refers to one fails. */
  readonly values?: WorkloadValuesSource
  /** The node's sealing public key, sent in every status so the hub can seal to it. */
  readonly sealingKey?: string
  /** The node's policy and its devices: workloads asking for more are refused, those missing a device wait. Absent: every workload is admitted. */
  readonly admission?: NodeAdmission
  /** The node's container log bound for templates that set none. */
  readonly logDefaults?: ContainerLogLimits
  /** The node's bandwidth rules and byte meter: image pulls they do not allow wait (pull-deferred). Absent: pulls never wait. */
  readonly bandwidth?: NodeBandwidthView
  /** Steps of one pass run at once (the firmware profile's concurrentSteps and concurrentPulls); absent: DEFAULT_STEP_LIMITS. */
  readonly stepLimits?: StepLimits
  /** The least time between two BackOff events of one crash-looping workload (the firmware profile's backOffEventInterval); absent: BACKOFF_EVENT_INTERVAL_MS. */
  readonly backOffEventIntervalMs?: number
  /** Pulls the next revision's images ahead of a rollout (the document's `prefetch`); each copy's status says how far it got. */
  readonly prefetch?: Pick<Prefetcher, 'sync' | 'status' | 'key'>
  /** Called after each pass has recorded the workloads' states, for parts that follow them (cron runs, agent/jobs/). */
  readonly afterPass?: () => void
}

const LOG_LINES_ON_CRASH = 10
/** A finished copy's last lines: as many as a status carries (protocol/status.ts). */
const LOG_LINES_ON_EXIT = 20
/** The longest a deferred pull's wake-up timer waits before the rules are asked again. */
const MAX_DEFERRED_WAKE_MS = 3_600_000
/** A failed pass (the engine restarting, say) is retried sooner than the resync timer: 1 s, 2 s ... 30 s. */
const RETRY_BASE_MS = 1_000
const RETRY_MAX_MS = 30_000

/**
 * A level-triggered loop: any trigger (new document, engine event, timer) asks for a pass;
 * passes never overlap, and triggers during a pass cause exactly one more.
 */
export class Reconciler {
  private readonly logger: Logger
  private running: Promise<void> | null = null
  private again = false
  private stopped = false
  private timer: NodeJS.Timeout | null = null
  private wakeTimer: NodeJS.Timeout | null = null
  private readonly events = new AbortController()
  private readonly stopping = new Set<string>()
  private readonly pulling = new Set<string>()
  /** The bytes each pull in progress has fetched, from its progress lines. */
  private readonly pullBytes = new Map<string, PullByteTally>()
  /** Pulls the last pass held back for the bandwidth rules, and the deferral each last status reported. */
  private deferrals: ReadonlyMap<string, PullDeferral> = new Map()
  private readonly reportedDeferrals = new Map<string, string>()
  private readonly pullFailures = new Map<string, number>()
  /** The image whose latest pull failed, per workload: a failed pull is a health-gate failure of that revision. */
  private readonly failedPulls = new Map<string, string>()
  /** The containers the last pass ran, by workload name, local reverts applied: the restart policy of a container is its running template's. */
  private effective = new Map<string, CopyMember>()
  /** What the last pass held back (refused by policy, waiting for a device), and why. */
  private holds = new Map<string, Hold>()
  /** The hold reason each workload had in the last status sent, so a device leaving a running copy is reported. */
  private readonly reportedHolds = new Map<string, string>()
  /** The device set in the last status sent. */
  private reportedDevices: string | null = null
  /** The copies' pull-ahead in the last status sent (Prefetcher.key). */
  private reportedPrefetch = ''
  private passes = 0
  /** Whether a status went out since start: the first carries the sealing key even with nothing to run. */
  private statusSent = false
  /** The last error preparing each workload's values, so a lasting one is logged once, not every pass. */
  private readonly valueErrors = new Map<string, string>()
  private failedPasses = 0
  private retryTimer: NodeJS.Timeout | null = null
  /** Restarts of each crash-looping workload not yet reported in a BackOff event. */
  private readonly backoffTallies = new Map<string, BackOffTally>()
  /** The restart count each workload had in the last status sent, so a restart alone is reported. */
  private readonly reportedRestarts = new Map<string, number>()
  /** The last log lines of each crash-looping workload, and of each finished one that never restarts, for its events and statuses. */
  private readonly crashLogs = new Map<string, string[]>()
  /**
   * The time every interval is measured on (crash windows, restart and pull backoff, BackOff
   * event pacing, revert windows, the wake-up timer): the wall clock as of this run's start,
   * advanced by the monotonic clock, so a step of the wall clock while the agent runs changes
   * nothing. Wall time (clock.now()) is only for the timestamps reports carry.
   */
  private readonly steady: () => number
  /** The http, tcp and readiness checks the agent runs itself; a change asks for a pass, which reports it. */
  private readonly prober: Prober
  /** Whether each workload was ready in the last status sent, and what its failing check said. */
  private readonly reportedReady = new Map<string, boolean>()
  private readonly reportedProbeReasons = new Map<string, string>()

  constructor(private readonly options: ReconcilerOptions) {
    this.logger = options.logger.child({ component: 'reconciler' })
    this.steady = steadyClock(options.clock)
    this.prober = new Prober({ runtime: options.runtime, logger: options.logger, now: this.steady, onChange: () => this.request('probe') })
  }

  start(): void {
    this.rebaseStoredTimes()
    this.timer = setInterval(() => this.request('timer'), this.options.resyncIntervalMs ?? 30_000)
    this.timer.unref()
    void this.watchEvents()
    this.request('start')
  }

  async stop(): Promise<void> {
    this.stopped = true
    this.events.abort()
    this.prober.stop()
    if (this.timer) clearInterval(this.timer)
    if (this.wakeTimer) clearTimeout(this.wakeTimer)
    if (this.retryTimer) clearTimeout(this.retryTimer)
    await this.running
  }

  /**
   * Times a previous run stored were measured on its timeline, not this one's, and the wall
   * clock may have been stepped between the two: crash times and window starts in the future
   * become now, deadlines further ahead than their longest length are cut to it (rules and
   * reasons in stored-times.ts). Once, before the first pass; everything this run stores after
   * is on its own timeline.
   */
  private rebaseStoredTimes(): void {
    const { store } = this.options
    const now = this.steady()
    const upsert: WorkloadRecord[] = []
    for (const record of store.workloads()) {
      const rebased = rebaseTiming(record, now)
      if (rebased) upsert.push({ ...record, recentCrashes: rebased.recentCrashes, backoffUntil: rebased.backoffUntil })
    }
    const windows: RevertWindow[] = []
    for (const window of store.revertWindows()) {
      const startedAt = rebaseStart(window.startedAt, now)
      if (startedAt !== window.startedAt) windows.push({ ...window, startedAt })
    }
    if (upsert.length > 0) store.record({ upsert })
    if (windows.length > 0) store.recordLocalRevert({ startWindows: windows, clearWindows: [], revert: [], clearReverts: [], outbox: [] })
    if (upsert.length + windows.length > 0) {
      this.logger.warn(
        { now: new Date(now).toISOString(), workloads: upsert.map((r) => r.name), windows: windows.map((w) => w.workload) },
        'stored crash times, backoff deadlines or revert windows lay ahead of this clock (it was stepped back while the agent was down); brought them back to now',
      )
    }
  }

  /** Completed passes, for status and tests. */
  get passCount(): number {
    return this.passes
  }

  request(reason: string): void {
    if (this.stopped) return
    if (this.running !== null) {
      this.again = true
      return
    }
    // The loop starts a microtask later, so `running` is set before any of its code runs: a
    // part it calls synchronously (the prefetcher, a probe) that asks for a pass only queues one.
    this.running = Promise.resolve()
      .then(() => this.loop(reason))
      .finally(() => {
        this.running = null
      })
  }

  /** Resolves when no pass is running or queued. */
  async settled(): Promise<void> {
    while (this.running !== null) await this.running
  }

  private async loop(reason: string): Promise<void> {
    let why = reason
    do {
      this.again = false
      try {
        await this.pass(why)
        this.failedPasses = 0
        this.options.afterPass?.()
      } catch (error) {
        this.failedPasses++
        const retryMs = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** (this.failedPasses - 1))
        this.logger.warn({ err: error, reason: why, retryInMs: retryMs }, 'reconcile pass failed; retrying')
        this.scheduleRetry(retryMs)
      }
      this.passes++
      this.logger.debug({ reason: why, passes: this.passes }, 'reconcile pass done')
      why = 'queued'
    } while (this.again && !this.stopped)
  }

  private async pass(reason: string): Promise<void> {
    const { runtime, nodeId, clock } = this.options
    const view = this.options.desired()
    this.options.prefetch?.sync(view.workloads)
    // Side by side: two engine round trips of 10-20 ms each, before every pass's first step.
    const [observed, images] = await Promise.all([runtime.list(nodeId), runtime.listImages()])
    const imagesPresent = new Set(images.flatMap((image) => image.tags))
    const records = new Map(this.options.store.workloads().map((r) => [r.name, r]))
    const decision = this.applyLocalRevert(view, observed, records)
    // From here on, a several-container copy is its containers (copy-members.ts).
    const members = decision.workloads.flatMap((workload) => copyMembers(workload, nodeId))
    this.effective = new Map(members.map((m) => [m.workload.name, m]))
    const hashes = new Map(members.map((m) => [m.workload.name, memberHash(m, observed)]))
    const desired: DesiredWorkload[] = members.map((m) => ({
      workload: m.workload,
      configHash: hashes.get(m.workload.name) ?? m.configHash,
      ...(m.joins !== undefined ? { joins: m.joins } : {}),
    }))
    const byName = new Map(desired.map((d) => [d.workload.name, d]))
    const admission = this.options.admission
    const admitted = admission
      ? holdsFor(
          members.map((m) => m.workload),
          admission.policy,
          admission.devices(),
        )
      : new Map<string, Hold>()
    this.holds = copyHolds(members, admitted, orderHolds(members, observed, hashes))
    const held = new Map([...this.holds].map(([name, hold]) => [name, hold.kind]))
    // Before anything starts, and every pass: a container the engine restarts by itself finds its
    // files, also after a reboot emptied the tmpfs while the agent was down.
    this.prepareValues(desired)
    const planned = planSteps({ desired, observed, timing: records, imagesPresent, keepUnknown: view.keepUnknown, now: this.steady(), held })
    const gated = this.gatePulls(planned, images, byName)
    this.deferrals = gated.deferred
    const steps = gated.steps
    const actions = steps.filter((step) => step.kind !== 'wait')
    if (actions.length > 0) this.logger.info({ reason, steps: actions.map(describeStep) }, 'reconciling')
    const outcomes = await executeSteps(steps, byName, {
      nodeId,
      runtime,
      logger: this.logger,
      extraLabels: this.options.extraLabels ?? {},
      stopping: this.stopping,
      values: this.values,
      ...(this.options.logDefaults ? { logDefaults: this.options.logDefaults } : {}),
      ...(this.options.stepLimits ? { limits: this.options.stepLimits } : {}),
      onPullStart: (workload, image) => {
        this.pulling.add(workload)
        this.pullBytes.set(workload, new PullByteTally())
        const overridden = gated.overridden.includes(workload)
        this.logger.info(
          { workload, image, ...(overridden ? { overridden } : {}) },
          overridden ? 'pulling image (--pull-now overrides the bandwidth rules)' : 'pulling image',
        )
        this.recordStatus(view, byName, observed, [event(nodeId, clock, 'ImagePulling', 'info', `pulling ${image}`, workload)])
      },
      onPullProgress: (workload, progress) => {
        this.pullBytes.get(workload)?.add(progress)
        this.logger.debug({ workload, ...progress }, 'pull progress')
      },
    })
    for (const workload of this.pulling) this.pulling.delete(workload)
    const extraEvents = this.noteOutcomes(outcomes, byName)
    this.scheduleWake(steps)
    const after = actions.length > 0 ? await runtime.list(nodeId) : observed
    this.pruneValues(view, desired, after)
    this.prober.sync(probeTargets(byName, after))
    await this.recordStatusWithLogs(view, byName, after, extraEvents)
    // A failure this pass recorded may call for a revert: decide it now, not at the next event or timer.
    if (view.workloads.some((w) => w.fallback) && !this.options.hubReachable()) {
      const fresh = new Map(this.options.store.workloads().map((r) => [r.name, r]))
      if (decideLocalRevert(this.localRevertInput(view, after, fresh)).revert.length > 0) this.request('local-revert')
    }
  }

  /**
   * Puts each planned pull to the node's bandwidth rules (agent/bandwidth): a deferred one is
   * dropped with its workload's later steps, and a wait step wakes the loop at its next attempt.
   * Pulls in the same pass count against the budget together.
   */
  private gatePulls(steps: readonly Step[], images: readonly ImageInfo[], byName: ReadonlyMap<string, DesiredWorkload>): GatedSteps {
    const bandwidth = this.options.bandwidth
    const rules = bandwidth && steps.some((step) => step.kind === 'pull') ? bandwidth.rules() : null
    if (!bandwidth || !rules || !hasPullRules(rules)) return { steps: [...steps], deferred: new Map(), overridden: [] }
    const now = this.options.clock.now()
    let planned = 0
    const gated = gatePulls(steps, (step) => {
      const expectedBytes = expectedPullBytes(step.image, images)
      const override = byName.get(step.workload)?.workload.pullNow === true
      const verdict = decidePull({ now, zone: bandwidth.zone, rules, usedBytes: bandwidth.meter.total() + planned, expectedBytes, override })
      if (verdict.allow) planned += expectedBytes ?? 0
      return verdict
    })
    const steady = this.steady()
    const waits: Step[] = []
    for (const [workload, deferral] of gated.deferred) {
      // At most an hour ahead: a timer cannot wait a month (Node fires one past 24.8 days at
      // once), and a wall clock stepped meanwhile is read again at each pass.
      if (deferral.nextAttemptAt !== null)
        waits.push({
          kind: 'wait',
          workload,
          until: steady + Math.min(MAX_DEFERRED_WAKE_MS, Math.max(0, deferral.nextAttemptAt - now)),
          reason: 'pull-deferred',
        })
    }
    return { ...gated, steps: [...gated.steps, ...waits] }
  }

  private get values(): WorkloadValuesSource {
    return this.options.values ?? NO_VALUES
  }

  /** Writes every desired workload's value files; a failure is logged when it changes and shows again at its create or start step. */
  private prepareValues(desired: readonly DesiredWorkload[]): void {
    for (const { workload, configHash: hash } of desired) {
      try {
        this.values.prepare(workload, hash)
        this.valueErrors.delete(workload.name)
      } catch (error) {
        const message = (error as Error).message
        if (this.valueErrors.get(workload.name) !== message)
          this.logger.warn({ workload: workload.name, reason: message }, 'cannot prepare the Configs and Secrets of a workload')
        this.valueErrors.set(workload.name, message)
      }
    }
    for (const name of this.valueErrors.keys()) if (!desired.some((d) => d.workload.name === name)) this.valueErrors.delete(name)
  }

  /**
   * Removes the files of containers that are gone: only what a desired workload or a container
   * still present uses is kept. Not while the hub's document is unknown (containers are kept then,
   * and so are their files).
   */
  private pruneValues(view: DesiredView, desired: readonly DesiredWorkload[], observed: readonly ObservedContainer[]): void {
    if (view.keepUnknown) return
    try {
      const keep = [
        ...desired.map((d) => ({ workload: d.workload.name, configHash: d.configHash })),
        ...observed.map((c) => ({ workload: c.workload, configHash: c.configHash })),
      ]
      const removed = this.values.prune(keep)
      if (removed.length > 0) this.logger.info({ removed }, 'removed the Config and Secret files of containers that are gone')
    } catch (error) {
      this.logger.warn({ err: error }, 'cannot remove the Config and Secret files of containers that are gone')
    }
  }

  /** Decides local reverts (a pure function) and stores the windows, reverts and their events together. */
  private applyLocalRevert(view: DesiredView, observed: readonly ObservedContainer[], records: ReadonlyMap<string, WorkloadRecord>): LocalRevertDecision {
    const { store, nodeId, clock } = this.options
    const decision = decideLocalRevert(this.localRevertInput(view, observed, records))
    if (changesStore(decision)) {
      const outbox: OutboxEntry[] = []
      for (const r of decision.revert) {
        this.logger.warn(
          { workload: r.workload, fromRevision: r.fromRevision, toRevision: r.toRevision, reason: r.reason },
          'hub unreachable; reverting to the fallback revision',
        )
        const message = `${r.workload}: revision ${r.fromRevision} failed (${r.reason}) while the hub was unreachable; reverted to revision ${r.toRevision}`
        outbox.push({
          kind: 'event',
          body: event(nodeId, clock, 'LocalRevert', 'warning', message, r.workload, {
            fromRevision: r.fromRevision,
            toRevision: r.toRevision,
            reason: r.reason,
          }),
        })
      }
      for (const r of decision.clearReverts) {
        const now = decision.workloads.find((w) => w.name === r.workload)?.revision ?? null
        this.logger.info({ workload: r.workload, fromRevision: r.fromRevision, revision: now }, 'a newer document supersedes the local revert')
        const message = `${r.workload}: local revert from revision ${r.fromRevision} cleared; ${now === null ? 'no longer desired' : `now revision ${now}`}`
        outbox.push({
          kind: 'event',
          body: event(nodeId, clock, 'LocalRevertCleared', 'info', message, r.workload, {
            fromRevision: r.fromRevision,
            toRevision: r.toRevision,
            revision: now,
          }),
        })
      }
      store.recordLocalRevert({
        startWindows: decision.startWindows,
        clearWindows: decision.clearWindows,
        revert: decision.revert,
        clearReverts: decision.clearReverts.map((r) => r.workload),
        outbox,
      })
    }
    return decision
  }

  private localRevertInput(view: DesiredView, observed: readonly ObservedContainer[], records: ReadonlyMap<string, WorkloadRecord>): LocalRevertInput {
    const { store, nodeId, clock } = this.options
    const observations = new Map<string, RevisionObservation>()
    for (const workload of view.workloads) {
      if (!workload.fallback) continue
      const observation = this.revisionObservation(copyMembers(workload, nodeId), observed, records)
      if (observation) observations.set(workload.name, observation)
    }
    return {
      workloads: view.workloads,
      reverts: new Map(store.localReverts().map((r) => [r.workload, r])),
      windows: new Map(store.revertWindows().map((w) => [w.workload, w])),
      observed: observations,
      now: this.steady(),
      wallNow: clock.now(),
      hubReachable: this.options.hubReachable(),
    }
  }

  /**
   * How a copy's revision is doing, from its containers' records: a one-container copy's own, a
   * several-container copy's folded into one (foldCopy). Null until every container has a record.
   */
  private revisionObservation(
    members: readonly CopyMember[],
    observed: readonly ObservedContainer[],
    records: ReadonlyMap<string, WorkloadRecord>,
  ): RevisionObservation | null {
    const reports = []
    for (const member of members) {
      const record = records.get(member.workload.name)
      if (!record) return null
      reports.push({
        member,
        record,
        state: record.state,
        health: record.health,
        ready: false,
        restarts: record.restarts,
        exitCode: record.exitCode,
        message: null,
      })
    }
    const copy = reports.length === 1 ? null : foldCopy(reports)
    const from = reports.find((r) => r.member === copy?.from) ?? reports[0]
    if (!from) return null
    const containers = observed.filter((c) => c.workload === from.member.workload.name)
    const hash = memberHash(from.member, observed)
    return {
      revision: from.record.revision,
      state: copy?.state ?? from.state,
      health: copy?.health ?? from.health,
      exitCode: copy ? copy.exitCode : from.exitCode,
      current: containers.length === 0 || containers.some((c) => c.configHash === hash),
      pullFailed: members.some((m) => this.failedPulls.get(m.workload.name) === m.workload.template.image),
    }
  }

  /** Turns step results into bookkeeping (pull backoff, last errors) and events. */
  private noteOutcomes(outcomes: readonly StepOutcome[], byName: ReadonlyMap<string, DesiredWorkload>): NodeEvent[] {
    const { nodeId, clock, store } = this.options
    const events: NodeEvent[] = []
    const upserts: WorkloadRecord[] = []
    for (const outcome of outcomes) {
      const desired = byName.get(outcome.workload)
      const record = store.workload(outcome.workload)
      if (outcome.step === 'pull') {
        // A failed pull spent what it fetched too; saved at once, as pulls are the big spenders.
        const bytes = this.pullBytes.get(outcome.workload)?.bytes ?? 0
        this.pullBytes.delete(outcome.workload)
        this.options.bandwidth?.meter.add('images', bytes, true)
        if (outcome.ok) {
          this.pullFailures.delete(outcome.workload)
          this.failedPulls.delete(outcome.workload)
          events.push(event(nodeId, clock, 'ImagePulled', 'info', `pulled ${desired?.workload.template.image ?? ''}`, outcome.workload, { bytes }))
        } else {
          const failures = (this.pullFailures.get(outcome.workload) ?? 0) + 1
          this.pullFailures.set(outcome.workload, failures)
          if (desired) this.failedPulls.set(outcome.workload, desired.workload.template.image)
          events.push(
            event(
              nodeId,
              clock,
              'ImagePullFailed',
              'warning',
              `${outcome.error ?? 'pull failed'} (attempt ${failures}; retrying with backoff)`,
              outcome.workload,
            ),
          )
          if (desired)
            upserts.push({
              ...baseRecord(desired, record, clock),
              lastError: outcome.error ?? 'pull failed',
              backoffUntil: this.steady() + pullBackoffMs(failures),
            })
        }
        continue
      }
      if (!outcome.ok) {
        events.push(event(nodeId, clock, 'WorkloadStepFailed', 'warning', `${outcome.step} failed: ${outcome.error ?? 'unknown error'}`, outcome.workload))
        if (desired) upserts.push({ ...baseRecord(desired, record, clock), lastError: `${outcome.step} failed: ${outcome.error ?? 'unknown error'}` })
      } else if (outcome.step === 'create' || outcome.step === 'recreate' || outcome.step === 'start') {
        if (desired && record?.lastError) upserts.push({ ...baseRecord(desired, record, clock), lastError: null })
      }
    }
    if (upserts.length > 0) store.record({ upsert: upserts })
    return events
  }

  private async recordStatusWithLogs(
    view: DesiredView,
    byName: ReadonlyMap<string, DesiredWorkload>,
    observed: readonly ObservedContainer[],
    events: NodeEvent[],
  ): Promise<void> {
    const now = this.steady()
    // Finished for good (a job's copy, a cron run): its last lines go with its status, since the
    // hub removes the container once it has recorded the outcome. Read once, also in the pass that
    // started it (its workload record is made after this).
    const finished = new Set<string>()
    for (const container of observed) {
      if (container.state !== 'exited' || byName.get(container.workload)?.workload.template.restartPolicy !== 'never') continue
      finished.add(container.workload)
      if (!this.crashLogs.has(container.workload)) this.crashLogs.set(container.workload, await this.lastLogLines(container.id, LOG_LINES_ON_EXIT))
    }
    for (const record of this.options.store.workloads()) {
      const container = observed.find((c) => c.workload === record.name)
      if (finished.has(record.name)) continue
      if (!isCrashLooping(record.recentCrashes, now)) {
        this.crashLogs.delete(record.name)
      } else if (container && (record.state !== 'crash-loop' || !this.crashLogs.has(record.name))) {
        // Read once when the loop starts (or after an agent restart), then kept: every status
        // while the loop lasts carries them, not only the one that a newer status compacts away.
        this.crashLogs.set(record.name, await this.lastLogLines(container.id))
      }
    }
    for (const name of this.crashLogs.keys()) if (!byName.has(name)) this.crashLogs.delete(name)
    this.recordStatus(view, byName, observed, events)
  }

  /** Derives each workload's state, stores transitions with their events and a fresh status in one transaction. */
  private recordStatus(
    view: DesiredView,
    byName: ReadonlyMap<string, DesiredWorkload>,
    observed: readonly ObservedContainer[],
    events: NodeEvent[],
    lastLogs: ReadonlyMap<string, string[]> = this.crashLogs,
  ): void {
    const { store, clock, nodeId } = this.options
    const now = this.steady()
    const records = new Map(store.workloads().map((r) => [r.name, r]))
    const upserts: WorkloadRecord[] = []
    const outbox: OutboxEntry[] = []
    // The first pass always reports when there is a key to register: a node with nothing to run
    // (enrolled before nodes had keys) would otherwise never tell the hub what to seal its Secrets to.
    let changed = events.length > 0 || (!this.statusSent && this.options.sealingKey !== undefined)
    const devices = this.options.admission?.devices().join('\n') ?? null
    if (devices !== this.reportedDevices) changed = true
    const prefetch = this.options.prefetch?.key() ?? ''
    if (prefetch !== this.reportedPrefetch) changed = true
    // Why each workload is in its state ("crashed 3 times ...; backing off"), for the status.
    const reasons = new Map<string, string>()
    const readiness = new Map<string, boolean>()
    const probeReasons = new Map<string, string>()
    for (const { workload, configHash: hash } of byName.values()) {
      const probed = this.probed(
        workload,
        observed.find((c) => c.workload === workload.name),
      )
      const container = probed.container
      const record = records.get(workload.name)
      const deferral = this.deferrals.get(workload.name)
      if ((this.reportedDeferrals.get(workload.name) ?? null) !== (deferral ? deferralKey(deferral) : null)) {
        changed = true
        if (deferral) {
          const data = {
            image: deferral.image,
            causes: deferral.causes.join(','),
            nextAttemptAt: deferral.nextAttemptAt === null ? null : new Date(deferral.nextAttemptAt).toISOString(),
          }
          events.push(event(nodeId, clock, 'PullDeferred', 'warning', `${workload.name}: ${deferralMessage(deferral)}`, workload.name, data))
        }
      }
      // Another config means another container (a rollout, a local revert): the crashes of the
      // one it replaces say nothing about it, and would report a healthy copy as crash-looping.
      const replaced = record !== undefined && record.configHash !== hash
      const history = {
        lastError: record?.lastError ?? null,
        recentCrashes: replaced ? [] : recentCrashes(record?.recentCrashes ?? [], now),
        lastExitCode: replaced ? null : (record?.exitCode ?? null),
        pulling: this.pulling.has(workload.name),
        ...(deferral ? { pullDeferred: deferralMessage(deferral) } : {}),
      }
      const hold = this.holds.get(workload.name)
      const derived = withDeferral(
        heldState(deriveWorkloadState(workload, container, history, now), hold, container !== undefined),
        container,
        history.pullDeferred,
      )
      const message = derived.message ?? (derived.state === 'running' ? probed.reason : null)
      if (message) reasons.set(workload.name, message)
      const ready = isReady(derived.state, derived.health, probed.readiness)
      if (probed.reason !== null) probeReasons.set(workload.name, probed.reason)
      readiness.set(workload.name, ready)
      const wasReady = this.reportedReady.get(workload.name)
      // A check failing for another reason (refused, then 503) is news even when readiness is not.
      if ((this.reportedProbeReasons.get(workload.name) ?? null) !== probed.reason) changed = true
      if (wasReady !== ready) {
        changed = true
        if (wasReady !== undefined && workload.template.readiness) {
          const why = ready ? 'ready' : `not ready${probed.reason ? ` (${probed.reason})` : ''}`
          events.push(event(nodeId, clock, 'WorkloadReadinessChanged', ready ? 'info' : 'warning', `${workload.name}: ${why}`, workload.name, { ready }))
        }
      }
      if ((this.reportedHolds.get(workload.name) ?? null) !== (hold?.reason ?? null)) changed = true
      const next: WorkloadRecord = {
        name: workload.name,
        deployment: workload.deployment,
        revision: workload.revision,
        configHash: hash,
        containerId: container?.id ?? null,
        state: derived.state,
        health: derived.health,
        restarts: replaced ? 0 : (record?.restarts ?? 0),
        exitCode: derived.exitCode ?? history.lastExitCode,
        lastError: record?.lastError ?? null,
        recentCrashes: history.recentCrashes,
        backoffUntil: record?.backoffUntil ?? 0,
        since: record && record.state === derived.state ? record.since : isoNow(clock),
      }
      // A restart alone changes no state, but the status must say it happened.
      if (this.reportedRestarts.get(workload.name) !== next.restarts) changed = true
      if (
        !record ||
        record.state !== next.state ||
        record.health !== next.health ||
        record.containerId !== next.containerId ||
        record.revision !== next.revision ||
        record.configHash !== next.configHash
      ) {
        changed = true
        upserts.push(next)
        if (!record || record.state !== next.state) {
          const severity = next.state === 'crash-loop' || next.state === 'failed' ? 'warning' : 'info'
          const message = `${workload.name}: ${record?.state ?? 'new'} → ${next.state}${derived.message ? ` (${derived.message})` : ''}`
          const logLines = lastLogs.get(workload.name)
          events.push(
            event(nodeId, clock, 'WorkloadStateChanged', severity, message, workload.name, {
              from: record?.state ?? null,
              to: next.state,
              exitCode: next.exitCode,
              lastLog: logLines?.join('\n') ?? null,
            }),
          )
        }
        if (record && record.health !== next.health) {
          events.push(
            event(
              nodeId,
              clock,
              'WorkloadHealthChanged',
              next.health === 'unhealthy' ? 'warning' : 'info',
              `${workload.name}: health ${record.health} → ${next.health}`,
              workload.name,
            ),
          )
        }
      }
    }
    const removed = [...records.keys()].filter((name) => !byName.has(name))
    for (const name of removed) {
      changed = true
      events.push(event(nodeId, clock, 'WorkloadRemoved', 'info', `${name}: removed (no longer desired)`, name))
    }
    if (!changed) return
    for (const { workload } of byName.values()) {
      this.reportedReady.set(workload.name, readiness.get(workload.name) ?? false)
      const reason = probeReasons.get(workload.name)
      if (reason === undefined) this.reportedProbeReasons.delete(workload.name)
      else this.reportedProbeReasons.set(workload.name, reason)
      this.reportedRestarts.set(workload.name, records.get(workload.name)?.restarts ?? 0)
      const hold = this.holds.get(workload.name)
      if (hold) this.reportedHolds.set(workload.name, hold.reason)
      else this.reportedHolds.delete(workload.name)
      const deferral = this.deferrals.get(workload.name)
      if (deferral) this.reportedDeferrals.set(workload.name, deferralKey(deferral))
      else this.reportedDeferrals.delete(workload.name)
    }
    this.reportedDevices = devices
    this.reportedPrefetch = prefetch
    for (const name of removed) {
      this.reportedRestarts.delete(name)
      this.reportedReady.delete(name)
      this.reportedProbeReasons.delete(name)
      this.reportedHolds.delete(name)
      this.reportedDeferrals.delete(name)
      this.backoffTallies.delete(name)
    }
    for (const e of events) outbox.push({ kind: 'event', body: e })
    outbox.push({
      kind: 'status',
      body: this.snapshot(view, byName, observed, new Map([...records, ...upserts.map((u) => [u.name, u] as const)]), lastLogs, reasons, readiness),
    })
    store.record({ upsert: upserts, remove: removed, outbox })
    this.statusSent = true
  }

  private snapshot(
    view: DesiredView,
    byName: ReadonlyMap<string, DesiredWorkload>,
    observed: readonly ObservedContainer[],
    records: ReadonlyMap<string, WorkloadRecord>,
    lastLogs: ReadonlyMap<string, string[]>,
    reasons: ReadonlyMap<string, string>,
    readiness: ReadonlyMap<string, boolean>,
  ): NodeStatus {
    const workloads: WorkloadStatus[] = []
    const reverts = new Map(this.options.store.localReverts().map((r) => [r.workload, r]))
    for (const { workload } of byName.values()) {
      const record = records.get(workload.name)
      if (!record) continue
      const container = observed.find((c) => c.workload === workload.name)
      const logLines = lastLogs.get(workload.name)
      const reason = reasons.get(workload.name) ?? record.lastError
      workloads.push({
        name: record.name,
        deployment: record.deployment,
        revision: record.revision,
        state: record.state,
        health: record.health,
        ready: readiness.get(workload.name) ?? false,
        ...(container ? { containerId: container.id } : {}),
        restarts: record.restarts,
        ...(record.exitCode !== null ? { exitCode: record.exitCode } : {}),
        ...(reason ? { message: reason.slice(0, 2000) } : {}),
        ...(logLines ? { lastLogLines: logLines.map((line) => line.slice(0, 1000)) } : {}),
        since: record.since,
        ...revertStatus(reverts.get(workload.name), record.revision),
        ...versionsStatus(workload, container, byName.get(workload.name)?.configHash),
      })
    }
    return {
      nodeId: this.options.nodeId,
      observedGeneration: view.generation,
      workloads: foldStatuses(workloads, this.effective, reverts).map((status) => {
        const prefetch = this.options.prefetch?.status(status.name)
        return prefetch ? { ...status, prefetch } : status
      }),
      at: isoNow(this.options.clock),
      ...(this.options.sealingKey ? { sealingKey: this.options.sealingKey } : {}),
      ...(this.options.admission ? { devices: [...this.options.admission.devices()].slice(0, 256), policy: this.options.admission.policy } : {}),
    }
  }

  /**
   * A running container as the agent's own probes see it: their liveness replaces the engine's
   * health (the engine runs no check then), and the readiness check's status, with the reason a
   * failing one gives.
   */
  private probed(
    workload: ContainerWorkload,
    raw: ObservedContainer | undefined,
  ): { readonly container: ObservedContainer | undefined; readonly readiness: HealthState | null; readonly reason: string | null } {
    if (raw === undefined || raw.state !== 'running') return { container: raw, readiness: null, reason: null }
    const liveness = agentRunsLiveness(workload.template) ? (this.prober.status(raw.id, 'liveness') ?? FIRST_PROBE_STATE) : null
    const ready = workload.template.readiness ? (this.prober.status(raw.id, 'readiness') ?? FIRST_PROBE_STATE) : null
    const reason =
      liveness?.status === 'unhealthy'
        ? `health check failing: ${liveness.lastError ?? 'unknown'}`
        : ready !== null && ready.status !== 'healthy'
          ? `not ready: ${ready.lastError ?? 'readiness check starting'}`
          : null
    return { container: liveness ? { ...raw, health: liveness.status } : raw, readiness: ready?.status ?? null, reason }
  }

  private async lastLogLines(containerId: string, count = LOG_LINES_ON_CRASH): Promise<string[]> {
    const lines: string[] = []
    try {
      for await (const line of this.options.runtime.logs(containerId, { tail: count })) lines.push(`${line.stream}: ${line.text}`)
    } catch (error) {
      this.logger.debug({ err: error, containerId }, 'could not read last log lines')
    }
    return lines.slice(-count)
  }

  private async watchEvents(): Promise<void> {
    try {
      for await (const runtimeEvent of this.options.runtime.events(this.options.nodeId, this.events.signal)) this.onRuntimeEvent(runtimeEvent)
    } catch (error) {
      if (!this.stopped) this.logger.warn({ err: error }, 'engine event stream ended; the resync timer keeps reconciling')
    }
  }

  /** A container died on its own: count the crash (for crash-loop and backoff) and reconcile. */
  private onRuntimeEvent(runtimeEvent: RuntimeEvent): void {
    if (runtimeEvent.action === 'die' && runtimeEvent.workload && !this.stopping.has(runtimeEvent.containerId)) {
      const { store, clock } = this.options
      const record = store.workload(runtimeEvent.workload)
      // A null container id: created by the pass still running, not recorded yet; its exit counts too.
      if (record && (record.containerId === runtimeEvent.containerId || record.containerId === null)) {
        const exitCode = runtimeEvent.exitCode ?? record.exitCode
        const running =
          this.effective.get(runtimeEvent.workload) ??
          this.options
            .desired()
            .workloads.flatMap((w) => copyMembers(w, this.options.nodeId))
            .find((m) => m.workload.name === runtimeEvent.workload)
        const policy = running?.workload.template.restartPolicy
        if (policy !== undefined && !shouldRestart(policy, exitCode)) {
          // An exit its policy accepts (`never`, or `on-failure` with 0): no crash, and no restart follows.
          store.record({ upsert: [{ ...record, exitCode }] })
          this.logger.info({ workload: runtimeEvent.workload, exitCode, policy }, 'container exited; its restart policy keeps it down')
        } else {
          const now = this.steady()
          const crashes = [...recentCrashes(record.recentCrashes, now), now]
          const outbox: OutboxEntry[] = []
          if (record.state === 'crash-loop') {
            // Past the transition into crash-loop, each crash would otherwise go unreported.
            const counted = tallyRestart(this.backoffTallies.get(record.name) ?? NO_BACKOFF, now, this.options.backOffEventIntervalMs)
            this.backoffTallies.set(record.name, counted.tally)
            if (counted.emit !== null) {
              const message = `${record.name}: back-off restarting failed container (${counted.emit} restart${counted.emit === 1 ? '' : 's'} since the last report, exit code ${exitCode ?? 'unknown'})`
              const body = event(this.options.nodeId, clock, 'BackOff', 'warning', message, record.name, {
                count: counted.emit,
                exitCode: exitCode ?? null,
                restarts: record.restarts + 1,
              })
              outbox.push({ kind: 'event', body })
            }
          } else {
            this.backoffTallies.delete(record.name)
          }
          store.record({
            upsert: [{ ...record, recentCrashes: crashes, restarts: record.restarts + 1, exitCode, backoffUntil: restartBackoffUntil(crashes, now) }],
            outbox,
          })
          this.logger.info({ workload: runtimeEvent.workload, exitCode: runtimeEvent.exitCode, crashes: crashes.length }, 'container exited')
        }
      }
    }
    if (
      runtimeEvent.action === 'die' ||
      runtimeEvent.action === 'destroy' ||
      runtimeEvent.action === 'health_status' ||
      runtimeEvent.action === 'start' ||
      runtimeEvent.action === 'oom'
    ) {
      this.request(`engine:${runtimeEvent.action}`)
    }
  }

  private scheduleRetry(delayMs: number): void {
    if (this.retryTimer || this.stopped) return
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null
      this.request('retry')
    }, delayMs)
    this.retryTimer.unref()
  }

  private scheduleWake(steps: readonly Step[]): void {
    const waits = steps.filter((s): s is Extract<Step, { kind: 'wait' }> => s.kind === 'wait').map((s) => s.until)
    if (this.wakeTimer) clearTimeout(this.wakeTimer)
    this.wakeTimer = null
    if (waits.length === 0 || this.stopped) return
    const delay = Math.max(0, Math.min(...waits) - this.steady()) + 50
    this.wakeTimer = setTimeout(() => this.request('backoff-elapsed'), delay)
    this.wakeTimer.unref()
  }
}

/** The running containers of the desired config that have checks the agent runs. */
function probeTargets(byName: ReadonlyMap<string, DesiredWorkload>, observed: readonly ObservedContainer[]): ProbeTarget[] {
  const targets: ProbeTarget[] = []
  for (const container of observed) {
    const desired = byName.get(container.workload)
    if (!desired || container.state !== 'running' || container.configHash !== desired.configHash) continue
    const probes = probesFor(desired.workload.template, container.address ?? null)
    if (probes.length > 0) targets.push({ workload: container.workload, containerId: container.id, startedAt: container.startedAt, probes })
  }
  return targets
}

function baseRecord(desired: DesiredWorkload, record: WorkloadRecord | null, clock: Clock): WorkloadRecord {
  return (
    record ?? {
      name: desired.workload.name,
      deployment: desired.workload.deployment,
      revision: desired.workload.revision,
      configHash: desired.configHash,
      containerId: null,
      state: 'pending',
      health: 'none',
      restarts: 0,
      exitCode: null,
      lastError: null,
      recentCrashes: [],
      backoffUntil: 0,
      since: isoNow(clock),
    }
  )
}

function event(
  nodeId: string,
  clock: Clock,
  type: string,
  severity: NodeEvent['severity'],
  message: string,
  workload?: string,
  data?: NodeEvent['data'],
): NodeEvent {
  // A container of a several-container copy is reported under its copy, and names itself in data.
  const member = workload ? splitMemberName(workload) : null
  const subject = member ? member.copy : workload
  const detail = member ? { ...data, container: member.container } : data
  return {
    nodeId,
    type,
    severity,
    message: message.slice(0, 4000),
    at: isoNow(clock),
    ...(subject ? { workload: subject } : {}),
    ...(detail ? { data: detail } : {}),
  }
}

/** A copy still running its old container while the new image's pull waits says so in its message. */
function withDeferral(derived: DerivedState, container: ObservedContainer | undefined, deferred: string | undefined): DerivedState {
  if (deferred === undefined || container === undefined) return derived
  return { ...derived, message: derived.message ? `${deferred}; ${derived.message}` : deferred }
}

/**
 * The containers of each several-container copy as one status (foldCopy), in the place of its
 * first container; one-container copies as they are.
 */
function foldStatuses(
  statuses: readonly WorkloadStatus[],
  members: ReadonlyMap<string, CopyMember>,
  reverts: ReadonlyMap<string, RevertRecord>,
): WorkloadStatus[] {
  const groups = new Map<string, { member: CopyMember; status: WorkloadStatus }[]>()
  const out: (WorkloadStatus | string)[] = []
  for (const status of statuses) {
    const member = members.get(status.name)
    if (!member?.grouped) {
      out.push(status)
      continue
    }
    const group = groups.get(member.copy)
    if (group) group.push({ member, status })
    else {
      groups.set(member.copy, [{ member, status }])
      out.push(member.copy)
    }
  }
  return out.map((entry) => {
    if (typeof entry !== 'string') return entry
    const group = groups.get(entry) ?? []
    const copy = foldCopy(
      group.map(({ member, status }) => ({
        member,
        state: status.state,
        health: status.health,
        ready: status.ready ?? false,
        restarts: status.restarts,
        exitCode: status.exitCode ?? null,
        message: status.message ?? null,
      })),
    )
    const from = group.find((g) => g.member === copy.from)?.status ?? group[0]?.status
    const holder = group.find((g) => !g.member.init)?.status
    const merged = (pick: (s: WorkloadStatus) => Record<string, number> | undefined): Record<string, number> | undefined => {
      const all = Object.assign({}, ...group.map((g) => pick(g.status) ?? {}))
      return Object.keys(all).length > 0 ? all : undefined
    }
    const configVersions = merged((s) => s.configVersions)
    const secretVersions = merged((s) => s.secretVersions)
    const revision = from?.revision ?? 1
    return {
      name: entry,
      deployment: from?.deployment ?? entry,
      revision,
      state: copy.state,
      health: copy.health,
      ready: copy.ready,
      ...(holder?.containerId ? { containerId: holder.containerId } : {}),
      restarts: copy.restarts,
      ...(copy.exitCode !== null ? { exitCode: copy.exitCode } : {}),
      ...(copy.message ? { message: copy.message.slice(0, 2000) } : {}),
      ...(from?.lastLogLines ? { lastLogLines: from.lastLogLines } : {}),
      since: from?.since ?? new Date(0).toISOString(),
      ...revertStatus(reverts.get(entry), revision),
      ...(configVersions ? { configVersions } : {}),
      ...(secretVersions ? { secretVersions } : {}),
      containers: copy.containers,
    }
  })
}

/** The status's `revert`, once the record shows the copy on the revision it was reverted to. */
function revertStatus(revert: RevertRecord | undefined, revision: number): Pick<WorkloadStatus, 'revert'> {
  if (!revert || revert.toRevision !== revision) return {}
  return { revert: { fromRevision: revert.fromRevision, toRevision: revert.toRevision, reason: revert.reason, at: revert.at } }
}

/**
 * The Config and Secret versions the running container was given: the desired ones when it carries
 * the desired config (its values equal theirs), else those its labels recorded; nothing without a
 * container.
 */
export function versionsStatus(
  workload: Workload,
  container: ObservedContainer | undefined,
  desiredHash: string | undefined,
): Pick<WorkloadStatus, 'configVersions' | 'secretVersions'> {
  if (!container) return {}
  const current =
    container.configHash === desiredHash ? valueVersions(workload.values) : { configs: container.configVersions, secrets: container.secretVersions }
  return {
    ...(current.configs && Object.keys(current.configs).length > 0 ? { configVersions: { ...current.configs } } : {}),
    ...(current.secrets && Object.keys(current.secrets).length > 0 ? { secretVersions: { ...current.secrets } } : {}),
  }
}

function describeStep(step: Step): string {
  return 'containerId' in step && step.containerId ? `${step.kind} ${step.workload} (${step.containerId.slice(0, 12)})` : `${step.kind} ${step.workload}`
}

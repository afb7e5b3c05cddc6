import type { Logger } from 'pino'
import {
  DEFAULT_NODE_POLICY,
  desiredReplicas,
  prepareSigningKey,
  signDocument,
  type ConfigObjectKind,
  type Deployment,
  type PreparedSigningKey,
} from '../../protocol/index.js'
import { encodeDesired } from '../../protocol/desired-compression.js'
import { isoNow, type Clock } from '../../common/clock.js'
import type { ObjectBody } from '../config-objects/object-bodies.js'
import { isValuesProblem, SealCache, ValuesResolver } from '../config-objects/values-resolver.js'
import type { RevisionContent } from '../store/deployment-repository.js'
import type { ChangeFeed } from '../ingest/change-feed.js'
import { type CronPlacement, placeCronJobs } from '../cron-jobs/cron-placement.js'
import { nextDocument, workloadFor, workloadsByNode } from './desired-builder.js'
import { bandwidthFromLabels } from './node-bandwidth.js'
import { copyKey, planFleetRollouts, scheduledReplicas } from '../rollout/fleet-rollouts.js'
import type { RolloutPlan, RolloutRecord } from '../rollout/rollout-types.js'
import type { Metrics } from '../metrics.js'
import { PassCoalescer, type TimerHost } from './pass-coalescer.js'
import { isJobCopyDeployment } from '../jobs/copy-names.js'
import { JobPlanner } from '../jobs/job-planner.js'
import { schedule } from '../scheduler/schedule.js'
import type { DeploymentOutcome, Placement, ScheduleResult, SchedulerDeployment, SchedulerNode } from '../scheduler/types.js'
import type { DeploymentRecord, PlacementRecord } from '../store/deployment-repository.js'
import type { HubStore } from '../store/hub-store.js'
import type { NodeRecord } from '../store/node-repository.js'

export interface FleetControllerOptions {
  readonly store: HubStore
  readonly clock: Clock
  readonly logger: Logger
  readonly metrics: Metrics
  readonly feed: ChangeFeed
  readonly privateKeyPem: string
  readonly publishDesired: (nodeId: string, payload: Buffer) => Promise<void>
  /** Re-run at least this often, so offline grace periods expire on time. */
  readonly intervalMs?: number
  /** `requestSoon` runs at most one pass per this window (default 1 s). */
  readonly coalesceMs?: number
  /** Reports about a rollout's copies run a pass within this window (default 100 ms): waves wait on them. */
  readonly rolloutCoalesceMs?: number
  readonly timers?: TimerHost
  /** One version of a Config or Secret (a Secret's decrypted), for resolving what copies run with; none by default. */
  readonly objectBody?: (kind: ConfigObjectKind, name: string, version: number) => ObjectBody | null
  /** The first retry delay of a failed job copy (10 s unless set): a test knob. */
  readonly jobRetryBaseMs?: number
}

export function toSchedulerNode(node: NodeRecord): SchedulerNode {
  return {
    id: node.id,
    labels: node.labels,
    capabilities: node.capabilities,
    arch: node.arch,
    profile: node.profile,
    capacity: node.capacity,
    reserved: node.reserved,
    cordoned: node.cordoned,
    online: node.online,
    offlineSince: node.offlineSince ? Date.parse(node.offlineSince) : null,
    devices: node.devices ?? [],
    policy: node.policy ?? DEFAULT_NODE_POLICY,
  }
}

/** The scheduler's view of a deployment, with maxSurge extra replicas while its rollout runs. */
function withSurge(record: DeploymentRecord, rollout: RolloutRecord | null): SchedulerDeployment {
  const base = toSchedulerDeployment(record)
  const replicas = scheduledReplicas(record.manifest.spec, record.revision, rollout)
  return replicas === null || replicas === desiredReplicas(record.manifest.spec) ? base : { ...base, spec: { ...base.spec, replicas } }
}

export function toSchedulerDeployment(record: Pick<DeploymentRecord, 'name' | 'revision'> & { manifest: Deployment }): SchedulerDeployment {
  return { name: record.name, revision: record.revision, spec: record.manifest.spec }
}

/**
 * The hub's level-triggered control loop: deployments × nodes → placements → one signed
 * document per node. Passes never overlap; a request during a pass causes one more. The
 * store commits placements and documents (generations only grow) before anything is
 * published. Publishing runs behind the pass (an apply answers once its documents are
 * stored, not once a thousand are sent), one publisher at a time, so an older document can
 * never be sent after a newer one; a publish that fails is retried on the next pass.
 */
export class FleetController {
  private readonly logger: Logger
  private running: Promise<void> | null = null
  private again = false
  private timer: NodeJS.Timeout | null = null
  private readonly unpublished = new Set<string>()
  private publishing: Promise<void> | null = null
  private publishAgain = false
  private last: ScheduleResult | null = null
  private stopped = false
  private readonly soon: PassCoalescer
  private readonly rolloutSoon: PassCoalescer
  /** Deployments whose rollout is progressing as of the last pass: their reports trigger passes. */
  private active = new Set<string>()
  private plans = new Map<string, RolloutPlan>()
  private wakeTimer: NodeJS.Timeout | null = null
  private readonly signingKey: PreparedSigningKey
  private readonly seals = new SealCache()
  /** Copies left out for want of their values, as last logged: said once, not every pass. */
  private unresolvable = new Set<string>()
  /** Which nodes run which cron jobs, as of the last pass. */
  private cron: CronPlacement | null = null
  private readonly jobs: JobPlanner

  constructor(private readonly options: FleetControllerOptions) {
    this.logger = options.logger.child({ component: 'fleet' })
    this.jobs = new JobPlanner({
      store: options.store,
      logger: options.logger,
      ...(options.jobRetryBaseMs !== undefined ? { retryBaseMs: options.jobRetryBaseMs } : {}),
    })
    this.signingKey = prepareSigningKey(options.privateKeyPem)
    this.soon = new PassCoalescer(options.coalesceMs ?? 1_000, (reason) => void this.request(reason), options.timers)
    this.rolloutSoon = new PassCoalescer(options.rolloutCoalesceMs ?? 100, (reason) => void this.request(reason), options.timers)
    options.metrics.describe('shoal_rollout_events_total', 'rollout steps, pauses, failures and rollbacks, by event type')
    options.metrics.describe('shoal_rollouts_progressing', 'deployments whose rollout is progressing')
    options.metrics.gauge('shoal_rollouts_progressing', () => new Map([['', this.active.size]]))
    options.metrics.describe('shoal_schedule_seconds', 'time to schedule and sign documents for the fleet')
    options.metrics.describe('shoal_publish_seconds', 'time to publish one desired document')
  }

  /** Publishes every stored document (the embedded broker forgets retained messages on restart), then runs. */
  async start(): Promise<void> {
    for (const stored of this.options.store.desired.list()) this.unpublished.add(stored.nodeId)
    this.timer = setInterval(() => void this.request('timer'), this.options.intervalMs ?? 5_000)
    this.timer.unref()
    await this.request('start')
  }

  async stop(): Promise<void> {
    this.stopped = true
    this.soon.close()
    this.rolloutSoon.close()
    if (this.timer) clearInterval(this.timer)
    if (this.wakeTimer) clearTimeout(this.wakeTimer)
    await this.running
    await this.publishing
  }

  /** Resolves once every document stored so far has been handed to the transport (or failed). */
  async published(): Promise<void> {
    while (this.publishing !== null) await this.publishing
  }

  /** Resolves once a pass that started after this call has finished. */
  async request(reason: string): Promise<void> {
    if (this.stopped) return
    if (this.running !== null) {
      this.again = true
      while (this.running !== null) await this.running
      return
    }
    this.running = this.loop(reason).finally(() => {
      this.running = null
    })
    await this.running
  }

  /**
   * A pass within the coalescing window, shared with every other such request in it: for
   * triggers that come in bursts (presence changes, enrollments) and need no answer.
   */
  requestSoon(reason: string): void {
    if (!this.stopped) this.soon.request(reason)
  }

  /**
   * The node's document again, as it reads it now: its heartbeats stopped saying it reads gzip (an
   * older agent took its place), and the retained copy may be one it cannot read.
   */
  republish(nodeId: string): void {
    if (this.stopped || !this.options.store.desired.get(nodeId)) return
    this.unpublished.add(nodeId)
    this.schedulePublish()
  }

  /** Agents reported on these deployments' copies: a rollout in progress may take its next step. */
  reported(deployments: Iterable<string>): void {
    if (this.stopped) return
    for (const name of deployments) {
      // A job's copy may have exited: its outcome is recorded, and the next copy started, at once.
      if (this.active.has(name) || isJobCopyDeployment(name)) {
        this.rolloutSoon.request('rollout report')
        return
      }
    }
  }

  /** The rollout step of the last pass for a deployment: every copy's revision and gate. */
  rolloutPlan(name: string): RolloutPlan | null {
    return this.plans.get(name) ?? null
  }

  /** The latest scheduling outcome for a deployment: counts and why anything is pending. */
  outcome(name: string): DeploymentOutcome | null {
    return this.last?.perDeployment.get(name) ?? null
  }

  /** The nodes that run a cron job, as of the last pass (null: no pass since it was applied). */
  cronNodes(name: string): readonly string[] | null {
    return this.cron?.nodesOf.get(name) ?? null
  }

  /**
   * Cron jobs (hub/cron-jobs/): each goes in the document of every node whose labels and facts
   * match its placement; said once when a node holds more than its document may carry.
   */
  private placeCronJobs(nodes: readonly SchedulerNode[]): CronPlacement {
    const placement = placeCronJobs(
      this.options.store.cronJobs.list().map((job) => job.manifest),
      nodes,
    )
    const before = new Set(this.cron?.leftOut.map((l) => `${l.nodeId}/${l.cronJob}`) ?? [])
    for (const left of placement.leftOut)
      if (!before.has(`${left.nodeId}/${left.cronJob}`))
        this.logger.warn(left, "cron job left out of the node's document: it matches more cron jobs than one document carries")
    return placement
  }

  /** What the scheduler would do with these manifests applied, without storing anything. */
  preview(manifests: readonly Deployment[]): ScheduleResult {
    const { store } = this.options
    const proposed = new Map(store.deployments.list().map((d) => [d.name, toSchedulerDeployment(d)]))
    for (const manifest of manifests) {
      const current = proposed.get(manifest.metadata.name)
      proposed.set(manifest.metadata.name, { name: manifest.metadata.name, revision: (current?.revision ?? 0) + 1, spec: manifest.spec })
    }
    return schedule([...proposed.values()], store.nodes.list().map(toSchedulerNode), this.currentPlacements(), this.options.clock.now())
  }

  private currentPlacements(stored: readonly PlacementRecord[] = this.options.store.deployments.placements()): Placement[] {
    return stored.map((p) => ({ deployment: p.deployment, nodeId: p.nodeId, workload: p.workload, replica: p.replica }))
  }

  /** A pass when a rollout's next moment comes (minReadySeconds, a pause, a deadline), if before the timer's. */
  private armWake(wakeAt: number | null): void {
    if (this.wakeTimer) clearTimeout(this.wakeTimer)
    this.wakeTimer = null
    if (wakeAt === null || this.stopped) return
    const delay = Math.max(0, wakeAt - this.options.clock.now())
    if (delay >= (this.options.intervalMs ?? 5_000)) return
    this.wakeTimer = setTimeout(() => void this.request('rollout timer'), delay)
    this.wakeTimer.unref()
  }

  private async loop(reason: string): Promise<void> {
    let why = reason
    do {
      this.again = false
      try {
        await this.pass(why)
      } catch (error) {
        this.logger.error({ err: error, reason: why }, 'fleet pass failed; retrying on the next trigger')
      }
      why = 'queued'
    } while (this.again && !this.stopped)
  }

  private async pass(reason: string): Promise<void> {
    const { store, clock, metrics, feed } = this.options
    const started = performance.now()
    const now = clock.now()
    const deployments = store.deployments.list()
    const nodes = store.nodes.list()
    const stored = store.deployments.placements()
    const records = store.rollouts.list()
    const schedulerNodes = nodes.map(toSchedulerNode)
    const result = schedule(
      deployments.map((d) => withSurge(d, records.get(d.name) ?? null)),
      schedulerNodes,
      this.currentPlacements(stored),
      now,
    )
    const rollouts = planFleetRollouts({
      deployments: deployments.map((d) => ({
        name: d.name,
        revision: d.revision,
        strategy: d.manifest.spec.strategy,
        replicas: d.manifest.spec.mode === 'every-node' ? null : desiredReplicas(d.manifest.spec),
      })),
      scheduled: result.placements,
      assigned: new Map(stored.map((p) => [copyKey(p.nodeId, p.workload), p])),
      nodes: new Map(nodes.map((n) => [n.id, n])),
      statuses: new Map(store.status.workloads().map((w) => [copyKey(w.nodeId, w.name), w])),
      records,
      now,
    })
    const cron = this.placeCronJobs(schedulerNodes)
    const issuedAt = isoNow(clock)
    const byName = new Map(deployments.map((d) => [d.name, d]))
    const changedRecords = new Set(
      [...rollouts.plans].filter(([name, plan]) => JSON.stringify(records.get(name)) !== JSON.stringify(plan.record)).map(([name]) => name),
    )
    const revisionsInUse = new Map<string, Set<number>>()
    for (const p of rollouts.placements) revisionsInUse.set(p.deployment, (revisionsInUse.get(p.deployment) ?? new Set<number>()).add(p.revision))
    const eventIds: { id: number; nodeId?: string | null; eventType: string; message: string }[] = []
    let jobWake: number | null = null
    const changedNodes = store.transaction(() => {
      const placementChange = store.deployments.replacePlacements(rollouts.placements, issuedAt)
      for (const [name, plan] of rollouts.plans) {
        if (changedRecords.has(name)) store.rollouts.save(plan.record, issuedAt)
        for (const event of plan.events) {
          const id = store.status.appendEvent(
            {
              nodeId: null,
              workload: name,
              type: event.type,
              severity: event.severity,
              message: event.message,
              at: issuedAt,
              data: { deployment: name, ...event.data },
            },
            issuedAt,
          )
          eventIds.push({ id, eventType: event.type, message: event.message })
          metrics.inc('shoal_rollout_events_total', { type: event.type })
        }
        const deployment = byName.get(name)
        if (deployment) {
          const inUse = new Set([deployment.revision, ...(revisionsInUse.get(name) ?? [])])
          if (plan.record.stableRevision !== null) inUse.add(plan.record.stableRevision)
          store.deployments.pruneRevisions(name, deployment.manifest.spec.revisionHistoryLimit, inUse)
        }
      }
      for (const name of records.keys()) if (!byName.has(name)) store.rollouts.delete(name)
      // Revisions' templates and pins, read once per pass: every copy in a rollout carries its fallback's.
      const contents = new Map<string, RevisionContent | null>()
      const contentOf = (deployment: string, revision: number): RevisionContent | null => {
        const key = `${deployment}@${revision}`
        if (!contents.has(key)) contents.set(key, store.deployments.revisionContent(deployment, revision))
        return contents.get(key) ?? null
      }
      const resolver = new ValuesResolver(this.options.objectBody ?? (() => null), this.seals)
      const nodesById = new Map(nodes.map((n) => [n.id, n]))
      const unresolvable = new Set<string>()
      const byNode = workloadsByNode(rollouts.placements, (p) => {
        const deployment = byName.get(p.deployment)
        if (!deployment) return null
        return workloadFor(p, deployment, rollouts.plans.get(p.deployment)?.record ?? null, contentOf, (nodeId, pins) => {
          const node = nodesById.get(nodeId)
          const values = resolver.valuesFor({ id: nodeId, labels: node?.labels ?? {}, sealingKey: node?.sealingKey ?? null }, pins)
          if (!isValuesProblem(values)) return values
          const said = `${nodeId}/${p.workload}: ${values.problem}`
          unresolvable.add(said)
          if (!this.unresolvable.has(said))
            this.logger.warn({ nodeId, workload: p.workload, problem: values.problem }, 'copy left out: its Configs or Secrets cannot be given to the node')
          return null
        })
      })
      this.unresolvable = unresolvable
      this.seals.endPass()
      // Jobs (hub/jobs): their running copies join the deployments' workloads in each node's document.
      const jobCopies = this.jobs.plan({ nodes: nodes.map(toSchedulerNode), placements: rollouts.placements, deployments: byName, now, issuedAt })
      for (const [nodeId, copies] of jobCopies.workloads)
        byNode.set(
          nodeId,
          [...(byNode.get(nodeId) ?? []), ...copies].sort((a, b) => a.name.localeCompare(b.name)),
        )
      for (const event of jobCopies.events) eventIds.push(event)
      jobWake = jobCopies.wakeAt
      // One query for every node's current generation and hash, not one per node.
      const heads = store.desired.heads()
      const changed: string[] = []
      for (const node of nodes) {
        const current = heads.get(node.id) ?? null
        const bandwidth = bandwidthFromLabels(node.labels).bandwidth
        const next = nextDocument(node.id, byNode.get(node.id) ?? [], current, issuedAt, bandwidth, cron.byNode.get(node.id) ?? [])
        if (!next) continue
        store.desired.save(signDocument(next.document, this.signingKey), next.contentHash)
        changed.push(node.id)
      }
      if (placementChange.added + placementChange.removed > 0) this.logger.info({ reason, ...placementChange }, 'placements changed')
      return changed
    })
    this.last = result
    this.cron = cron
    this.plans = new Map(rollouts.plans)
    this.active = new Set([...rollouts.plans].filter(([, plan]) => plan.record.phase === 'progressing').map(([name]) => name))
    this.armWake(rollouts.wakeAt === null || jobWake === null ? (rollouts.wakeAt ?? jobWake) : Math.min(rollouts.wakeAt, jobWake))
    metrics.observe('shoal_schedule_seconds', (performance.now() - started) / 1000)
    for (const nodeId of changedNodes) this.unpublished.add(nodeId)
    this.schedulePublish()
    for (const event of eventIds)
      feed.publish({ type: 'event', id: event.id, nodeId: event.nodeId ?? null, eventType: event.eventType, message: event.message })
    if (changedNodes.length > 0) {
      for (const nodeId of changedNodes) feed.publish({ type: 'node', nodeId, reason: 'desired' })
      for (const name of result.perDeployment.keys()) feed.publish({ type: 'deployment', name, reason: 'scheduled' })
    } else {
      for (const name of changedRecords) feed.publish({ type: 'deployment', name, reason: 'rollout' })
    }
  }

  private schedulePublish(): void {
    if (this.publishing !== null) {
      this.publishAgain = true
      return
    }
    this.publishing = (async () => {
      try {
        do {
          this.publishAgain = false
          await this.publishPending()
        } while (this.publishAgain && !this.stopped)
      } finally {
        // In the same turn as the last check of publishAgain: a later request starts anew
        // instead of setting a flag that nothing would read.
        this.publishing = null
      }
    })()
  }

  private async publishPending(): Promise<void> {
    const { store, metrics } = this.options
    for (const nodeId of [...this.unpublished]) {
      // Taken off before the document is read: a pass that stores a newer one while this
      // publish is in flight puts the node back, and the newer one goes next.
      if (!this.unpublished.delete(nodeId)) continue
      const stored = store.desired.get(nodeId)
      if (!stored) continue
      const started = performance.now()
      try {
        // Gzipped for a node whose latest heartbeat says it reads gzip, when the document is large
        // enough to gain (protocol/desired-compression.ts); plain JSON for every other node.
        await this.options.publishDesired(nodeId, encodeDesired(stored.document, store.nodes.desiredEncodings(nodeId)))
        metrics.inc('shoal_messages_out_total', { channel: 'desired' })
        metrics.observe('shoal_publish_seconds', (performance.now() - started) / 1000)
      } catch (error) {
        this.unpublished.add(nodeId)
        this.logger.warn({ err: error, nodeId, generation: stored.generation }, 'publishing a desired document failed; will retry')
      }
    }
  }
}

// Wiring for startAgent: each function constructs and connects a group of parts and holds no
// decisions of its own (those live in the units it names, each tested alone).
import { join } from 'node:path'
import type { Logger } from 'pino'
import { memoryBytes, type Inventory } from '../protocol/index.js'
import { isoNow, type Clock } from '../common/clock.js'
import { loadProfiles } from '../firmware-profiles/catalog.js'
import { matchProfile } from '../firmware-profiles/matcher.js'
import type { FirmwareProfile } from '../firmware-profiles/schema.js'
import { ZoneClocks } from '../protocol/cron/time-zone.js'
import { imageCollectedEvent } from './agent-events.js'
import { CronLoop } from './jobs/cron-loop.js'
import { CronRunner } from './jobs/cron-runner.js'
import type { SourcedCronJob } from './jobs/cron-source.js'
import { CronStore } from './jobs/cron-store.js'
import { runMembers } from './jobs/run-outcome.js'
import type { NodeBandwidthView } from './bandwidth/node-bandwidth.js'
import type { AgentConfig } from './config.js'
import { wantedImages } from './desired-view.js'
import { takeDesired } from './hub-link/link-handlers.js'
import { ImageCollector } from './image-collector.js'
import { DesiredIntake } from './intake/desired-intake.js'
import { DesiredRetry } from './intake/desired-retry.js'
import { collectInventory, platformFactSource } from './inventory.js'
import type { IntervalTimers } from './interval-timers.js'
import { processStartTicks, removeAgentProcess, writeAgentProcess } from './memory/agent-process-file.js'
import { memoryPlan } from './memory/memory-plan.js'
import { MemoryWatch } from './memory/memory-watch.js'
import type { OutboxLimits } from './outbox/outbox-policy.js'
import type { NodeAdmission } from './reconcile/admission.js'
import type { Workload } from '../protocol/index.js'
import { Prefetcher } from './prefetch/prefetcher.js'
import { Reconciler, type DesiredView } from './reconcile/reconciler.js'
import { DockerEngineClient, dockerEndpoint } from './runtime/docker-engine-client.js'
import { SessionServer } from './sessions/session-server.js'
import { sessionSettings } from './sessions/session-settings.js'
import type { StepLimits } from './reconcile/step-concurrency.js'
import type { ContainerLogLimits } from './runtime/runtime.js'
import type { ContainerRuntime } from './runtime/runtime.js'
import type { AgentStore } from './store/agent-store.js'
import { NodeValues } from './values/node-values.js'
import type { NodeSealingKey } from './values/sealing-key.js'
import { CONFIG_FILES_DIR, ValueFiles, defaultSecretsDir } from './values/value-files.js'

/** This machine's inventory and the firmware profile it matches (or the one `--profile` names). */
export async function chooseProfile(
  config: Pick<AgentConfig, 'profile' | 'profilesDir' | 'dockerSocket'>,
  logger: Logger,
): Promise<{ inventory: Inventory; profile: FirmwareProfile }> {
  const inventory = await collectInventory({
    source: await platformFactSource(dockerEndpoint(config.dockerSocket ?? undefined)),
    onProbeFailed: (probe, reason) => logger.debug({ probe, reason }, 'inventory probe failed'),
  })
  const choice = matchProfile(inventory, await loadProfiles(config.profilesDir ?? undefined), config.profile ?? undefined)
  logger.info({ profile: choice.profile.name, reasons: choice.reasons }, 'firmware profile chosen')
  return { inventory, profile: choice.profile }
}

/** How many reconcile steps, and pulls among them, the profile lets run at once. */
export function stepLimits(profile: FirmwareProfile): StepLimits {
  return { steps: profile.agent.concurrentSteps, pulls: profile.agent.concurrentPulls }
}

export function outboxLimits(profile: FirmwareProfile): OutboxLimits {
  return { maxRecords: profile.agent.outbox.maxRecords, maxBytes: memoryBytes(profile.agent.outbox.maxBytes) }
}

export interface ReconcilingOptions {
  readonly config: Pick<AgentConfig, 'containerLabels' | 'resyncIntervalMs' | 'dataDir' | 'secretsDir'>
  readonly nodeId: string
  readonly sealing: NodeSealingKey
  readonly runtime: ContainerRuntime
  readonly store: AgentStore
  readonly clock: Clock
  readonly logger: Logger
  readonly view: () => DesiredView
  readonly hubReachable: () => boolean
  readonly admission: NodeAdmission
  readonly logDefaults: ContainerLogLimits
  readonly bandwidth?: NodeBandwidthView
  /** From the firmware profile (stepLimits below); absent: the reconciler's default. */
  readonly stepLimits?: StepLimits
  /** From the firmware profile's backOffEventInterval; absent: the reconciler's default. */
  readonly backOffEventIntervalMs?: number
  /** After each reconcile pass (the cron runs look at their containers' states). */
  readonly afterPass?: () => void
}

/** The reconcile loop, started, and the intake that feeds it documents (retried when the store fails). */
export function startReconciling({
  config,
  nodeId,
  sealing,
  runtime,
  store,
  clock,
  logger,
  view,
  hubReachable,
  admission,
  logDefaults,
  bandwidth,
  stepLimits,
  backOffEventIntervalMs,
  afterPass,
}: ReconcilingOptions): {
  reconciler: Reconciler
  prefetch: Prefetcher
  intake: DesiredIntake
  desiredRetry: DesiredRetry
} {
  const { containerLabels: extraLabels, resyncIntervalMs } = config
  const files = new ValueFiles({ configRoot: join(config.dataDir, CONFIG_FILES_DIR), secretsRoot: config.secretsDir ?? defaultSecretsDir(nodeId) })
  const values = new NodeValues({ nodeId, privateKey: sealing.privateKey, files })
  const sealingKey = sealing.publicKey
  // The reconciler reports the pull-ahead in its statuses, and the prefetcher asks it for a pass when that changes.
  let reconcilerRef: Reconciler | null = null
  const prefetch = new Prefetcher({
    nodeId,
    runtime,
    values,
    ...(bandwidth ? { bandwidth } : {}),
    clock,
    logger,
    changed: () => reconcilerRef?.request('prefetch'),
  })
  const reconciler = new Reconciler({
    nodeId,
    runtime,
    store,
    clock,
    logger,
    desired: view,
    hubReachable,
    extraLabels,
    resyncIntervalMs,
    values,
    sealingKey,
    admission,
    logDefaults,
    ...(bandwidth ? { bandwidth } : {}),
    ...(stepLimits ? { stepLimits } : {}),
    ...(backOffEventIntervalMs !== undefined ? { backOffEventIntervalMs } : {}),
    ...(afterPass ? { afterPass } : {}),
    prefetch,
  })
  reconcilerRef = reconciler
  reconciler.start()
  const hubPublicKey = (): string | null => store.identity()?.hubPublicKey ?? null
  const intake = new DesiredIntake({ nodeId, store, clock, logger, hubPublicKey, sealingKey: () => sealing.privateKey })
  const desiredRetry = new DesiredRetry({ retryMs: 5_000, logger: logger.child({ component: 'intake' }), take: takeDesired(intake, reconciler) })
  return { reconciler, prefetch, intake, desiredRetry }
}

export interface ImageCollectionOptions {
  readonly nodeId: string
  readonly runtime: ContainerRuntime
  readonly profile: FirmwareProfile
  readonly store: AgentStore
  readonly clock: Clock
  readonly logger: Logger
  readonly view: () => DesiredView
}

/** Image garbage collection, started: it keeps what wantedImages names and reports each removal as an event. */
export function startImageCollection({ nodeId, runtime, profile, store, clock, logger, view }: ImageCollectionOptions): ImageCollector {
  const images = new ImageCollector({
    runtime,
    thresholds: profile.agent.imageGc,
    wantedImages: () => wantedImages(view().workloads, store.localReverts()),
    removed: (image, bytes) => store.enqueue([{ kind: 'event', body: imageCollectedEvent(nodeId, clock, image, bytes) }]),
    logger,
  })
  images.start()
  return images
}

export interface MemoryOptions {
  readonly nodeId: string
  readonly dataDir: string
  readonly profile: FirmwareProfile
  readonly db: { pragma(source: string): unknown }
  readonly store: AgentStore
  readonly timers: IntervalTimers
  readonly clock: Clock
  readonly logger: Logger
}

/**
 * The profile's memory budget applied (memory-plan.ts decides): SQLite's cache sized to it, a
 * watch that reports crossing it, and the record that lets `shoal agent status` read this
 * process's memory. Returns what removes that record at stop.
 */
export function applyMemoryBudget({ nodeId, dataDir, profile, db, store, timers, clock, logger }: MemoryOptions): { remove(): void } {
  const budgetBytes = profile.agent.memoryBudget === undefined ? null : memoryBytes(profile.agent.memoryBudget)
  const plan = memoryPlan(budgetBytes, process.execArgv, process.env.NODE_OPTIONS)
  db.pragma(`cache_size = -${plan.sqliteCacheKiB}`)
  if (plan.missingNodeFlags.length > 0)
    logger.info({ missing: plan.missingNodeFlags, budgetBytes }, 'node runs without the V8 flags that keep the agent small; see docs/agent.md, "Memory"')
  writeAgentProcess(dataDir, {
    pid: process.pid,
    startTicks: processStartTicks('self') ?? 0,
    profile: profile.name,
    memoryBudgetBytes: budgetBytes,
    nodeFlags: process.execArgv,
    startedAt: isoNow(clock),
  })
  if (budgetBytes !== null) {
    const watch = new MemoryWatch({ nodeId, budgetBytes, profile: profile.name, rss: () => process.memoryUsage.rss(), clock, logger, store })
    watch.check()
    timers.every(MEMORY_CHECK_INTERVAL_MS, () => watch.check())
  }
  return { remove: () => removeAgentProcess(dataDir, process.pid) }
}

const MEMORY_CHECK_INTERVAL_MS = 60_000

export interface CronJobsOptions {
  readonly nodeId: string
  readonly db: ConstructorParameters<typeof CronStore>[0]
  readonly store: AgentStore
  readonly clock: Clock
  readonly logger: Logger
  readonly jobs: () => readonly SourcedCronJob[]
  /** Asks the reconciler for a pass: the run workloads changed. */
  readonly changed: () => void
}

/**
 * The static directory's and the hub's cron jobs (agent/jobs/): the runner over its tables in the agent's
 * database, and the loop that makes it look. The runs' containers are followed through the
 * reconciler's records; the node's zone (for `timeZone: local`) is the runtime's.
 */
export function cronJobs({ nodeId, db, store, clock, logger, jobs, changed }: CronJobsOptions): { runner: CronRunner; loop: CronLoop } {
  // Asked only by a `timeZone: local` job: reading it maps ICU's zone data into the agent.
  let runtimeZone: string | undefined
  const runner = new CronRunner({
    nodeId,
    jobs,
    store: new CronStore(db, store),
    clock,
    logger,
    zones: new ZoneClocks(),
    nodeZone: () => (runtimeZone ??= Intl.DateTimeFormat().resolvedOptions().timeZone),
    members: (workload) => runMembers(store.workloads(), workload),
    changed,
  })
  return { runner, loop: new CronLoop(runner, clock, logger.child({ component: 'cron' })) }
}

export interface SessionServerWiring {
  readonly nodeId: string
  readonly config: Pick<AgentConfig, 'dockerSocket'>
  readonly runtime: ContainerRuntime
  readonly store: AgentStore
  readonly profile: FirmwareProfile
  readonly logger: Logger
  readonly desired: () => readonly Workload[]
  readonly publish: (payload: Buffer) => Promise<void>
}

/** Remote sessions (agent/sessions/): the engine's own client for exec and archives, the pinned hub key, the profile's limits. */
export function startSessionServer({ nodeId, config, runtime, store, profile, logger, desired, publish }: SessionServerWiring): SessionServer {
  const settings = sessionSettings(profile)
  return new SessionServer({
    nodeId,
    engine: new DockerEngineClient({ endpoint: dockerEndpoint(config.dockerSocket ?? undefined) }),
    containers: () => runtime.list(nodeId),
    desired,
    hubPublicKey: () => store.identity()?.hubPublicKey ?? null,
    settings: () => settings,
    publish,
    logger,
  })
}
